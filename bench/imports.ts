/**
 * Import and export benchmark (issue 13): through a real `tally serve` process (built CLI),
 *  - import N rows `add` (existing members by id), `set` creating N members, and `add` with every row a
 *    pending credit with an explicit expiry (availableAt, expiresAt), request → job completed;
 *  - export N+ transactions and N customers (GET …/export.csv read to its end);
 * each beside its raw lower bound measured in the same run on the same data (the file parsed with
 * csv-parse and the rows written by hand-written set-based SQL in one transaction; for exports a
 * keyset walk of the same columns through csv-stringify), and the server's peak RSS;
 * and meanwhile another store's reads: GET /v1/customers/{id} of store B (10,000 customers) under
 * autocannon at a steady rate while each import runs, beside the same load on the idle server.
 *
 * Env: BENCH_IMPORT_ROWS (default 1,000,000; e.g. 20000 to try it quickly).
 */
import { createReadStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import autocannon from 'autocannon';
import { parse } from 'csv-parse';
import { stringify } from 'csv-stringify';
import SQLite from 'better-sqlite3';
import { type Kysely, sql } from 'kysely';
import pg from 'pg';
import { createCommitter } from '../src/db/committer.js';
import { type Database, migrate, openDatabase } from '../src/db/database.js';
import type { Dialect } from '../src/db/migrations/helpers.js';
import type { DB } from '../src/db/schema.js';
import { seedCustomers } from '../src/ledger/seed.js';
import { createStore } from '../src/ledger/stores.js';
import { freshDatabase, type Server, sleep, startServer, tallyVerify } from './support.js';
import type { BenchModule, BenchTable } from './types.js';

interface Figure {
  dialect: Dialect;
  operation: string;
  rows: number;
  tallySeconds: number;
  rawSeconds: number;
  /** Exports: the same columns read in keyset batches as arrays, nothing formatted or sent (NaN: not measured). */
  readSeconds: number;
  peakRssMb: number;
  /** Store B's GET /v1/customers/{id} while this ran (imports), ms; '' when not measured. */
  otherP50: number | '';
  otherP99: number | '';
  verified: boolean;
}

/** Store B's read load: steady (a rate, not as fast as it goes), so it measures latency, not throughput. */
const OTHER_CONNECTIONS = 4;
const OTHER_RATE_PER_SECOND = 200;
const OTHER_CUSTOMERS = 10_000;
const TARGET_P99_MS = 50;

/** Store B's reads until `until` settles: p50/p99 in ms, and how many were served and how many failed. */
async function otherStoreReads(server: Server, apiKey: string, ids: number[], until: Promise<unknown>) {
  const headers = { authorization: `Bearer ${apiKey}` };
  const pick = () => ids[Math.floor(Math.random() * ids.length)];
  let finished: (r: autocannon.Result) => void = () => undefined;
  const result = new Promise<autocannon.Result>((resolve) => (finished = resolve));
  const run = autocannon(
    {
      url: server.url,
      connections: OTHER_CONNECTIONS,
      overallRate: OTHER_RATE_PER_SECOND,
      duration: 3600,
      requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: `/v1/customers/${pick()}`, headers }) }],
    },
    (_err, r) => finished(r),
  );
  try {
    await until;
  } finally {
    run.stop();
  }
  const r = await result;
  return { requests: r.requests.total, p50: r.latency.p50, p99: r.latency.p99, errors: r.non2xx + r.errors };
}

const seconds = (since: number) => (performance.now() - since) / 1000;

function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

/** Writes a CSV of n rows made by `row(i)` to a temp file, in pieces (never the file in memory). */
function writeCsv(dir: string, name: string, header: string, n: number, row: (i: number) => string): string {
  const path = join(dir, name);
  writeFileSync(path, `${header}\n`);
  for (let from = 0; from < n; from += 50_000) {
    const lines: string[] = [];
    for (let i = from; i < Math.min(n, from + 50_000); i++) lines.push(row(i));
    writeFileSync(path, `${lines.join('\n')}\n`, { flag: 'a' });
  }
  return path;
}

/** Parses a file with csv-parse alone: the floor of any importer's reading. */
async function parseOnly(path: string, onRecord: (r: string[]) => void = () => undefined): Promise<void> {
  const parser = createReadStream(path).pipe(parse({ from_line: 2 }));
  for await (const record of parser) onRecord(record as string[]);
}

