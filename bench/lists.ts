/**
 * List latency at scale: the requests the admin app makes for its lists (web/src/CustomersPage.tsx,
 * TransactionsPage.tsx, JobsPage.tsx, BulkDialog.tsx) against a store of N customers (default
 * 1,000,000), through a real `tally serve` (the built CLI), each repeated and given as p50/p99.
 * Beside each, its lower bound from the same run: the same statement (compiled by the same code
 * the server runs) timed directly on the database, on its own connection; and GET /healthz for
 * the HTTP round trip alone.
 *
 * The store: `tally seed` (names, e-mails, external ids, balances 0–5,059, activity over two
 * years), three tiers put through PUT /v1/tiers (the evaluation job sets tier_id and
 * tier_changed_at), and three reversals (a rare transaction type).
 *
 * Env: BENCH_LIST_CUSTOMERS (1000000), BENCH_LIST_REPS (20 timed runs of each after 2 warm-ups; 5 for
 * one whose warm-ups took over 2 s).
 * Target: p50 ≤ 300 ms for every list request (p99 shown; with 20 runs it is the slowest).
 */
import SQLite from 'better-sqlite3';
import { type Compilable, type Kysely, sql } from 'kysely';
import pg from 'pg';
import { openDatabase } from '../src/db/database.js';
import type { Dialect } from '../src/db/migrations/helpers.js';
import { countCustomersQuery, planCustomerCount, planCustomerFilter, SORT_COLUMNS, sortedCustomerListQuery } from '../src/db/queries/customers.js';
import { selectedCustomers } from '../src/db/queries/selection.js';
import type { DB } from '../src/db/schema.js';
import type { CustomerFilter, CustomerSort } from '../src/domain/types.js';
import { customerListQuery } from '../src/ledger/customers.js';
import { jobListQuery } from '../src/ledger/jobs.js';
import { encodeCursor } from '../src/ledger/paging.js';
import { transactionListQuery, transactionWalkFrom } from '../src/ledger/transactions.js';
import { freshDatabase, seededStore, sleep, startServer } from './support.js';
import type { BenchModule, BenchTable } from './types.js';

const TARGET_MS = 300;
const DAY = 86_400_000;

interface Case {
  label: string;
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
  /** The statement the server runs for it (the main one), for the raw lower bound. */
  raw?: (db: Kysely<DB>) => Compilable<unknown> | Promise<Compilable<unknown>>;
}

interface Timing {
  p50: number;
  p99: number;
  rows: number;
  runs: number;
}

function percentiles(ms: number[]): { p50: number; p99: number } {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
  return { p50: at(0.5), p99: at(0.99) };
}

const round = (ms: number) => (ms < 10 ? Number(ms.toFixed(1)) : Math.round(ms));

/** A statement run directly on the database: better-sqlite3 on its own read-only handle, or a pg client. */
interface RawRunner {
  run(sql: string, parameters: readonly unknown[]): Promise<number>;
  close(): Promise<void>;
}

async function rawRunner(dialect: Dialect, url: string): Promise<RawRunner> {
  if (dialect === 'sqlite') {
    const db = new SQLite(url.slice('sqlite:'.length), { readonly: true });
    db.pragma('cache_size = -65536');
    db.pragma('temp_store = MEMORY');
    return {
      run: async (sql, parameters) => db.prepare(sql).all(...(parameters as unknown[])).length,
      close: async () => void db.close(),
    };
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return {
    run: async (sql, parameters) => (await client.query(sql, parameters as unknown[])).rowCount ?? 0,
    close: () => client.end(),
  };
}

async function timeIt(reps: number, once: () => Promise<number>): Promise<Timing> {
  let rows = 0;
  const warm = performance.now();
  for (let i = 0; i < 2; i++) rows = await once();
  // A statement of seconds is timed 5 times, not 20: the figure is clear and the run stays short.
  const runs = performance.now() - warm > 2000 ? Math.min(reps, 5) : reps;
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    rows = await once();
    ms.push(performance.now() - started);
  }
  return { ...percentiles(ms), rows, runs };
}

