import { ApiFailure, csrfHeaders, type ApiError, type Job } from './client';

// A typed wrapper of fetch for POST /v1/imports alone: the route is built on another branch and
// is not in schema.d.ts yet. Once it is merged, regenerate the types (npm run api:types) and call
// it through `api.POST('/v1/imports', …)` like every other route, then delete this file.

export type ImportType = 'add' | 'set' | 'history';
export type ImportMode = 'partial' | 'atomic';

export interface ImportRowError {
  line: number;
  column: string | null;
  code: string;
  message: string;
}

export interface ImportPreview {
  rows: number;
  valid: number;
  invalid: number;
  totalPoints: number;
  tierUps: number;
  tierDowns: number;
  /** The first 100 row errors. */
  errors: ImportRowError[];
}

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
