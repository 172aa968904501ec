import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { Committer, Trx } from '../db/committer.js';
import { dialectOf } from '../db/dialect-of.js';
import { isTransientDatabaseError } from '../db/errors.js';
import { lockJob, runnableJobs, toJob, updateJob } from '../db/queries/jobs.js';
import { appendOutbox } from '../db/queries/outbox.js';
import type { DB, JobRow } from '../db/schema.js';
import { type ChunkResult, jobKind, scheduleDueJobs, sweepFinishedJobs } from '../ledger/job-kinds/index.js';

export interface RunnerOptions {
  /** Most items per chunk transaction. */
  chunkSize?: number;
  /**
   * Aimed-at length of one chunk transaction, in ms: chunks shrink when slower, grow back to
   * chunkSize when faster, so the write lock (SQLite) or the rows' locks (PostgreSQL) are never
   * held long whatever the store's size or the machine's speed.
   */
  chunkMs?: number;
  /** Per-store throughput cap in items per second; 0 = unlimited. A store over it skips its turn. */
  ratePerStore?: number;
  /** How long to sleep when there is nothing to do (a wake() cuts it short). */
  idleMs?: number;
  /** Chunk failures in a row (other than transient database errors) before a job is marked failed. */
  maxAttempts?: number;
  /** How often this runner queues the kinds' scheduled jobs (expiry), in ms; 0 = never. */
  scheduleMs?: number;
  /**
   * Aimed-at chunk length while other writers are waiting for the chunks (SQLite: requests waiting
   * for the one write lock, as `afterChunk` reports): shorter chunks, so no request waits long.
   */
  contendedChunkMs?: number;
  /**
   * Called after each committed chunk (the SQLite thread uses it to let waiting writers in); true
   * when a writer was waiting for that chunk, which makes the next chunks aim at contendedChunkMs.
   */
  afterChunk?: () => boolean;
}

type Outcome = 'progress' | 'finished' | 'busy';

const MIN_CHUNK = 100;
const FIRST_CHUNK = 1_000;
const RETRY_DELAY_MS = 250;
/** How long chunks stay short after a writer last waited for one. */
const CONTENDED_FOR_MS = 2_000;
const MAX_RETRY_DELAY_MS = 10_000;
/**
 * Rows per sweep step of what finished jobs left behind: at most, and at first. A step is sized
 * like a chunk, to last about chunkMs (contendedChunkMs while writers wait for it): a fixed 20,000
 * rows held SQLite's write lock for longer than a chunk, and an upload staged beside the sweep
 * waited for each step (issue 13).
 */
const SWEEP_ROWS = 20_000;
const SWEEP_FIRST_ROWS = 2_000;
/** The sweep's key among the chunk sizes (job ids are positive). */
const SWEEP = -1;

/**
 * PostgreSQL plans a chunk's keyset scan from table statistics; right after a large import or
 * seed there are none yet, and a chunk becomes a full scan and sort. A job starts with fresh ones.
 */
async function refreshPlannerStatistics(trx: Trx): Promise<void> {
  if (dialectOf(trx) === 'postgres') await sql`ANALYZE customers`.execute(trx);
}

/**
 * The durable job loop. Runnable jobs of different stores take turns, one chunk each (a small job
 * of one store never waits behind a big job of another); a store's own jobs run in order. Each
 * chunk is one transaction that locks the job row, runs the kind's chunk (src/ledger/job-kinds)
 * and advances cursor, state and counters: a crash loses at most the uncommitted chunk, and a
 * restart resumes from the cursor. Several runners (threads, processes, machines) can share one
 * job: the job-row lock (PostgreSQL: FOR UPDATE SKIP LOCKED) makes them take turns.
 */
