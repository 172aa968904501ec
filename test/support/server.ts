import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createCommitter, type Committer } from '../../src/db/committer.js';
import type { Database } from '../../src/db/database.js';
import type { Dialect } from '../../src/db/migrations/helpers.js';
import { buildApp } from '../../src/http/app.js';
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

/** A real Tally HTTP server on a random local port, over a fresh database of the dialect. */
export async function startServer(dialect: Dialect, opts: { rateLimitPerMinute?: number } = {}): Promise<TestServer> {
  const database = await freshDatabase(dialect);
  const committer = createCommitter(database);
  const app = await buildApp({ database, committer }, { rateLimitPerMinute: opts.rateLimitPerMinute ?? 0 });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return {
    url,
    dialect,
    database,
    committer,
    app,
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
    ctx.server = await startServer(dialect);
    ctx.store = await ctx.server.newStore();
  });
  afterAll(async () => {
    await assertLedgerInvariants(ctx.server.database);
    await ctx.server.close();
  });
  return ctx;
}