/** Raw `add`: the file parsed, then one INSERT … SELECT of the ledger rows and one UPDATE, one transaction. */
async function rawAdd(database: Database, storeId: number, path: string): Promise<number> {
  const started = performance.now();
  await parseOnly(path);
  await database.db.transaction().execute(async (trx) => {
    await sql`INSERT INTO transactions (store_id, customer_id, type, points, tier_points, balance_after, reason, visible_to_customer, actor_type, actor_name, job_id, job_line, created_at)
      SELECT store_id, id, 'import', 10, 10, balance + 10, 'raw', 1, 'system', 'bench', -2, id, ${Date.now()} FROM customers WHERE store_id = ${storeId}`.execute(trx);
    await sql`UPDATE customers SET balance = balance + 10, lifetime_points = lifetime_points + 10 WHERE store_id = ${storeId}`.execute(trx);
  });
  return seconds(started);
}

/**
 * Raw pending `add` (rows with a future availableAt): the file parsed, then the zero-point `pending`
 * ledger rows, their pending_credits rows and the customers' pending points, set-based, one transaction.
 */
async function rawPending(database: Database, storeId: number, path: string, availableAt: number): Promise<number> {
  const started = performance.now();
  await parseOnly(path);
  await database.db.transaction().execute(async (trx) => {
    await sql`INSERT INTO transactions (store_id, customer_id, type, points, tier_points, balance_after, reason, visible_to_customer, actor_type, actor_name, job_id, job_line, created_at)
      SELECT store_id, id, 'pending', 0, 0, balance, 'raw', 1, 'system', 'bench', -4, id, ${Date.now()} FROM customers WHERE store_id = ${storeId}`.execute(trx);
    await sql`INSERT INTO pending_credits (store_id, customer_id, transaction_id, points, affects_tier, visible_to_customer, reason, customer_message, expires_at, available_at, status, settled_transaction_id, created_at)
      SELECT store_id, customer_id, id, 10, 1, 1, reason, NULL, NULL, ${availableAt}, 'pending', NULL, created_at FROM transactions WHERE job_id = -4 AND store_id = ${storeId}`.execute(trx);
    await sql`UPDATE customers SET pending_points = pending_points + 10 WHERE store_id = ${storeId}`.execute(trx);
  });
  return seconds(started);
}

/** Raw `set` creating members: the file parsed into multi-row customer INSERTs, then the ledger rows set-based. */
async function rawSet(database: Database, storeId: number, path: string): Promise<number> {
  const started = performance.now();
  await database.db.transaction().execute(async (trx) => {
    let batch: string[][] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      const rows = batch.map(([externalId, email, first, last, points]) => ({
        store_id: storeId, external_id: externalId, email, first_name: first, last_name: last, balance: Number(points), lifetime_points: Number(points), created_at: Date.now(),
      }));
      batch = [];
      await (trx as Kysely<DB>).insertInto('customers').values(rows).execute();
    };
    const parser = createReadStream(path).pipe(parse({ from_line: 2 }));
    for await (const record of parser) {
      batch.push(record as string[]);
      if (batch.length >= 1000) await flush();
    }
    await flush();
    await sql`INSERT INTO transactions (store_id, customer_id, type, points, tier_points, balance_after, reason, visible_to_customer, actor_type, actor_name, job_id, job_line, created_at)
      SELECT store_id, id, 'import', balance, balance, balance, 'raw', 1, 'system', 'bench', -3, id, ${Date.now()} FROM customers WHERE store_id = ${storeId}`.execute(trx);
  });
  return seconds(started);
}

/** Raw export: a keyset walk of the table's rows of the store through csv-stringify into nothing. */
async function rawExport(database: Database, table: 'transactions' | 'customers', storeId: number): Promise<{ seconds: number; rows: number }> {
  const started = performance.now();
  let rows = 0;
  async function* records() {
    let after = 0;
    for (;;) {
      const { rows: batch } = await sql<Record<string, unknown> & { id: number }>`
        SELECT * FROM ${sql.table(table)} WHERE store_id = ${storeId} AND id > ${after} ORDER BY id LIMIT 5000`.execute(database.db);
      for (const r of batch) yield Object.values(r);
      rows += batch.length;
      if (batch.length < 5000) return;
      after = batch[batch.length - 1].id;
    }
  }
  await pipeline(Readable.from(records()), stringify(), new Writable({ write: (_c, _e, done) => done() }));
  return { seconds: seconds(started), rows };
}

