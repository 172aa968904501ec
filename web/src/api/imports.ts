import { ApiFailure, csrfHeaders, type ApiError, type Job } from './client';
import type { paths } from './schema';

// POST /v1/imports takes the file as a multipart upload, which openapi-fetch does not build: this
// is the one call made with fetch directly. Its types still come from the OpenAPI document.
type ImportOperation = paths['/v1/imports']['post'];
type ImportQuery = ImportOperation['parameters']['query'];

export type ImportType = ImportQuery['type'];
export type ImportMode = NonNullable<ImportQuery['mode']>;
export type ImportPreview = ImportOperation['responses'][200]['content']['application/json']['preview'];
export type ImportRowError = ImportPreview['errors'][number];

export interface ImportRequest {
  file: File;
  type: ImportType;
  reason: string;
  mode: ImportMode;
  idempotencyKey?: string;
}

async function postImport(req: ImportRequest, dryRun: boolean): Promise<unknown> {
  const form = new FormData();
  form.append('file', req.file, req.file.name);
  const query = new URLSearchParams({ type: req.type, reason: req.reason, mode: req.mode, dryRun: String(dryRun) });
  const headers: Record<string, string> = { ...csrfHeaders(), ...(req.idempotencyKey && !dryRun ? { 'Idempotency-Key': req.idempotencyKey } : {}) };
  const res = await fetch(`/v1/imports?${query.toString()}`, { method: 'POST', body: form, headers, credentials: 'same-origin' });
  const body = (res.headers.get('content-type') ?? '').includes('application/json') ? await res.json() : undefined;
  if (!res.ok) throw new ApiFailure(res.status, body as ApiError | undefined);
  return body;
}

/** `POST /v1/imports?dryRun=true`: validates every row, writes nothing (200 {preview}). */
export async function previewImport(req: ImportRequest): Promise<ImportPreview> {
  return ((await postImport(req, true)) as { preview: ImportPreview }).preview;
}

/** `POST /v1/imports`: stores the import as a job (202 {job}); its progress is the job view. */
export async function startImport(req: ImportRequest): Promise<Job> {
  return ((await postImport(req, false)) as { job: Job }).job;
}
