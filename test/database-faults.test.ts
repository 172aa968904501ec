import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCommitter } from '../src/db/committer.js';
import { type Database, migrate, openDatabase } from '../src/db/database.js';
import { seedCustomers } from '../src/ledger/seed.js';
import { createStore } from '../src/ledger/stores.js';
import { DIALECTS, freshDatabaseUrl, type TestDatabase } from './support/databases.js';
import { freePort, spawnTally, type TallyProcess, until } from './support/process.js';
import { request } from './support/server.js';

const CUSTOMERS = 20_000;
const WRITERS = 20;

/**
 * Faults of PostgreSQL itself, against real `tally` processes: every session of the database
 * terminated (as a restart or failover does) and new connections refused for a while, under
 * concurrent writes and a running bulk job; and a worker that hangs holding its job's lease.
 */
describe.runIf(DIALECTS.includes('postgres'))('postgres: Tally survives its database', () => {
  let fresh: TestDatabase;
  let database: Database;
  let admin: pg.Client;
  let store: { id: number; apiKey: string };
  const running: TallyProcess[] = [];
  const dbName = () => new URL(fresh.url).pathname.slice(1);

  beforeAll(async () => {
    fresh = await freshDatabaseUrl('postgres');
    database = openDatabase(fresh.url, { poolSize: 4 });
    await migrate(database);
    const committer = createCommitter(database);
    const created = await committer.run((trx) => createStore(trx, { name: 'Fault store' }));
    store = { id: created.store.id, apiKey: created.apiKey };
    await seedCustomers(database.db, committer, store.id, CUSTOMERS);
    admin = new pg.Client({ connectionString: process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test' });
    await admin.connect();
  });
  afterAll(async () => {
    for (const p of running) p.child.kill('SIGKILL');
    await admin.query(`ALTER DATABASE ${dbName()} ALLOW_CONNECTIONS true`);
    await admin.end();
    await database.close();
    await fresh.drop();
  });

  /** Ends every session of the test database but ours, as a restart of the server does. */
  async function terminateSessions(): Promise<number> {
    const r = await admin.query('SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [dbName()]);
    return r.rows[0].n;
  }

  it('keeps the process up through terminated sessions and refused connections, losing and doubling nothing', async () => {
    const port = await freePort();
    const server = spawnTally(['serve', '--port', String(port)], {
      DATABASE_URL: fresh.url,
      RATE_LIMIT_PER_MINUTE: '0',
      JOB_CHUNK_SIZE: '1000',
      JOB_RATE_PER_STORE: '4000',
    });
    running.push(server);
    const url = `http://127.0.0.1:${port}`;
    await until(async () => ((await fetch(`${url}/healthz`)).ok ? true : undefined));
    const api = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
      request(`${url}${path}`, method, body, { authorization: `Bearer ${store.apiKey}`, ...headers });

    const job = (await api('POST', '/v1/bulk-adjustments', { selection: { all: true }, type: 'adjust', points: 1, reason: 'Through the outage' })).body.job;
    const acknowledged: string[] = [];
    const statuses = new Map<number, number>();
    let stop = false;
    const writers = Array.from({ length: WRITERS }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        const key = `w${w}-${i}`;
        try {
          const res = await api('POST', `/v1/customers/${1 + ((w * 997 + i * 31) % CUSTOMERS)}/adjustments`, { points: 2, reason: 'Concurrent write' }, { 'idempotency-key': key });
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (res.status === 201) acknowledged.push(key);
        } catch {
          statuses.set(0, (statuses.get(0) ?? 0) + 1);
        }
      }
    });

    await new Promise((r) => setTimeout(r, 500));
    expect(await terminateSessions()).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 300));
    // A restart: sessions gone and connections refused for a second.
    await admin.query(`ALTER DATABASE ${dbName()} ALLOW_CONNECTIONS false`);
    await terminateSessions();
    await new Promise((r) => setTimeout(r, 1000));
    await admin.query(`ALTER DATABASE ${dbName()} ALLOW_CONNECTIONS true`);
    await new Promise((r) => setTimeout(r, 300));
    await terminateSessions();
    await new Promise((r) => setTimeout(r, 700));
    stop = true;
    await Promise.all(writers);

    expect(server.child.exitCode, server.output()).toBeNull();
    await until(async () => ((await fetch(`${url}/healthz`)).ok ? true : undefined), 15_000);
    const done = await until(async () => {
      const j = (await api('GET', `/v1/jobs/${job.id}`)).body;
      return j.status === 'completed' || j.status === 'failed' ? j : undefined;
    }, 60_000, 200);
    expect(done).toMatchObject({ status: 'completed', processed: CUSTOMERS, succeeded: CUSTOMERS });
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const status of statuses.keys()) expect([0, 201, 409, 500, 503]).toContain(status);
    const rows = await database.db.selectFrom('transactions').select('idempotency_key').where('idempotency_key', 'is not', null).execute();
    const counts = new Map<string, number>();
    for (const r of rows) counts.set(r.idempotency_key as string, (counts.get(r.idempotency_key as string) ?? 0) + 1);
    for (const key of acknowledged) expect(counts.get(key), key).toBe(1);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    const jobRows = await database.db.selectFrom('transactions').select(({ fn }) => fn.countAll<number>().as('n')).where('job_id', '=', job.id).executeTakeFirstOrThrow();
    expect(Number(jobRows.n)).toBe(CUSTOMERS);

    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    const verify = spawnTally(['verify', '--store', String(store.id)], { DATABASE_URL: fresh.url });
    expect(await verify.exited, verify.output()).toBe(0);
  });

  it("frees a hung worker's job within the idle-in-transaction timeout, so another worker finishes it", async () => {
    const port = await freePort();
    const web = spawnTally(['serve', '--port', String(port), '--no-worker'], { DATABASE_URL: fresh.url, RATE_LIMIT_PER_MINUTE: '0' });
    running.push(web);
    const url = `http://127.0.0.1:${port}`;
    await until(async () => ((await fetch(`${url}/healthz`)).ok ? true : undefined));
    const job = (
      await request(`${url}/v1/bulk-adjustments`, 'POST', { selection: { all: true }, type: 'adjust', points: 1, reason: 'Hung worker' }, { authorization: `Bearer ${store.apiKey}` })
    ).body.job;
    const env = { DATABASE_URL: fresh.url, JOB_CHUNK_SIZE: '2000', PG_IDLE_TX_TIMEOUT_MS: '2000' };
    const hung = spawnTally(['worker'], env);
    running.push(hung);
    await until(async () => {
      const row = await database.db.selectFrom('jobs').select('processed').where('id', '=', job.id).executeTakeFirstOrThrow();
      return row.processed > 0 ? true : undefined;
    });
    hung.child.kill('SIGSTOP');
    const stoppedAt = Date.now();
    const rescuer = spawnTally(['worker'], env);
    running.push(rescuer);
    const done = await until(async () => {
      const row = await database.db.selectFrom('jobs').selectAll().where('id', '=', job.id).executeTakeFirstOrThrow();
      return row.status === 'completed' ? row : undefined;
    }, 45_000, 100);
    expect(Date.now() - stoppedAt).toBeLessThan(30_000);
    expect(done).toMatchObject({ processed: CUSTOMERS, succeeded: CUSTOMERS });
    hung.child.kill('SIGKILL');
    rescuer.child.kill('SIGTERM');
    web.child.kill('SIGTERM');
    const rows = await database.db
      .selectFrom('transactions')
      .select(({ fn }) => [fn.countAll<number>().as('n'), fn.count<number>('customer_id').distinct().as('customers')])
      .where('job_id', '=', job.id)
      .executeTakeFirstOrThrow();
    expect({ n: Number(rows.n), customers: Number(rows.customers) }).toEqual({ n: CUSTOMERS, customers: CUSTOMERS });
  });
});