/**
 * The floor under any export through the driver: the table's rows of the store read in keyset
 * batches of 5,000 as arrays (better-sqlite3's raw mode, pg's rowMode 'array') on a connection of
 * their own, each value made a JS value and nothing else done with it.
 */
async function readOnly(url: string, table: 'transactions' | 'customers', storeId: number): Promise<number> {
  const text = (p: (i: number) => string) => `SELECT * FROM ${table} WHERE store_id = ${p(1)} AND id > ${p(2)} ORDER BY id LIMIT 5000`;
  const started = performance.now();
  if (url.startsWith('sqlite:')) {
    const db = new SQLite(url.slice('sqlite:'.length), { readonly: true });
    try {
      const q = db.prepare(text(() => '?')).raw(true);
      for (let after = 0; ; ) {
        const batch = q.all(storeId, after) as unknown[][];
        if (batch.length < 5000) break;
        after = Number(batch[batch.length - 1][0]);
      }
    } finally {
      db.close();
    }
  } else {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      for (let after = 0; ; ) {
        const { rows } = await client.query<unknown[]>({ text: text((i) => `$${i}`), values: [storeId, after], rowMode: 'array' });
        if (rows.length < 5000) break;
        after = Number(rows[rows.length - 1][0]);
      }
    } finally {
      await client.end();
    }
  }
  return seconds(started);
}

