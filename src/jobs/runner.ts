import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { dialectOf } from '../db/dialect-of.js';
import type { Committer, Trx } from '../db/committer.js';
import { appendOutbox, lockJob, runnableJobIds, toJob, updateJob } from '../db/queries/jobs.js';
import type { DB, JobRow } from '../db/schema.js';
import type { BulkPlan, RevertPlan } from '../domain/jobs.js';
import type { CustomerFilter } from '../domain/types.js';
import { materializeSelection } from '../db/queries/selection.js';
import { type ChunkResult, runBulkChunk } from './bulk-chunk.js';
import { runRevertChunk } from './revert-chunk.js';

export interface RunnerOptions {
  /** Customers per chunk transaction. */
  chunkSize?: number;
  /** Per-store throughput cap in customers per second; 0 = unlimited. */
  ratePerStore?: number;
  /** How long to sleep when there is nothing to do (a wake() cuts it short). */
  idleMs?: number;
  /** Chunk failures in a row before a job is marked failed. */
  maxAttempts?: number;
}

type ChunkOutcome = 'progress' | 'finished' | 'busy';

const BUSY_RETRY_MS = 20;
const RETRY_DELAY_MS = 250;

/**
 * PostgreSQL plans a chunk's keyset scan from table statistics; right after a large import or
 * seed there are none yet, and a chunk becomes a full scan and sort. A job starts with fresh ones.
 */
async function refreshPlannerStatistics(trx: Trx): Promise<void> {
  if (dialectOf(trx) === 'postgres') await sql`ANALYZE customers`.execute(trx);
}

/**
 * The durable job loop. Each chunk is one transaction that locks the job row, reads the cursor,
 * applies the chunk set-based, and advances cursor and counters: a crash loses at most the
 * uncommitted chunk, and a restart resumes from the cursor. Several runners (threads, processes,
 * machines) can share one job: the job-row lock makes them take turns, chunk by chunk.
 */
