import { JobParamsError } from '../../domain/errors.js';
import type { JobKind } from '../../domain/jobs.js';
import { bulkAdjustmentKind } from './bulk-adjustment.js';
import { importKind } from './import.js';
import { revertKind } from './revert.js';
import type { JobKindSpec } from './types.js';

/**
 * The registry of job kinds. The runner and the job services look a kind up here; adding a kind
 * (import, expiry, webhook batches) is adding an entry, never a branch in the runner.
 */
const KINDS: Partial<Record<JobKind, JobKindSpec<unknown>>> = {
  bulk_adjustment: bulkAdjustmentKind as JobKindSpec<unknown>,
  revert: revertKind as JobKindSpec<unknown>,
  import: importKind as JobKindSpec<unknown>,
};

/** It can throw: JobParamsError (a kind this release does not know). */
export function jobKind(kind: string): JobKindSpec<unknown> {
  const spec = KINDS[kind as JobKind];
  if (!spec) throw new JobParamsError(kind, 'this release does not know this kind of job');
  return spec;
}

/** A kind's parameters as stored: the current version's shape, tagged with its number. */
export function encodeParams<P>(spec: JobKindSpec<P>, params: P): string {
  return JSON.stringify({ v: spec.version, ...params });
}

export type { ChunkResult, JobKindSpec } from './types.js';