async function postFile(url: string, apiKey: string, query: string, path: string): Promise<{ id: number }> {
  const res = await fetch(`${url}/v1/imports?${query}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'text/csv', 'content-length': String(statSync(path).size) },
    body: Readable.toWeb(createReadStream(path)) as ReadableStream,
    duplex: 'half',
  } as RequestInit);
  const body = (await res.json()) as { job?: { id: number } };
  if (res.status !== 202 || !body.job) throw new Error(`import answered ${res.status}: ${JSON.stringify(body)}`);
  return body.job;
}

async function waitJob(url: string, apiKey: string, id: number): Promise<{ status: string; succeeded: number }> {
  for (;;) {
    const job = (await (await fetch(`${url}/v1/jobs/${id}`, { headers: { authorization: `Bearer ${apiKey}` } })).json()) as { status: string; succeeded: number };
    if (['completed', 'failed', 'cancelled'].includes(job.status)) return job;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Reads an export to its end; returns its data lines. */
async function readExport(url: string, apiKey: string, path: string): Promise<number> {
  const get = () => fetch(`${url}${path}`, { headers: { authorization: `Bearer ${apiKey}` } });
  // The GET may go out on a kept-alive connection idle for a minute (the raw walks ran meanwhile)
  // just as the server closes it (a run on 12-08 failed so: "other side closed", no byte answered).
  // A GET is safe to send again, on a new connection.
  const res = await get().catch((err: { cause?: { code?: string } }) => {
    if (err.cause?.code !== 'UND_ERR_SOCKET') throw err;
    return get();
  });
  let newlines = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) for (const b of chunk) if (b === 10) newlines++;
  return newlines - 1;
}

export async function benchImports(dialect: Dialect, n: number, log: (s: string) => void): Promise<Figure[]> {
  const fresh = await freshDatabase(dialect);
  const database = openDatabase(fresh.url);
  const dir = mkdtempSync(join(tmpdir(), 'tally-bench-imports-'));
  const figures: Figure[] = [];
  try {
    await migrate(database);
    const committer = createCommitter(database);
    const make = async (name: string) => committer.run((trx) => createStore(trx, { name }));
    const [adds, sets, rawAdds, rawSets, pends, rawPends, other] = [
      await make('add'), await make('set'), await make('raw add'), await make('raw set'), await make('pending add'), await make('raw pending add'), await make('other store'),
    ];
    await seedCustomers(database.db, committer, other.store.id, OTHER_CUSTOMERS);
    const otherIds = (await database.db.selectFrom('customers').select('id').where('store_id', '=', other.store.id).execute()).map((c) => Number(c.id));
    log(`${dialect}: seeding 4 × ${n} customers`);
    for (const store of [adds, rawAdds, pends, rawPends]) await seedCustomers(database.db, committer, store.store.id, n);
    const firstOf = async (storeId: number) => Number((await sql<{ id: number }>`SELECT min(id) AS id FROM customers WHERE store_id = ${storeId}`.execute(database.db)).rows[0].id);
    const base = await firstOf(adds.store.id);
    const addFile = writeCsv(dir, 'add.csv', 'customerId,points', n, (i) => `${base + i},10`);
    // Every row a pending credit (available in a month) with an explicit expiry: the dated path whole.
    const availableAt = Date.now() + 30 * 86_400_000;
    const dates = `${new Date(availableAt).toISOString()},${new Date(availableAt + 365 * 86_400_000).toISOString()}`;
    const pendBase = await firstOf(pends.store.id);
    const pendFile = writeCsv(dir, 'pending.csv', 'customerId,points,availableAt,expiresAt', n, (i) => `${pendBase + i},10,${dates}`);
    const setFile = writeCsv(dir, 'set.csv', 'externalId,email,firstName,lastName,balance', n, (i) => `m-${i},m${i}@example.com,First${i},Last${i},${(i * 7919) % 5000}`);
    log(`${dialect}: raw lower bounds (add, set)`);
    const rawAddSeconds = await rawAdd(database, rawAdds.store.id, addFile);
    const rawSetSeconds = await rawSet(database, rawSets.store.id, setFile);
    const rawPendingSeconds = await rawPending(database, rawPends.store.id, pendFile, availableAt);

    const server = await startServer(['bin/tally.js', 'serve', '--port', '{port}'], { DATABASE_URL: fresh.url, RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'warn' });
    try {
      // Warm-up (reader threads start at the first read, code paths get compiled), not measured.
      await otherStoreReads(server, other.apiKey, otherIds, sleep(1000));
      log(`${dialect}: store B's reads, idle (5 s)`);
      const idle = await otherStoreReads(server, other.apiKey, otherIds, sleep(5000));
      figures.push({ dialect, operation: "store B's GET /v1/customers/{id}, idle", rows: idle.requests, tallySeconds: NaN, rawSeconds: NaN, readSeconds: NaN, peakRssMb: peakRssMb(server.child.pid!), otherP50: idle.p50, otherP99: idle.p99, verified: idle.errors === 0 });
      for (const [operation, store, file, query, raw] of [
        ['import add (existing members)', adds, addFile, 'type=add&reason=Bench', rawAddSeconds],
        ['import set (creating members)', sets, setFile, 'type=set&reason=Bench', rawSetSeconds],
        ['import add, pending (availableAt, expiresAt)', pends, pendFile, 'type=add&reason=Bench', rawPendingSeconds],
      ] as const) {
        log(`${dialect}: ${operation}, ${n} rows`);
        const started = performance.now();
        // Timed when the job is seen completed, not once store B's load has stopped (autocannon
        // ends on its next one-second tick: that had added up to a second to every figure).
        let tallySeconds = NaN;
        const imported = (async () => {
          const job = await postFile(server.url, store.apiKey, query, file);
          const finished = await waitJob(server.url, store.apiKey, job.id);
          tallySeconds = seconds(started);
          return finished;
        })();
        const reads = await otherStoreReads(server, other.apiKey, otherIds, imported);
        const done = await imported;
        figures.push({
          dialect, operation, rows: n, tallySeconds, rawSeconds: raw, readSeconds: NaN, peakRssMb: peakRssMb(server.child.pid!),
          otherP50: reads.p50, otherP99: reads.p99, verified: done.status === 'completed' && done.succeeded === n && reads.errors === 0,
        });
        log(`  ${tallySeconds.toFixed(2)} s (raw ${raw.toFixed(2)} s), peak RSS ${peakRssMb(server.child.pid!)} MB, store B's GET p50/p99 ${reads.p50}/${reads.p99} ms, ${done.status}`);
      }
      for (const [operation, table, path] of [
        ['export transactions', 'transactions', '/v1/transactions/export.csv'],
        ['export customers', 'customers', '/v1/customers/export.csv'],
      ] as const) {
        log(`${dialect}: ${operation}`);
        const raw = await rawExport(database, table, adds.store.id);
        const read = await readOnly(fresh.url, table, adds.store.id);
        const started = performance.now();
        const lines = await readExport(server.url, adds.apiKey, path);
        const tallySeconds = seconds(started);
        log(`  ${tallySeconds.toFixed(2)} s (raw ${raw.seconds.toFixed(2)} s, rows read alone ${read.toFixed(2)} s), ${lines} rows, peak RSS ${peakRssMb(server.child.pid!)} MB`);
        figures.push({ dialect, operation, rows: raw.rows, tallySeconds, rawSeconds: raw.seconds, readSeconds: read, peakRssMb: peakRssMb(server.child.pid!), otherP50: '', otherP99: '', verified: lines === raw.rows });
      }
    } finally {
      await server.stop();
    }
    log(`${dialect}: tally verify of the three imported stores`);
    for (const store of [adds, sets, pends]) {
      const report = await tallyVerify(fresh.url, store.store.id);
      if (!report.ok) for (const f of figures) f.verified = false;
    }
    const pending = await sql<{ p: number }>`SELECT coalesce(sum(pending_points), 0) AS p FROM customers WHERE store_id = ${pends.store.id}`.execute(database.db);
    if (Number(pending.rows[0].p) !== 10 * n) for (const f of figures) if (f.operation.includes('pending')) f.verified = false;
    return figures;
  } finally {
    await database.close();
    await fresh.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Imports and exports (bench/imports.ts), one row per dialect and operation. */
export const importsBench: BenchModule = {
  name: 'imports',
  async run(ctx): Promise<BenchTable[]> {
    const n = Number(process.env.BENCH_IMPORT_ROWS ?? 1_000_000);
    const rows: Figure[] = [];
    for (const dialect of ctx.dialects) rows.push(...(await benchImports(dialect, n, ctx.log)));
    return [
      {
        title: `CSV imports and exports (${n} rows)`,
        columns: [
          ['dialect', 'database'],
          ['operation', 'operation'],
          ['rows', 'rows'],
          ['tallySeconds', 'Tally s'],
          ['rawSeconds', 'raw lower bound s'],
          ['ratio', 'ratio'],
          ['perMillion', 'Tally s per million'],
          ['readPerMillion', 'rows read alone, s per million'],
          ['peakRssMb', 'server peak RSS MB'],
          ['otherP50', "store B's GET p50 ms"],
          ['otherP99', "store B's GET p99 ms"],
          ['verified', 'verified'],
        ],
        rows: rows.map((r) => {
          const timed = Number.isFinite(r.tallySeconds);
          return {
            ...r,
            tallySeconds: timed ? Number(r.tallySeconds.toFixed(2)) : '',
            rawSeconds: timed ? Number(r.rawSeconds.toFixed(2)) : '',
            ratio: timed ? `${(r.tallySeconds / r.rawSeconds).toFixed(2)}×` : '',
            perMillion: timed ? Number(((r.tallySeconds / Math.max(r.rows, 1)) * 1e6).toFixed(2)) : '',
            readPerMillion: Number.isFinite(r.readSeconds) ? Number(((r.readSeconds / Math.max(r.rows, 1)) * 1e6).toFixed(2)) : '',
          };
        }),
        notes: [
          'Targets (issue 13), SQLite: import ≤ 8 s and export ≤ 3 s per million rows, within 3× of the raw lower bound, peak RSS ≤ 300 MB; PostgreSQL within 3×.',
          'Raw lower bound: the file parsed with csv-parse and the same rows written by hand-written set-based SQL in one transaction (exports: a keyset walk through csv-stringify). Rows read alone (exports): each row of the store read as an array by the driver in keyset batches, nothing formatted or sent — no export through the driver can be faster.',
          `Store B (${OTHER_CUSTOMERS} customers): GET /v1/customers/{id} at ${OTHER_RATE_PER_SECOND}/s over ${OTHER_CONNECTIONS} connections (autocannon) while each import runs, request to completed job; the idle row is the same load for 5 s before them. Target p99 ≤ ${TARGET_P99_MS} ms. "rows" of the idle row: requests served.`,
        ],
      },
    ];
  },
};