export class JobRunner {
  readonly id = `worker-${randomUUID().slice(0, 8)}`;
  #stopped = false;
  #wake: (() => void) | null = null;
  #loop: Promise<void> | null = null;
  readonly #opts: Required<RunnerOptions>;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly committer: Committer,
    opts: RunnerOptions = {},
    private readonly log: (msg: string, extra?: Record<string, unknown>) => void = () => undefined,
  ) {
    const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined && !Number.isNaN(v)));
    this.#opts = { chunkSize: 10_000, ratePerStore: 0, idleMs: 500, maxAttempts: 3, ...given };
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Look for work now (a job was just queued). */
  wake(): void {
    this.#wake?.();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.wake();
    await this.#loop;
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      let worked = false;
      let waiting = false;
      try {
        for (const id of await runnableJobIds(this.db)) {
          if (this.#stopped) break;
          const outcome = await this.runJob(id);
          worked ||= outcome === 'worked';
          waiting ||= outcome === 'busy';
        }
      } catch (err) {
        this.log('job loop error', { err: String(err) });
      }
      // Another runner holds a job's chunk: come back for the next one soon.
      if (!worked && !this.#stopped) await this.#idle(waiting ? BUSY_RETRY_MS : this.#opts.idleMs);
    }
  }

  #idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.#wake = null;
        resolve();
      }
      this.#wake = done;
    });
  }

  /**
   * Works on one job until it is finished, stopped, or its next chunk is held by another runner.
   * Says whether it did any work, or found the job busy.
   */
  async runJob(id: number): Promise<'worked' | 'busy' | 'idle'> {
    let worked = false;
    const started = Date.now();
    let done = 0;
    while (!this.#stopped) {
      let outcome: ChunkOutcome;
      try {
        outcome = await this.committer.run((trx) => this.#chunk(trx, id, (n) => (done += n)));
      } catch (err) {
        await this.committer.run((trx) => this.#recordFailure(trx, id, err));
        await new Promise((r) => setTimeout(r, RETRY_DELAY_MS));
        continue;
      }
      if (outcome === 'busy') return worked ? 'worked' : 'busy';
      worked = true;
      if (outcome === 'finished') return 'worked';
      await this.#throttle(started, done);
    }
    return worked ? 'worked' : 'idle';
  }

  async #throttle(started: number, done: number): Promise<void> {
    const rate = this.#opts.ratePerStore;
    if (rate <= 0) return;
    const ahead = (done / rate) * 1000 - (Date.now() - started);
    if (ahead > 0) await new Promise((r) => setTimeout(r, ahead));
  }

  async #chunk(trx: Trx, id: number, count: (n: number) => void): Promise<ChunkOutcome> {
    const job = await lockJob(trx, id);
    if (!job) return 'busy';
    if (job.status !== 'queued' && job.status !== 'running') return 'finished';
    const now = Date.now();
    if (job.cancel_requested === 1) {
      await this.#finish(trx, job, 'cancelled', now);
      return 'finished';
    }
    const params = JSON.parse(job.params);
    if (job.status === 'queued') {
      await refreshPlannerStatistics(trx);
      if (job.kind === 'bulk_adjustment' && 'filter' in (params as BulkPlan).selection) {
        const plan = params as BulkPlan & { selection: { filter: CustomerFilter } };
        job.total = await materializeSelection(trx, job.id, job.store_id, plan.selection.filter, job.snapshot_max_id);
      }
    }
    const size = this.#opts.chunkSize;
    const r: ChunkResult = job.kind === 'revert'
      ? await runRevertChunk(trx, job, params as RevertPlan, size)
      : await runBulkChunk(trx, job, params as BulkPlan, size);
    count(r.processed);
    const next: JobRow = {
      ...job,
      status: 'running',
      cursor: r.cursor,
      processed: job.processed + r.processed,
      succeeded: job.succeeded + r.succeeded,
      skipped: job.skipped + r.skipped,
      total_points: job.total_points + r.points,
      started_at: job.started_at ?? now,
      worker: this.id,
      heartbeat_at: now,
      attempts: 0,
    };
    if (r.last) {
      await this.#finish(trx, next, 'completed', now);
      return 'finished';
    }
    await updateJob(trx, id, {
      status: next.status,
      total: next.total,
      cursor: next.cursor,
      processed: next.processed,
      succeeded: next.succeeded,
      skipped: next.skipped,
      total_points: next.total_points,
      started_at: next.started_at,
      worker: next.worker,
      heartbeat_at: now,
      attempts: 0,
    });
    return 'progress';
  }

  /** Ends a job; job.completed / job.failed go to the outbox in this same transaction. */
  async #finish(trx: Trx, job: JobRow, status: 'completed' | 'cancelled' | 'failed', now: number): Promise<void> {
    const final: JobRow = { ...job, status, finished_at: now, started_at: job.started_at ?? now };
    await updateJob(trx, job.id, {
      status,
      total: final.total,
      cursor: final.cursor,
      processed: final.processed,
      succeeded: final.succeeded,
      skipped: final.skipped,
      total_points: final.total_points,
      started_at: final.started_at,
      finished_at: now,
      worker: this.id,
      heartbeat_at: now,
      error: final.error,
      attempts: final.attempts,
    });
    if (status !== 'cancelled') await appendOutbox(trx, job.store_id, `job.${status}`, toJob(final));
    this.log(`job ${status}`, { jobId: job.id, processed: final.processed });
  }

  async #recordFailure(trx: Trx, id: number, err: unknown): Promise<void> {
    const job = await lockJob(trx, id);
    if (!job) return;
    const attempts = job.attempts + 1;
    const message = err instanceof Error ? err.message : String(err);
    this.log('job chunk failed', { jobId: id, attempts, err: message });
    if (attempts >= this.#opts.maxAttempts) {
      await this.#finish(trx, { ...job, attempts, error: message }, 'failed', Date.now());
    } else {
      await updateJob(trx, id, { attempts, error: message });
    }
  }
}
