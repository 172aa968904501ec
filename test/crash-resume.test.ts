import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCommitter } from '../src/db/committer.js';
import { type Database, migrate, openDatabase } from '../src/db/database.js';
import { seedCustomers } from '../src/ledger/seed.js';
import { createStore } from '../src/ledger/stores.js';
import { DIALECTS, freshDatabaseUrl, type TestDatabase } from './support/databases.js';
import { freePort, spawnTally, type TallyProcess, until } from './support/process.js';
import { request } from './support/server.js';

const CUSTOMERS = 60_000;
/** Customers of the job two worker processes share (ids 1…SHARED of the seeded store). */
const SHARED = 40_000;

for (const dialect of DIALECTS) {
  describe(`${dialect}: a bulk job survives SIGKILL`, () => {
    let fresh: TestDatabase;
    let database: Database;
    let store: { id: number; apiKey: string };
    const running: TallyProcess[] = [];

    beforeAll(async () => {
      fresh = await freshDatabaseUrl(dialect);
      database = openDatabase(fresh.url);
      await migrate(database);
      const committer = createCommitter(database);
      const created = await committer.run((trx) => createStore(trx, { name: 'Crash store' }));
      store = { id: created.store.id, apiKey: created.apiKey };
      await seedCustomers(database.db, committer, store.id, CUSTOMERS);
    });
    afterAll(async () => {
      for (const p of running) p.child.kill('SIGKILL');
      await database.close();
      await fresh.drop();
    });

    async function serve(env: Record<string, string>, args: string[] = []) {
      const port = await freePort();
      const proc = spawnTally(['serve', '--port', String(port), ...args], {
        DATABASE_URL: fresh.url,
        RATE_LIMIT_PER_MINUTE: '0',
        ...env,
      });
      running.push(proc);
      const url = `http://127.0.0.1:${port}`;
      await until(async () => ((await fetch(`${url}/healthz`)).ok ? true : undefined));
      const api = (method: string, path: string, body?: unknown) =>
        request(`${url}${path}`, method, body, { authorization: `Bearer ${store.apiKey}` });
      return { proc, api };
    }

    async function jobCounts(jobId: number) {
      const row = await sql<{ n: number; customers: number }>`
        SELECT count(*) AS n, count(DISTINCT customer_id) AS customers FROM transactions WHERE job_id = ${jobId}`.execute(database.db);
      return { rows: Number(row.rows[0].n), customers: Number(row.rows[0].customers) };
    }

    it('resumes after a kill -9 mid-job and applies every customer exactly once', async () => {
      // Throttled so that the kill lands mid-job: 1,000 customers a chunk, 20,000 a second (the
      // job would take 3 s; the kill comes after about half a second).
      const first = await serve({ JOB_CHUNK_SIZE: '1000', JOB_RATE_PER_STORE: '20000' });
      const created = await first.api('POST', '/v1/bulk-adjustments', {
        selection: { all: true },
        type: 'adjust',
        points: 100,
        reason: 'Anniversary bonus',
      });
      expect(created.status).toBe(202);
      const id = created.body.job.id;
      await until(async () => {
        const job = (await first.api('GET', `/v1/jobs/${id}`)).body;
        return job.processed >= 10_000 ? job : undefined;
      });
      first.proc.child.kill('SIGKILL');
      await first.proc.exited;
      const mid = await jobCounts(id);
      expect(mid.rows).toBeGreaterThan(0);
      expect(mid.rows).toBeLessThan(CUSTOMERS);

      const second = await serve({ JOB_CHUNK_SIZE: '20000' });
      const job = await until(async () => {
        const j = (await second.api('GET', `/v1/jobs/${id}`)).body;
        return j.status === 'completed' ? j : undefined;
      }, 60_000);
      expect(job).toMatchObject({ processed: CUSTOMERS, succeeded: CUSTOMERS, skipped: 0, totalPoints: CUSTOMERS * 100 });
      expect(await jobCounts(id)).toEqual({ rows: CUSTOMERS, customers: CUSTOMERS });
      second.proc.child.kill('SIGTERM');
      await second.proc.exited;

      const verify = spawnTally(['verify', '--store', String(store.id)], { DATABASE_URL: fresh.url });
      expect(await verify.exited, verify.output()).toBe(0);
      expect(verify.output()).toContain('OK');
    });

    it.runIf(dialect === 'postgres')('shares one job between two worker processes, each customer once', async () => {
      const web = await serve({}, ['--no-worker']);
      const created = await web.api('POST', '/v1/bulk-adjustments', {
        selection: { customerIds: Array.from({ length: SHARED }, (_, i) => i + 1) },
        type: 'adjust',
        points: 1,
        reason: 'Shared by two workers',
      });
      const id = created.body.job.id;
      // Each worker paces itself, leaving gaps between its chunks for the other to take turns in.
      const env = { DATABASE_URL: fresh.url, JOB_CHUNK_SIZE: '1000', JOB_RATE_PER_STORE: '20000' };
      const workers = [spawnTally(['worker'], env), spawnTally(['worker'], env)];
      running.push(...workers);
      const seen = new Set<string>();
      const job = await until(async () => {
        const row = await database.db.selectFrom('jobs').select(['status', 'worker']).where('id', '=', id).executeTakeFirstOrThrow();
        if (row.worker) seen.add(row.worker);
        return row.status === 'completed' ? row : undefined;
      }, 60_000, 20);
      expect(job.status).toBe('completed');
      expect(seen.size).toBe(2);
      expect(await jobCounts(id)).toEqual({ rows: SHARED, customers: SHARED });
      for (const w of workers) w.child.kill('SIGTERM');
    });
  });
}
