import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { type Committer, createCommitter } from '../db/committer.js';
import type { Database } from '../db/database.js';
import type { DB } from '../db/schema.js';
import { claimDeliveries, type DeliveryRow, dueEndpoints, eventBody, recordAttempt, signedHeaders } from './deliver.js';
import { startDispatcherThread } from './dispatcher-threads.js';
import { fanOut } from './fan-out.js';
import { type Mailer, type SmtpSettings, smtpMailer } from './mailer.js';
import { prune, sendDueMail } from './mail-queue.js';
import { postWebhook, WEBHOOK_TIMEOUT_MS } from './send-webhook.js';

export type DispatcherLog = (msg: string, extra?: Record<string, unknown>) => void;

export interface DispatcherOptions {
  /** Runs the fan-out and result transactions (default: a new committer of the database). */
  committer?: Committer;
  /** The clock of the retry schedule, leases and pruning (tests move it). Signatures use the real time. */
  now?: () => number;
  random?: () => number;
  log?: DispatcherLog;
  /** Sleep between polls when idle (a wake() cuts it short). */
  idleMs?: number;
  /** How long a claimed delivery is ours; past it another dispatcher sends it again. */
  leaseMs?: number;
  /** Deliveries in flight at once, and per endpoint. */
  concurrency?: number;
  perEndpoint?: number;
  /** Send to loopback and private addresses too (TALLY_ALLOW_PRIVATE_WEBHOOKS; default false). */
  allowPrivate?: boolean;
  /** null: never send mail (keep it); undefined: through `smtp` when given, else keep it. */
  mailer?: Mailer | null;
  /** SMTP_URL and SMTP_FROM: plain data, so that a dispatcher thread builds its own mailer. */
  smtp?: SmtpSettings;
  /** Where the error-report links in e-mails point. */
  baseUrl?: string;
  retentionMs?: number;
  /** Per-request timeout of a delivery (default 10 s): no complete answer by then is a failed attempt. */
  timeoutMs?: number;
}

export interface Dispatcher {
  /** Something was written to the outbox or became due: look now. */
  wake(): void;
  stop(): Promise<void>;
}

const PRUNE_EVERY_MS = 60_000;

/** The dispatcher's settings from the validated configuration (src/config.ts). */
export function dispatcherOptionsFromConfig(config: {
  smtpUrl?: string; smtpFrom: string; publicUrl: string; outboxRetentionDays: number; webhookLeaseMs: number; dispatchIdleMs: number;
  allowPrivateWebhooks: boolean;
}): DispatcherOptions {
  return {
    leaseMs: config.webhookLeaseMs,
    idleMs: config.dispatchIdleMs,
    baseUrl: config.publicUrl,
    retentionMs: config.outboxRetentionDays * 86_400_000,
    allowPrivate: config.allowPrivateWebhooks,
    ...(config.smtpUrl ? { smtp: { url: config.smtpUrl, from: config.smtpFrom } } : {}),
  };
}

/**
 * The outbox dispatcher of one process: fans outbox rows out into deliveries and e-mails, sends
 * due deliveries (signed, with retries on the Standard Webhooks schedule), sends due e-mail when
 * SMTP_URL is set, and prunes what is past retention. Durable: every step is a row state, so a
 * dispatcher killed at any point loses nothing, and one that dies mid-send leaves a lease that
 * expires into a re-send with the same webhook-id.
 */
export class OutboxDispatcher implements Dispatcher {
  readonly id = `dispatcher-${randomUUID().slice(0, 8)}`;
  readonly #db: Kysely<DB>;
  readonly #committer: Committer;
  readonly #o: Required<Omit<DispatcherOptions, 'committer' | 'mailer' | 'smtp'>>;
  readonly #mailer: Mailer | undefined;
  readonly #inFlight = new Map<number, number>();
  /** Deliveries this dispatcher is sending now: not claimed again by it, even past their lease. */
  readonly #sending = new Set<number>();
  readonly #sends = new Set<Promise<void>>();
  #stopped = false;
  #wake: (() => void) | null = null;
  #loop: Promise<void> | null = null;
  #lastPrune = 0;
  /** Real time before which an empty outbox is not polled again, unless wake() says it changed. */
  #fanOutQuietUntil = 0;