export class JobRunner {
  readonly id = `worker-${randomUUID().slice(0, 8)}`;
  #stopped = false;
  #wake: (() => void) | null = null;
  /** A wake() since the last idle wait began: the next wait is skipped (the round may have missed it). */
  #woken = false;
  #loop: Promise<void> | null = null;
  readonly #opts: Required<Omit<RunnerOptions, 'afterChunk'>> & Pick<RunnerOptions, 'afterChunk'>;
  /** Current chunk size per job (adapted to chunkMs). */
  readonly #sizes = new Map<number, number>();
  /** Whether finished jobs may have left rows behind for the sweep (see #sweep); at start, what a crash left. */
  #sweepWanted = true;
  /** Moving average of ms per item, per job and phase (a selection step costs less than an apply step). */
  readonly #perItem = new Map<string, number>();
  /** When each store may have its next turn (rate cap), and when a failing job may be retried. */
  readonly #notBefore = new Map<string, number>();
  readonly #failures = new Map<number, number>();
  /** Jobs this runner has seen running: their items are counted, no need to read the row again. */
  readonly #started = new Set<number>();
  #turn = 0;
  /** Until when chunks aim at contendedChunkMs (a writer waited for one shortly before). */
  #contendedUntil = 0;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly committer: Committer,
    opts: RunnerOptions = {},
    private readonly log: (msg: string, extra?: Record<string, unknown>) => void = () => undefined,
  ) {
    const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined && !Number.isNaN(v)));
    // SQLite: a chunk holds the database's only write lock, so it is kept short; PostgreSQL locks
    // just the chunk's customers, and longer chunks spend less on their fixed costs.
    // While the serving thread's writes wait for it, a SQLite chunk aims at a third of that.
    const chunkMs = dialectOf(db) === 'postgres' ? 1000 : 40;
    const contendedChunkMs = dialectOf(db) === 'postgres' ? chunkMs : 15;
    this.#opts = { chunkSize: 10_000, chunkMs, contendedChunkMs, ratePerStore: 0, idleMs: 500, maxAttempts: 3, scheduleMs: 60_000, ...given };
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /**
   * Look for work now (a job was just queued or cancelled): its chunks, and the sweep (a queued
   * job cancelled at once finishes without a chunk here).
   */
  wake(): void {
    this.#sweepWanted = true;
    this.#woken = true;
    this.#wake?.();
  }

  /** Stops after the chunk in progress (if any) has committed. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.wake();
    await this.#loop;
  }

  async #run(): Promise<void> {
    let scheduled = 0;
    while (!this.#stopped) {
      let wait = this.#opts.idleMs;
      try {
        if (this.#opts.scheduleMs > 0 && Date.now() - scheduled >= this.#opts.scheduleMs) {
          scheduled = Date.now();
          // What another process's finished jobs (or one that died) left behind, too.
          this.#sweepWanted = true;
          const queued = await this.committer.run((trx) => scheduleDueJobs(trx));
          if (queued > 0) this.log('scheduled jobs queued', { queued });
        }
        wait = await this.runRound();
      } catch (err) {
        this.log('job loop error', { err: String(err) });
        wait = RETRY_DELAY_MS;
      }
      if (wait > 0 && !this.#stopped) await this.#idle(wait);
    }
  }

  /**
   * One round: the oldest runnable job of each store gets one chunk, stores in rotating order;
   * a store over its rate, or a job waiting to retry, sits the round out. Returns how long to wait
   * before the next round (0: go on at once).
   */
  async runRound(): Promise<number> {
    const jobs = await runnableJobs(this.db);
    const byStore = new Map<number, number>();
    for (const j of jobs) if (!byStore.has(j.store_id)) byStore.set(j.store_id, j.id);
    const stores = [...byStore.keys()];
    if (stores.length === 0) return (await this.#sweep()) ? 0 : this.#opts.idleMs;
    this.#turn = (this.#turn + 1) % stores.length;
    let worked = false;
    let soonest = Number.POSITIVE_INFINITY;
    for (let i = 0; i < stores.length && !this.#stopped; i++) {
      const storeId = stores[(this.#turn + i) % stores.length];
      const jobId = byStore.get(storeId) as number;
      const ready = Math.max(this.#notBefore.get(`store:${storeId}`) ?? 0, this.#notBefore.get(`job:${jobId}`) ?? 0);
      if (ready > Date.now()) {
        soonest = Math.min(soonest, ready);
        continue;
      }
      const outcome = await this.runChunk(jobId, storeId);
      if (outcome !== 'busy') worked = true;
    }
    // Housekeeping takes a turn after the stores' jobs, one step a round.
    if ((await this.#sweep()) || worked) return 0;
    // Another runner holds every job's chunk, or every store is waiting for its rate.
    return Number.isFinite(soonest) ? Math.max(1, soonest - Date.now()) : 20;
  }

  /**
   * One step of removing what finished jobs left behind (JobKindSpec.sweep: an import's staged
   * rows), in a transaction of its own, while there may be some (since a job finished here, at
   * start, and at every schedule tick). True if it removed any. Its failure is logged and retried
   * at the next round: housekeeping never fails a job.
   */
  async #sweep(): Promise<boolean> {
    if (!this.#sweepWanted || this.#stopped) return false;
    // Cleared before the step, not after it: a job that ends while the step runs (a cancel and its
    // wake(), after the step's snapshot) asks again, and is not lost when the step finds nothing.
    this.#sweepWanted = false;
    try {
      const size = this.#sizes.get(SWEEP) ?? SWEEP_FIRST_ROWS;
      let started = 0;
      const removed = await this.committer.run((trx) => {
        started = performance.now();
        return sweepFinishedJobs(trx, size);
      });
      const ms = performance.now() - started;
      if (this.#opts.afterChunk?.()) this.#contendedUntil = Date.now() + CONTENDED_FOR_MS;
      if (removed > 0) {
        this.#sweepWanted = true;
        this.#adapt(SWEEP, 'sweep', removed, ms, SWEEP_ROWS);
      }
      return removed > 0;
    } catch (err) {
      this.#sweepWanted = true;
      this.log('sweep failed (will retry)', { err: String(err) });
      return false;
    }
  }

  /** Runs one chunk of a job (in its own transaction), recording a failure if it throws. */
  async runChunk(id: number, storeId: number): Promise<Outcome> {
    // A job starts small: its first chunk measures how many items fit in chunkMs.
    const size = this.#sizes.get(id) ?? Math.min(this.#opts.chunkSize, FIRST_CHUNK);
    // Timed from the moment the transaction holds its locks to its commit: waiting for the lock
    // is not the chunk's cost, and counting it would shrink the chunks of a busy database.
    let started = 0;
    let outcome: Outcome;
    let items = 0;
    let phase = '';
    try {
      const counted = this.#started.has(id) ? 0 : await this.#countIfStarting(id);
      outcome = await this.committer.run((trx) => {
        started = performance.now();
        return this.#chunk(trx, id, size, counted, (n, p) => {
          items = n;
          phase = p;
        });
      });
    } catch (err) {
      await this.#failed(id, err);
      return 'progress';
    }
    this.#failures.delete(id);
    if (outcome !== 'busy') this.#started.add(id);
    if (this.#opts.afterChunk?.()) this.#contendedUntil = Date.now() + CONTENDED_FOR_MS;
    if (outcome === 'finished') {
      this.#sweepWanted = true;
      this.#started.delete(id);
      this.#sizes.delete(id);
      for (const key of this.#perItem.keys()) if (key.startsWith(`${id}:`)) this.#perItem.delete(key);
      return outcome;
    }
    if (outcome === 'progress') {
      this.#adapt(id, phase, size, performance.now() - started);
      if (this.#opts.ratePerStore > 0) {
        const key = `store:${storeId}`;
        const from = Math.max(this.#notBefore.get(key) ?? 0, Date.now());
        this.#notBefore.set(key, from + (items / this.#opts.ratePerStore) * 1000);
      }
    }
    return outcome;
  }

  /**
   * Works on one job until it is finished or its chunk is held by another runner (tests, tools),
   * then removes what it left behind (a CLI import's staged rows).
   */
  async runJob(id: number): Promise<void> {
    const job = await this.db.selectFrom('jobs').select('store_id').where('id', '=', id).executeTakeFirstOrThrow();
    while (!this.#stopped) {
      const outcome = await this.runChunk(id, job.store_id);
      if (outcome !== 'progress') break;
      const retry = this.#notBefore.get(`job:${id}`);
      if (retry && retry > Date.now()) await new Promise((r) => setTimeout(r, retry - Date.now()));
    }
    while (await this.#sweep());
  }

  /**
   * Sizes the job's next chunk to last about chunkMs (contendedChunkMs while writers wait for the
   * chunks), from a moving average of the time per item
   * (a single slow chunk — a checkpoint, a busy core — does not halve the next one).
   */
  #adapt(id: number, phase: string, size: number, ms: number, max = this.#opts.chunkSize): void {
    const perItem = ms / Math.max(size, 1);
    const key = `${id}:${phase}`;
    const average = this.#perItem.get(key);
    const smoothed = average === undefined ? perItem : average * 0.7 + perItem * 0.3;
    this.#perItem.set(key, smoothed);
    const target = Date.now() < this.#contendedUntil ? this.#opts.contendedChunkMs : this.#opts.chunkMs;
    const next = Math.round(target / Math.max(smoothed, 1e-6));
    this.#sizes.set(id, Math.min(max, Math.max(Math.min(MIN_CHUNK, max), next)));
  }

  /** Sleeps up to ms, cut short by wake(); not at all if wake() came during the round just run. */
  #idle(ms: number): Promise<void> {
    if (this.#woken) {
      this.#woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.#wake = null;
        self.#woken = false;
        resolve();
      }
      this.#wake = done;
    });
  }

  /** The kind's count of a queued job's items, read outside the chunk's transaction (see JobKindSpec.count). */
  async #countIfStarting(id: number): Promise<number> {
    const job = await this.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
    if (!job || job.status !== 'queued' || job.cancel_requested === 1) return 0;
    const kind = jobKind(job.kind);
    return kind.count ? kind.count(this.db, job, kind.decode(JSON.parse(job.params) as Record<string, unknown>)) : 0;
  }

  async #chunk(trx: Trx, id: number, size: number, counted: number, count: (items: number, phase: string) => void): Promise<Outcome> {
    const job = await lockJob(trx, id);
    if (!job) return 'busy';
    if (job.status !== 'queued' && job.status !== 'running') return 'finished';
    const now = Date.now();
    if (job.cancel_requested === 1) {
      await this.#finish(trx, job, 'cancelled', now);
      return 'finished';
    }
    const kind = jobKind(job.kind);
    const params = kind.decode(JSON.parse(job.params) as Record<string, unknown>);
    if (job.status === 'queued') await refreshPlannerStatistics(trx);
    const state: unknown = job.state === null ? null : JSON.parse(job.state);
    const r: ChunkResult = await kind.chunk(trx, job, params, state, size);
    count(r.processed, String((state as { phase?: unknown } | null)?.phase ?? ''));
    const next: JobRow = {
      ...job,
      status: 'running',
      cursor: r.cursor,
      state: JSON.stringify(r.state ?? null),
      total: job.total + r.total + (job.status === 'queued' ? counted : 0),
      processed: job.processed + r.processed,
      succeeded: job.succeeded + r.succeeded,
      skipped: job.skipped + r.skipped,
      failed: job.failed + r.failed,
      total_points: job.total_points + r.points,
      started_at: job.started_at ?? now,
      worker: this.id,
      heartbeat_at: now,
      attempts: 0,
      error: null,
    };
    if (r.last) {
      await this.#finish(trx, next, 'completed', now);
      return 'finished';
    }
    await updateJob(trx, id, progressColumns(next));
    return 'progress';
  }

  /** Ends a job; job.completed / job.failed go to the outbox in this same transaction. */
  async #finish(trx: Trx, job: JobRow, status: 'completed' | 'cancelled' | 'failed', now: number): Promise<void> {
    const final: JobRow = { ...job, status, finished_at: now, started_at: job.started_at ?? now, worker: this.id, heartbeat_at: now };
    await updateJob(trx, job.id, { ...progressColumns(final), finished_at: now });
    if (status !== 'cancelled') await appendOutbox(trx, job.store_id, `job.${status}`, toJob(final));
    this.log(`job ${status}`, { jobId: job.id, processed: final.processed });
  }

  /**
   * A chunk failed and rolled back. A transient database error (connection lost, deadlock, busy)
   * is retried with growing delays and never counted; any other error counts as an attempt, and
   * after maxAttempts in a row the job fails with the error recorded.
   */
  async #failed(id: number, err: unknown): Promise<void> {
    const n = (this.#failures.get(id) ?? 0) + 1;
    this.#failures.set(id, n);
    this.#notBefore.set(`job:${id}`, Date.now() + Math.min(MAX_RETRY_DELAY_MS, RETRY_DELAY_MS * 2 ** Math.min(n - 1, 6)));
    const message = err instanceof Error ? err.message : String(err);
    if (isTransientDatabaseError(err)) {
      this.log('job chunk failed (transient; will retry)', { jobId: id, err: message });
      return;
    }
    try {
      await this.committer.run(async (trx) => {
        const job = await lockJob(trx, id);
        if (!job) return;
        const attempts = job.attempts + 1;
        this.log('job chunk failed', { jobId: id, attempts, err: message });
        if (attempts >= this.#opts.maxAttempts) await this.#finish(trx, { ...job, attempts, error: message }, 'failed', Date.now());
        else await updateJob(trx, id, { attempts, error: message });
      });
    } catch (again) {
      this.log('job failure could not be recorded (will retry)', { jobId: id, err: String(again) });
    }
  }
}

function progressColumns(j: JobRow) {
  return {
    status: j.status,
    total: j.total,
    cursor: j.cursor,
    state: j.state,
    processed: j.processed,
    succeeded: j.succeeded,
    skipped: j.skipped,
    failed: j.failed,
    total_points: j.total_points,
    started_at: j.started_at,
    worker: j.worker,
    heartbeat_at: j.heartbeat_at,
    attempts: j.attempts,
    error: j.error,
  };
}
