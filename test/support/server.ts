import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createCommitter, type Committer } from '../../src/db/committer.js';
import type { Database, OpenOptions } from '../../src/db/database.js';
import type { Dialect } from '../../src/db/migrations/helpers.js';
import { buildApp } from '../../src/http/app.js';
import type { AppContext } from '../../src/http/context.js';
import type { RunnerOptions } from '../../src/jobs/runner.js';
import { startWorkers, type Workers } from '../../src/jobs/workers.js';
import { queueExpiry } from '../../src/ledger/expiry.js';
import { createStore } from '../../src/ledger/stores.js';
import { freshDatabase } from './databases.js';
import { assertLedgerInvariants } from './fixtures.js';

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface TestStore {
  id: number;
  apiKey: string;
  storefrontSecret: string;
  /** Calls the API as this store over real HTTP. */
  api<T = any>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResponse<T>>;
}

export interface TestServer {
  url: string;
  dialect: Dialect;
  database: Database & { url: string };
  committer: Committer;
  app: FastifyInstance;
  /** The context the app serves with: a test may flip `allowPrivateWebhooks` (TALLY_ALLOW_PRIVATE_WEBHOOKS). */
  context: AppContext;
  newStore(name?: string): Promise<TestStore>;
  close(): Promise<void>;
}

export async function request<T = any>(
  url: string,
  method: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ApiResponse<T>> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
  }
  const res = await fetch(url, init);
  const text = await res.text();
  let parsed: unknown = text;
  if ((res.headers.get('content-type') ?? '').includes('application/json')) parsed = JSON.parse(text);
  return { status: res.status, headers: res.headers, body: parsed as T, text };
}

/**
 * A real Tally HTTP server on a random local port, over a fresh database of the dialect. With
 * `workers`, jobs run as in production: on SQLite in the job worker thread with its own
 * connection, on PostgreSQL in a runner of this process with pooled connections.
 */
export async function startServer(
  dialect: Dialect,
  opts: { rateLimitPerMinute?: number; workers?: RunnerOptions; importMaxBytes?: number; database?: OpenOptions } = {},
): Promise<TestServer> {
  const database = await freshDatabase(dialect, opts.database);
  const committer = createCommitter(database);
  const workers: Workers | undefined = opts.workers ? startWorkers(database, opts.workers) : undefined;
  const context: AppContext = { database, committer, workers, allowPrivateWebhooks: false };
  const app = await buildApp(context, { rateLimitPerMinute: opts.rateLimitPerMinute ?? 0, importMaxBytes: opts.importMaxBytes });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return {
    url,
    dialect,
    database,
    committer,
    app,
    context,
    async newStore(name = 'Test store') {
      const created = await committer.run((trx) => createStore(trx, { name }));
      return {
        id: created.store.id,
        apiKey: created.apiKey,
        storefrontSecret: created.storefrontSecret,
        api: (method, path, body, headers = {}) =>
          request(`${url}${path}`, method, body, { authorization: `Bearer ${created.apiKey}`, ...headers }),
      };
    },
    async close() {
      await app.close();
      await workers?.stop();
      await database.drop();
    },
  };
}

/**
 * The usual scene of a suite: a real server on a fresh database of the dialect and one store,
 * with the ledger invariants asserted over the whole database when the suite ends.
 * Read `ctx.server` and `ctx.store` inside tests (they are set before the first one runs).
 */
export function useServer(dialect: Dialect): { server: TestServer; store: TestStore } {
  const ctx = {} as { server: TestServer; store: TestStore };
  beforeAll(async () => {
    ctx.server = await startServer(dialect, { workers: { idleMs: 50 } });
    ctx.store = await ctx.server.newStore();
  });
  afterAll(async () => {
    await assertLedgerInvariants(ctx.server.database);
    await ctx.server.close();
  });
  return ctx;
}

/** Polls a job through the API until it reaches a final status (or fails the test after `ms`). */
export async function waitForJob(store: TestStore, id: number, ms = 30_000): Promise<any> {
  const deadline = Date.now() + ms;
  for (;;) {
    const job = (await store.api('GET', `/v1/jobs/${id}`)).body;
    if (['completed', 'failed', 'cancelled'].includes(job.status)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Runs the store's expiry as of `asOf` (a test's clock) through the job workers, to its end. The
 * workers' schedule may have queued the store's own run (as of now) just before: queueExpiry
 * answers that live run, and this one is queued again once it has ended.
 */
export async function runExpiry(server: TestServer, store: TestStore, asOf: number): Promise<any> {
  for (;;) {
    const job = await server.committer.run((trx) => queueExpiry(trx, store.id, undefined, asOf));
    const done = await waitForJob(store, job.id);
    if (done.status !== 'completed' || done.params.asOf === asOf) return done;
  }
}