function listPath(path: string, query: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, String(v));
  return `${path}?${q}`;
}

async function one(dialect: Dialect, customers: number, reps: number, log: (s: string) => void) {
  const fresh = await freshDatabase(dialect);
  const rows: Record<string, string | number | boolean | null>[] = [];
  try {
    log(`lists ${dialect}: seeding ${customers} customers`);
    const { storeId, apiKey } = await seededStore(fresh.url, customers);
    const server = await startServer(['bin/tally.js', 'serve', '--port', '{port}'], { DATABASE_URL: fresh.url, RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'warn' });
    const headers = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${server.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 300)}`);
      return JSON.parse(text);
    };
    const database = openDatabase(fresh.url);
    const raw = await rawRunner(dialect, fresh.url);
    try {
      // Tiers, evaluated by the job PUT /v1/tiers queues (the server's worker runs it).
      const beforeTiers = new Date(Date.now() - 60_000).toISOString();
      log(`lists ${dialect}: tiers and their evaluation job`);
      const tiers = await api('PUT', '/v1/tiers', [
        { name: 'Silver', threshold: 1_000 },
        { name: 'Gold', threshold: 3_000 },
        { name: 'Platinum', threshold: 4_500 },
      ]);
      for (;;) {
        const job = await api('GET', `/v1/jobs/${tiers.job.id}`);
        if (job.status === 'completed') break;
        if (job.status === 'failed' || job.status === 'cancelled') throw new Error(`tier job ${job.status}`);
        await sleep(500);
      }
      const tierId = (name: string) => (tiers.data as { id: number; name: string }[]).find((t) => t.name === name)!.id;
      // A rare type: three reversals of early seed rows.
      for (const id of [1, 2, 3]) await api('POST', `/v1/transactions/${id}/reverse`, { reason: 'Bench: a rare type' });
      const afterTiers = new Date().toISOString();
      // What autovacuum does soon after large changes: statistics with the tiers, and a visibility
      // map, so that index-only scans need not visit the table.
      if (dialect === 'postgres') await sql`VACUUM ANALYZE customers, transactions`.execute(database.db);

      const first = await api('GET', '/v1/customers?limit=50');
      const sample = first.data[17] as { externalId: string; email: string };
      const maxId = first.data[0].id as number;
      const deep = Math.floor(maxId / 2);
      const now = Date.now();
      const limit = 50;
      const page = { limit };
      const customerCase = (label: string, filter: CustomerFilter, beforeId?: number): Case => ({
        label,
        method: 'GET',
        path: listPath('/v1/customers', { ...filter, limit, cursor: beforeId === undefined ? undefined : encodeCursor(beforeId) }),
        // As listCustomers writes it: with the plan its bounded counts choose (SQLite).
        raw: async (db) => customerListQuery(db, storeId, filter, beforeId === undefined ? page : { limit, beforeId }, await planCustomerFilter(db, storeId, filter)),
      });
      const count = (label: string, filter: CustomerFilter | undefined): Case => ({
        label,
        method: 'POST',
        path: '/v1/bulk-adjustments',
        body: { selection: filter ? { filter } : { all: true }, type: 'adjust', points: 1, reason: 'Bench count', dryRun: true },
        raw: async (db) =>
          selectedCustomers(db, storeId, filter ? { filter } : { all: true }, maxId, await planCustomerFilter(db, storeId, filter ?? {}, true)).select((eb) => eb.fn.countAll().as('n')),
      });
      const sorted = (label: string, sort: CustomerSort, filter: CustomerFilter = {}): Case => ({
        label,
        method: 'GET',
        path: listPath('/v1/customers', { ...filter, sort: sort.by, order: sort.order, limit }),
        raw: async (db) =>
          sortedCustomerListQuery(db, storeId, filter, { limit, sort }, 'values', await planCustomerFilter(db, storeId, filter, !SORT_COLUMNS[sort.by].indexed)),
      });
      const counted = (label: string, filter: CustomerFilter): Case => ({
        label,
        method: 'GET',
        path: listPath('/v1/customers/count', { ...filter }),
        raw: async (db) => countCustomersQuery(db, storeId, filter, await planCustomerCount(db, storeId, filter)),
      });
      const day = (ms: number) => new Date(Math.floor(ms / DAY) * DAY).toISOString();
      const cases: Case[] = [
        { label: 'GET /healthz (the HTTP round trip alone)', method: 'GET', path: '/healthz' },
        customerCase('customers: first page (the default sort, newest first)', {}),
        customerCase('customers: a page halfway down (keyset cursor)', {}, deep),
        customerCase('customers: search one letter "o"', { search: 'o' }),
        customerCase('customers: search a first name "sophia"', { search: 'sophia' }),
        customerCase('customers: search a full name "sophia ng"', { search: 'sophia ng' }),
        customerCase('customers: search a last name "tanaka"', { search: 'tanaka' }),
        customerCase('customers: search an e-mail prefix', { search: sample.email.slice(0, sample.email.indexOf('.', sample.email.indexOf('.') + 1) + 4) }),
        customerCase('customers: search an external id', { search: sample.externalId }),
        customerCase('customers: search that matches no one "zzq"', { search: 'zzq' }),
        customerCase('customers: search "o" and balance ≥ 4,000', { search: 'o', minBalance: 4000 }),
        customerCase('customers: tier Silver (common)', { tierId: tierId('Silver') }),
        customerCase('customers: tier Platinum', { tierId: tierId('Platinum') }),
        customerCase('customers: balance ≥ 4,000', { minBalance: 4000 }),
        customerCase('customers: balance 5,050–5,059 (rare)', { minBalance: 5050, maxBalance: 5059 }),
        customerCase('customers: balance ≥ 6,000 (no one)', { minBalance: 6000 }),
        customerCase('customers: active in the last 7 days', { lastActivityAfter: day(now - 7 * DAY) }),
        customerCase('customers: inactive for a year', { lastActivityBefore: day(now - 365 * DAY) }),
        customerCase('customers: last activity within one month a year ago', { lastActivityAfter: day(now - 395 * DAY), lastActivityBefore: day(now - 365 * DAY) }),
        customerCase('customers: tier changed since before the tier job (most tiered)', { tierChangedAfter: beforeTiers }),
        customerCase('customers: tier changed since after it (no one)', { tierChangedAfter: afterTiers }),
        sorted('sorted: balance, highest first', { by: 'balance', order: 'desc' }),
        sorted('sorted: lifetime points, lowest first', { by: 'lifetimePoints', order: 'asc' }),
        sorted('sorted: name A–Z', { by: 'name', order: 'asc' }),
        sorted('sorted: e-mail Z–A', { by: 'email', order: 'desc' }),
        sorted('sorted: last activity, latest first', { by: 'lastActivityAt', order: 'desc' }),
        sorted('sorted: oldest first', { by: 'createdAt', order: 'asc' }),
        sorted('sorted: balance beside search "o"', { by: 'balance', order: 'desc' }, { search: 'o' }),
        sorted('sorted: name beside balance ≥ 4,000', { by: 'name', order: 'asc' }, { minBalance: 4000 }),
        sorted('sorted: name beside tier Platinum', { by: 'name', order: 'asc' }, { tierId: tierId('Platinum') }),
        sorted('sorted: e-mail beside search "sophia"', { by: 'email', order: 'asc' }, { search: 'sophia' }),
        counted('count: all customers (GET /v1/customers/count)', {}),
        counted('count: balance ≥ 4,000', { minBalance: 4000 }),
        counted('count: search "o"', { search: 'o' }),
        counted('count: search "sophia"', { search: 'sophia' }),
        counted('count: inactive for a year', { lastActivityBefore: day(now - 365 * DAY) }),
        counted('count: tier Silver', { tierId: tierId('Silver') }),
        count('count: dry run of all customers (the N the bulk dialog shows)', undefined),
        count('count: dry run of a filter (balance ≥ 4,000)', { minBalance: 4000 }),
        count('count: dry run of a search ("sophia")', { search: 'sophia' }),
        {
          label: 'transactions: first page',
          method: 'GET',
          path: '/v1/transactions?limit=50',
          raw: (db) => transactionListQuery(db, storeId, {}, page),
        },
        {
          label: 'transactions: type reversal (3 rows)',
          method: 'GET',
          path: '/v1/transactions?type=reversal&limit=50',
          raw: async (db) => transactionListQuery(db, storeId, { type: 'reversal' }, page, await transactionWalkFrom(db, storeId, { type: 'reversal' })),
        },
        {
          label: 'transactions: type expiry (none)',
          method: 'GET',
          path: '/v1/transactions?type=expiry&limit=50',
          raw: async (db) => transactionListQuery(db, storeId, { type: 'expiry' }, page, await transactionWalkFrom(db, storeId, { type: 'expiry' })),
        },
        { label: 'jobs: GET /v1/jobs', method: 'GET', path: '/v1/jobs?limit=100', raw: (db) => jobListQuery(db, storeId, { limit: 100 }) },
      ];
      for (const c of cases) {
        log(`lists ${dialect}: ${c.label}`);
        const http = await timeIt(reps, async () => {
          const body = await api(c.method, c.path, c.body);
          return Array.isArray(body.data) ? body.data.length : body.preview ? Number(body.preview.customers) : typeof body.count === 'number' ? body.count : 1;
        });
        let lower: Timing | null = null;
        if (c.raw) {
          const compiled = (await c.raw(database.db)).compile();
          lower = await timeIt(reps, () => raw.run(compiled.sql, compiled.parameters));
        }
        rows.push({
          dialect,
          customers,
          request: c.label,
          answered: http.rows,
          runs: http.runs,
          p50: round(http.p50),
          p99: round(http.p99),
          rawP50: lower ? round(lower.p50) : null,
          rawP99: lower ? round(lower.p99) : null,
          target: http.p50 <= TARGET_MS,
        });
      }
    } finally {
      await raw.close();
      await database.close();
      await server.stop();
    }
  } finally {
    await fresh.drop();
  }
  return rows;
}

export const listsBench: BenchModule = {
  name: 'lists',
  async run(ctx) {
    const customers = Number(process.env.BENCH_LIST_CUSTOMERS ?? 1_000_000);
    const reps = Number(process.env.BENCH_LIST_REPS ?? 20);
    const rows = [];
    for (const dialect of ctx.dialects) rows.push(...(await one(dialect, customers, reps, ctx.log)));
    const table: BenchTable = {
      title: `Lists the admin app asks for, through tally serve (${reps} runs each after 2 warm-ups), beside the same statement run directly on the database`,
      columns: [
        ['dialect', 'database'],
        ['customers', 'customers'],
        ['request', 'request'],
        ['answered', 'rows (or count)'],
        ['runs', 'runs'],
        ['p50', 'p50 ms'],
        ['p99', 'p99 ms'],
        ['rawP50', 'raw SQL p50 ms'],
        ['rawP99', 'raw SQL p99 ms'],
        ['target', `p50 ≤ ${TARGET_MS} ms`],
      ],
      rows,
      notes: [
        'Requests as the admin app sends them (limit=50; jobs limit=100); one at a time.',
        'raw SQL: the statement the server runs for the request (compiled by the same code), on its own connection; for the dry runs, their count statement only.',
        `With ${reps} runs the p99 is the slowest run; a request of over a second is run 5 times.`,
      ],
    };
    return [table];
  },
};
