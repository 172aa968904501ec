/**
 * Bulk-job benchmark: a +100 adjustment of N customers (default 1,000,000), request → completed,
 * through a real `tally serve` process, with GET /v1/customers/{id} latency measured while the
 * job runs and the server's peak memory; and, in the same run, the raw lower bound: the same
 * rows written by one hand-written INSERT … SELECT plus one UPDATE in one transaction.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { sql } from 'kysely';
import { createCommitter } from '../src/db/committer.js';
import { type Database, migrate, openDatabase } from '../src/db/database.js';
import type { Dialect } from '../src/db/migrations/helpers.js';
import { seedCustomers } from '../src/ledger/seed.js';
import { createStore } from '../src/ledger/stores.js';
import { freePort, until } from '../test/support/process.js';
import { freshDatabaseUrl } from '../test/support/databases.js';

export interface BulkBenchRow {
  dialect: Dialect;
  customers: number;
  tallySeconds: number;
  rawSeconds: number;
  ratio: number;
  getP50Ms: number;
  getP99Ms: number;
  getRequests: number;
  peakRssMb: number;
  verified: boolean;
}

async function rawLowerBound(database: Database, storeId: number): Promise<number> {
  const started = performance.now();
  await database.db.transaction().execute(async (trx) => {
    if (database.dialect === 'sqlite') await sql`SELECT 1`.execute(trx);
    await sql`
      INSERT INTO transactions (store_id, customer_id, type, points, tier_points, balance_after, reason, customer_message,
                                visible_to_customer, actor_type, actor_id, actor_name, job_id, created_at)
      SELECT store_id, id, 'adjustment', 100, 100, balance + 100, 'Raw lower bound', NULL, 1, 'system', NULL, 'bench', -1, ${Date.now()}
      FROM customers WHERE store_id = ${storeId}`.execute(trx);
    await sql`UPDATE customers SET balance = balance + 100, lifetime_points = lifetime_points + 100 WHERE store_id = ${storeId}`.execute(trx);
  });
  return (performance.now() - started) / 1000;
}

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmHWM:\s+(\d+) kB/.exec(status);
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

export async function benchBulk(dialect: Dialect, customers: number, log: (s: string) => void): Promise<BulkBenchRow> {
  const fresh = await freshDatabaseUrl(dialect);
  const database = openDatabase(fresh.url);
  try {
    await migrate(database);
    const committer = createCommitter(database);
    const created = await committer.run((trx) => createStore(trx, { name: 'Bench' }));
    log(`${dialect}: seeding ${customers} customers`);
    await seedCustomers(database.db, committer, created.store.id, customers);
    log(`${dialect}: raw lower bound`);
    const rawSeconds = await rawLowerBound(database, created.store.id);

    const port = await freePort();
    const server = spawn(process.execPath, ['bin/tally.js', 'serve', '--port', String(port)], {
      env: { ...process.env, DATABASE_URL: fresh.url, RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const url = `http://127.0.0.1:${port}`;
    const auth = { authorization: `Bearer ${created.apiKey}`, 'content-type': 'application/json' };
    try {
      await until(async () => ((await fetch(`${url}/healthz`)).ok ? true : undefined));
      log(`${dialect}: bulk +100 to ${customers} customers through the API`);
      let readsDone: (r: autocannon.Result) => void = () => undefined;
      const readResult = new Promise<autocannon.Result>((resolve) => (readsDone = resolve));
      const reads = autocannon({
        url,
        connections: 10,
        duration: 600,
        requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: `/v1/customers/${1 + Math.floor(Math.random() * customers)}`, headers: auth }) }],
      }, (_err, result) => readsDone(result));
      const started = performance.now();
      const res = await fetch(`${url}/v1/bulk-adjustments`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ selection: { all: true }, type: 'adjust', points: 100, reason: 'Benchmark +100' }),
      });
      const { job } = (await res.json()) as { job: { id: number } };
      const done = await until(async () => {
        const j = (await (await fetch(`${url}/v1/jobs/${job.id}`, { headers: auth })).json()) as { status: string };
        return j.status === 'completed' || j.status === 'failed' ? j : undefined;
      }, 600_000, 20);
      const tallySeconds = (performance.now() - started) / 1000;
      reads.stop();
      const latency = await readResult;
      const peak = peakRssMb(server.pid!);
      if (done.status !== 'completed') throw new Error(`bench job ended ${done.status}`);
      const check = await sql<{ n: number }>`SELECT count(*) AS n FROM transactions WHERE job_id = ${job.id}`.execute(database.db);
      return {
        dialect,
        customers,
        tallySeconds,
        rawSeconds,
        ratio: tallySeconds / rawSeconds,
        getP50Ms: latency.latency.p50,
        getP99Ms: latency.latency.p99,
        getRequests: latency.requests.total,
        peakRssMb: peak,
        verified: Number(check.rows[0].n) === customers,
      };
    } finally {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
    }
  } finally {
    await database.close();
    await fresh.drop();
  }
}
