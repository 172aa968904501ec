import type { Trx } from '../../db/committer.js';
import { JobParamsError } from '../../domain/errors.js';
import type { JobKind } from '../../domain/jobs.js';
import { bulkAdjustmentKind } from './bulk-adjustment.js';
import { importKind } from './import.js';
import { expiryKind } from './expiry.js';
import { revertKind } from './revert.js';
import { tierEvaluationKind } from './tier-evaluation.js';
import type { JobKindSpec } from './types.js';

/**
 * The registry of job kinds. The runner and the job services look a kind up here; adding a kind
 * (import, expiry, webhook batches) is adding an entry, never a branch in the runner.
 */
const KINDS: Partial<Record<JobKind, JobKindSpec<unknown>>> = {
  bulk_adjustment: bulkAdjustmentKind as JobKindSpec<unknown>,
  revert: revertKind as JobKindSpec<unknown>,
  import: importKind as JobKindSpec<unknown>,
  tier_evaluation: tierEvaluationKind as JobKindSpec<unknown>,
  expiry: expiryKind as JobKindSpec<unknown>,
};

/** It can throw: JobParamsError (a kind this release does not know). */
export function jobKind(kind: string): JobKindSpec<unknown> {
  const spec = KINDS[kind as JobKind];
  if (!spec) throw new JobParamsError(kind, 'this release does not know this kind of job');
  return spec;
}

/** Queues every kind's due scheduled jobs (the runners call it about once a minute). */
export async function scheduleDueJobs(trx: Trx, now = Date.now()): Promise<number> {
  let queued = 0;
  for (const spec of Object.values(KINDS)) if (spec?.schedule) queued += await spec.schedule(trx, now);
  return queued;
}

/** One sweep step (JobKindSpec.sweep) of the first kind that has something left, in the caller's transaction: rows removed (0: nothing left). */
export async function sweepFinishedJobs(trx: Trx, size: number): Promise<number> {
  for (const spec of Object.values(KINDS)) {
    const removed = spec?.sweep ? await spec.sweep(trx, size) : 0;
    if (removed > 0) return removed;
  }
  return 0;
}

/** A kind's parameters as stored: the current version's shape, tagged with its number. */
export function encodeParams<P>(spec: JobKindSpec<P>, params: P): string {
  return JSON.stringify({ v: spec.version, ...params });
}

export type { ChunkResult, JobKindSpec } from './types.js';
