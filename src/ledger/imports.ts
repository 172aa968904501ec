import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Committer, Trx } from '../db/committer.js';
import { isUniqueViolation } from '../db/errors.js';
import { insertJob, toJob, UPLOADING } from '../db/queries/jobs.js';
import type { DB } from '../db/schema.js';
import { ImportFileError, UploadTooLargeError } from '../domain/errors.js';
import { type ImportPlan, type ImportPreview, type ImportRequest, planImport } from '../domain/import/request.js';
import type { Job } from '../domain/jobs.js';
import type { Actor } from '../domain/types.js';
import { checkIdempotencyKey, insertStored, peekStored, type StoredResponse } from './idempotency.js';
import { stagedPreview } from './import-preview.js';
import { stageUpload } from './import-stage.js';
import { orderRows, type StagedJob, validationSteps } from './import-validate.js';
import { encodeParams } from './job-kinds/index.js';
import { importKind } from './job-kinds/import.js';

/** An upload: the file's bytes as they arrive, the size cap, and the request's Idempotency-Key. */
export interface Upload {
  source: AsyncIterable<Uint8Array | string>;
  maxBytes: number;
  idempotencyKey?: string;
}

export type ImportOutcome = { preview: ImportPreview } | { job: Job; replayed: boolean };

/** Uploads whose request died with its process (a crash mid-upload) are discarded after a day. */
const STALE_UPLOAD_MS = 24 * 3600_000;

/**
 * Receives an import: streams the upload into the staging table (never the file in memory),
 * then either previews it (dryRun: validated, counted, discarded — nothing applied) or makes its
 * job runnable; a worker validates and applies it. The job exists from the first byte, but as
 * `uploading` (neither runnable nor shown) until the upload is complete: an upload that breaks
 * off, is too large or is not a readable CSV is discarded with its staged rows, nothing applied.
 * With an Idempotency-Key, the same upload (same options, same bytes) answers the first job
 * again and stages nothing; another upload with the key is refused.
 *
 * @example const outcome = await receiveImport(db, committer, storeId, actor, { type: 'add', reason: 'Migration' }, { source: createReadStream(file), maxBytes: 500e6 });
 * Needs: the committer (staging runs many short transactions). It can throw: ValidationError,
 * ImportFileError, UploadTooLargeError, IdempotencyKeyReusedError, and what the source throws.
 */
export async function receiveImport(
  db: Kysely<DB>,
  committer: Committer,
  storeId: number,
  actor: Actor,
  request: ImportRequest,
  upload: Upload,
): Promise<ImportOutcome> {
  const plan = planImport(request);
  const key = upload.idempotencyKey === undefined ? undefined : checkIdempotencyKey(upload.idempotencyKey);
  const hashPrefix = `POST /v1/imports type=${plan.type} mode=${plan.mode} dryRun=${request.dryRun === true} reason=${JSON.stringify(plan.reason)}`;
  await discardStaleUploads(db, committer, storeId);
  if (key !== undefined && (await keyUsed(db, storeId, key))) {
    const hash = await hashOnly(upload, hashPrefix);
    const stored = await committer.run((trx) => peekStored(trx, { storeId, key, hash }));
    if (stored) return replay(stored);
  }
  const jobId = await committer.run((trx) => createUploadingJob(trx, storeId, actor, plan));
  try {
    const staged = await stageUpload(committer, { id: jobId, storeId }, upload.source, plan.type, { maxBytes: upload.maxBytes, hashPrefix });
    if (staged.rows === 0) throw new ImportFileError('The file has a header row but no records');
    const full: ImportPlan = { ...plan, columns: staged.columns };
    if (request.dryRun) {
      const job: StagedJob = { jobId, storeId, plan: full };
      for (const step of [...validationSteps(full), orderRows]) await committer.run((trx) => step(trx, job));
      return { preview: await stagedPreview(db, job) };
    }
    const outcome = await committer
      .run((trx) => makeRunnable(trx, jobId, full, staged.rows, key === undefined ? undefined : { storeId, key, hash: staged.hash }))
      .catch(async (err: unknown) => {
        // Another request with the same key and upload finished first: its job is the answer.
        if (key === undefined || !isUniqueViolation(err)) throw err;
        const stored = await committer.run((trx) => peekStored(trx, { storeId, key, hash: staged.hash }));
        if (!stored) throw err;
        return stored;
      });
    if ('job' in outcome) return { job: outcome.job, replayed: false };
    await discard(committer, jobId);
    return replay(outcome);
  } catch (err) {
    await discard(committer, jobId);
    throw err;
  } finally {
    if (request.dryRun) await discard(committer, jobId);
  }
}

