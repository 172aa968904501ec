import type { Kysely } from 'kysely';
import type { Trx } from '../../db/committer.js';
import type { DB, JobRow } from '../../db/schema.js';
import type { JobKind } from '../../domain/jobs.js';

/** What one chunk transaction did; the runner adds it to the job's counters in the same transaction. */
export interface ChunkResult {
  /** The keyset position after this chunk (the kind decides what it counts: customer ids, ledger ids…). */
  cursor: number;
  /** The kind's own progress to keep for the next chunk (a phase and a position), or null. */
  state: unknown;
  processed: number;
  succeeded: number;
  skipped: number;
  /** Items found not to exist (listed ids that are no customers), added to `failed`. */
  failed: number;
  /** Items found to be in the job, added to `total` as the selection is fixed. */
  total: number;
  points: number;
  last: boolean;
}

export const NO_PROGRESS = { processed: 0, succeeded: 0, skipped: 0, failed: 0, total: 0, points: 0 } as const;

/** A job's parameters as stored, with the version of their shape. */
export interface StoredParams {
  v: number;
}

/**
 * One kind of durable job: everything the runner and the services need to know of it, in one
 * place (forward and undo together). The runner and the job services dispatch through the
 * registry (index.ts) and name no kind.
 */
export interface JobKindSpec<P> {
  kind: JobKind;
  /** The version of the parameters this release writes. */
  version: number;
  /**
   * Reads stored parameters of any version this release understands (older ones included), so a
   * job queued by an older release is read correctly. It can throw: JobParamsError.
   */
  decode(stored: Record<string, unknown>): P;
  /**
   * Runs one chunk: at most `size` items, in the caller's transaction (the chunk's, with the job
   * row locked), set-based. `state` is what the previous chunk returned (null at first).
   */
  chunk(trx: Trx, job: JobRow, params: P, state: unknown, size: number): Promise<ChunkResult>;
  /**
   * How many items a job about to start holds, when that takes a read of its own (counting a
   * million customers): the runner asks it before the first chunk, outside any transaction, so
   * the count never holds the write lock. The first chunk's result adds it to `total`.
   */
  count?(db: Reader, job: JobRow, params: P): Promise<number>;
  /** Whether a finished job of this kind can be undone by a revert job (its rows carry its job id). */
  revertible: boolean;
  /** The parameters as the API shows them (never a large list). */
  present(params: P): Record<string, unknown>;
  /**
   * Queues the jobs of this kind that are due (a kind run on a schedule, like expiry), in the
   * caller's transaction; every runner calls it about once a minute. Returns how many it queued.
   */
  schedule?(trx: Trx, now: number): Promise<number>;
  /**
   * Removes, in the caller's transaction, up to `size` of the working rows this kind's finished
   * jobs left behind (an import's staged rows), once the job is shown finished: housekeeping,
   * never part of the job. Returns how many it removed (0: none are left).
   */
  sweep?(trx: Trx, size: number): Promise<number>;
}

/** A read handle, for previews. */
export type Reader = Kysely<DB>;