  constructor(database: Database, opts: DispatcherOptions = {}) {
    this.#db = database.db;
    this.#committer = opts.committer ?? createCommitter(database);
    this.#mailer = opts.mailer === null ? undefined : (opts.mailer ?? (opts.smtp ? smtpMailer(opts.smtp) : undefined));
    const { committer: _c, mailer: _m, smtp: _s, ...rest } = opts;
    const given = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
    this.#o = {
      now: Date.now, random: Math.random, log: () => undefined, idleMs: 500, leaseMs: 60_000, concurrency: 32, perEndpoint: 8,
      allowPrivate: false, baseUrl: 'http://localhost:3000', retentionMs: 7 * 86_400_000, timeoutMs: WEBHOOK_TIMEOUT_MS,
      ...given,
    } as Required<Omit<DispatcherOptions, 'committer' | 'mailer' | 'smtp'>>;
  }

  start(): this {
    this.#loop ??= this.#run();
    return this;
  }

  wake(): void {
    this.#fanOutQuietUntil = 0;
    this.#wake?.();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.wake();
    await this.#loop;
    await Promise.all(this.#sends);
    this.#mailer?.close();
  }

  /** One pass: fan out, start due sends, send due mail, prune. Says whether there was work. */
  async tick(): Promise<boolean> {
    const now = this.#o.now();
    let fanned = 0;
    if (Date.now() >= this.#fanOutQuietUntil) {
      fanned = await this.#committer.run((trx) => fanOut(trx, now, this.#o.baseUrl));
      if (fanned === 0) this.#fanOutQuietUntil = Date.now() + this.#o.idleMs;
    }
    const started = await this.#startSends(now);
    const mailed = this.#mailer ? await sendDueMail(this.#db, this.#mailer, this.#o.now, this.#o.leaseMs) : 0;
    if (now - this.#lastPrune >= PRUNE_EVERY_MS) {
      this.#lastPrune = now;
      await prune(this.#db, now - this.#o.retentionMs);
    }
    return fanned > 0 || started > 0 || mailed > 0;
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      let worked = false;
      try {
        worked = await this.tick();
      } catch (err) {
        this.#o.log('dispatcher error', { err: String(err) });
      }
      if (!worked && !this.#stopped) await this.#idle(this.#o.idleMs);
    }
  }

  #idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }

  /** Claims due deliveries endpoint by endpoint (a busy endpoint never takes every sender) and sends them without waiting. */
  async #startSends(now: number): Promise<number> {
    let free = this.#o.concurrency - this.#sends.size;
    if (free <= 0) return 0;
    let started = 0;
    for (const endpointId of await dueEndpoints(this.#db, now, this.#o.concurrency)) {
      const room = Math.min(free, this.#o.perEndpoint - (this.#inFlight.get(endpointId) ?? 0));
      if (room <= 0) continue;
      const claimed = await claimDeliveries(this.#db, endpointId, now, this.#o.leaseMs, this.id, room, [...this.#sending]);
      for (const d of claimed) this.#track(d);
      free -= claimed.length;
      started += claimed.length;
      if (free <= 0) break;
    }
    return started;
  }

  #track(d: DeliveryRow): void {
    this.#inFlight.set(d.endpoint_id, (this.#inFlight.get(d.endpoint_id) ?? 0) + 1);
    this.#sending.add(d.id);
    const send: Promise<void> = this.#send(d)
      .catch((err) => this.#o.log('delivery error', { deliveryId: d.id, err: String(err) }))
      .finally(() => {
        this.#sends.delete(send);
        this.#sending.delete(d.id);
        this.#inFlight.set(d.endpoint_id, (this.#inFlight.get(d.endpoint_id) ?? 1) - 1);
        // A sender is free: look for due deliveries now (the outbox keeps its own polling pace).
        this.#wake?.();
      });
    this.#sends.add(send);
  }

  async #send(d: DeliveryRow): Promise<void> {
    const endpoint = await this.#db.selectFrom('webhook_endpoints').selectAll().where('id', '=', d.endpoint_id).executeTakeFirst();
    if (!endpoint) return;
    const body = await eventBody(this.#db, d);
    const headers = signedHeaders(endpoint, d.event_id, body);
    const result = await postWebhook(endpoint.url, headers, body, { allowPrivate: this.#o.allowPrivate, timeoutMs: this.#o.timeoutMs });
    await this.#committer.run((trx) => recordAttempt(trx, d, this.id, result, this.#o.now(), this.#o.random));
  }
}

/**
 * Starts the dispatcher for a database and returns its handle. PostgreSQL (pg is asynchronous),
 * an in-memory SQLite database, or a test's clock: in this process. A SQLite file: a worker thread
 * with its own connection, so the synchronous driver never holds up the HTTP event loop.
 *
 * @example const dispatcher = startDispatcher(database, { log }); … await dispatcher.stop();
 */
export function startDispatcher(database: Database, opts: DispatcherOptions = {}): Dispatcher {
  const inProcess = database.dialect === 'postgres' || database.location === ':memory:' || opts.now !== undefined || opts.committer !== undefined;
  if (inProcess) return new OutboxDispatcher(database, opts).start();
  return startDispatcherThread(database.location, opts);
}