function replay(stored: StoredResponse): ImportOutcome {
  const body = stored.body as { job: Job };
  return { job: body.job, replayed: true };
}

async function keyUsed(db: Kysely<DB>, storeId: number, key: string): Promise<boolean> {
  const row = await db.selectFrom('idempotency_keys').select('key').where('store_id', '=', storeId).where('key', '=', key).executeTakeFirst();
  return row !== undefined;
}

/** The upload's hash, read to its end without staging anything (a repeated upload). */
async function hashOnly(upload: Upload, hashPrefix: string): Promise<string> {
  const hash = createHash('sha256').update(hashPrefix).update('\n');
  let bytes = 0;
  for await (const chunk of upload.source) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    bytes += buf.length;
    if (bytes > upload.maxBytes) throw new UploadTooLargeError(upload.maxBytes);
    hash.update(buf);
  }
  return hash.digest('hex');
}

async function createUploadingJob(trx: Trx, storeId: number, actor: Actor, plan: Omit<ImportPlan, 'columns'>): Promise<number> {
  const job = await insertJob(trx, {
    store_id: storeId,
    kind: importKind.kind,
    status: UPLOADING,
    params: encodeParams(importKind, { ...plan, columns: {} }),
    actor_type: actor.type,
    actor_id: actor.id,
    actor_name: actor.name,
    state: null,
    created_at: Date.now(),
  });
  return job.id;
}

/**
 * The upload is complete: the job becomes runnable with its row count (and, with a key, its
 * response is stored in the same transaction, so a retry finds this job or nothing).
 */
async function makeRunnable(
  trx: Trx,
  jobId: number,
  plan: ImportPlan,
  rows: number,
  idempotency: { storeId: number; key: string; hash: string } | undefined,
): Promise<{ job: Job } | StoredResponse> {
  if (idempotency) {
    const stored = await peekStored(trx, idempotency);
    if (stored) return stored;
  }
  const row = await trx
    .updateTable('jobs')
    .set({ status: 'queued', total: rows, params: encodeParams(importKind, plan) })
    .where('id', '=', jobId)
    .where('status', '=', UPLOADING)
    .returningAll()
    .executeTakeFirstOrThrow();
  const job = toJob(row);
  if (idempotency) await insertStored(trx, { ...idempotency, status: 202 }, { job });
  return { job };
}

/** Removes an upload's job with its staged rows and errors (it applied nothing). */
async function discard(committer: Committer, jobId: number): Promise<void> {
  await committer.run(async (trx) => {
    const job = await trx.selectFrom('jobs').select('status').where('id', '=', jobId).executeTakeFirst();
    if (job?.status !== UPLOADING) return;
    await trx.deleteFrom('import_rows').where('job_id', '=', jobId).execute();
    await trx.deleteFrom('job_errors').where('job_id', '=', jobId).execute();
    await trx.deleteFrom('jobs').where('id', '=', jobId).execute();
  });
}

async function discardStaleUploads(db: Kysely<DB>, committer: Committer, storeId: number): Promise<void> {
  const stale = await db
    .selectFrom('jobs')
    .select('id')
    .where('store_id', '=', storeId)
    .where('status', '=', UPLOADING)
    .where('created_at', '<', Date.now() - STALE_UPLOAD_MS)
    .execute();
  for (const { id } of stale) await discard(committer, id);
  // A finished import's staged rows (completed, failed or cancelled) go by the job runners' sweep.
}
