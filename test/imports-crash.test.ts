import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCommitter } from '../src/db/committer.js';
import { type Database, migrate, openDatabase } from '../src/db/database.js';
import { createStore } from '../src/ledger/stores.js';
import { DIALECTS, freshDatabaseUrl, type TestDatabase } from './support/databases.js';
import { freePort, spawnTally, type TallyProcess, until } from './support/process.js';
import { request } from './support/server.js';

const MEMBERS = 10_000;
const PER_MEMBER = 4;
const ROWS = MEMBERS * PER_MEMBER;

/**
 * A points history from another app: four rows per member, oldest first, one of them a deduction
 * and the last a credit still pending (available in a month).
 */
function historyFile(): string {
  const lines = ['externalId,points,tierPoints,createdAt,reference,availableAt'];
  const later = new Date(Date.now() + 30 * 86_400_000).toISOString();
  for (let day = 0; day < PER_MEMBER; day++) {
    const at = new Date(Date.UTC(2024, 0, 1 + day)).toISOString();
    const points = day === 2 ? -5 : 10;
    const availableAt = day === PER_MEMBER - 1 ? later : '';
    for (let m = 0; m < MEMBERS; m++) lines.push(`crash-${m},${points},${points},${at},r-${m}-${day},${availableAt}`);
  }
  return `${lines.join('\n')}\n`;
}

for (const dialect of DIALECTS) {
  describe(`${dialect}: an import job survives SIGKILL`, () => {
    let fresh: TestDatabase;
    let database: Database;
    let store: { id: number; apiKey: string };
    const running: TallyProcess[] = [];

    beforeAll(async () => {
      fresh = await freshDatabaseUrl(dialect);
      database = openDatabase(fresh.url);
      await migrate(database);
      const created = await createCommitter(database).run((trx) => createStore(trx, { name: 'Import crash store' }));
      store = { id: created.store.id, apiKey: created.apiKey };
    });
    afterAll(async () => {
      for (const p of running) p.child.kill('SIGKILL');
      await database.close();
      await fresh.drop();
    });

    async function serve(env: Record<string, string>) {
      const port = await freePort();
      const proc = spawnTally(['serve', '--port', String(port)], { DATABASE_URL: fresh.url, RATE_LIMIT_PER_MINUTE: '0', ...env });
      running.push(proc);
      const url = `http://127.0.0.1:${port}`;
      await until(async () => ((await fetch(`${url}/healthz`)).ok ? true : undefined));
      const api = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
        request(`${url}${path}`, method, body, { authorization: `Bearer ${store.apiKey}`, ...headers });
      return { proc, api };
    }

    async function jobRows(jobId: number) {
      const r = await sql<{ n: number; lines: number }>`
        SELECT count(*) AS n, count(DISTINCT job_line) AS lines FROM transactions WHERE job_id = ${jobId}`.execute(database.db);
      return { rows: Number(r.rows[0].n), lines: Number(r.rows[0].lines) };
    }

    it('resumes after a kill -9 mid-apply and applies every file line exactly once, its pending credits too', async () => {
      // Throttled so that the kill lands while rows are being applied.
      const first = await serve({ JOB_CHUNK_SIZE: '2000', JOB_RATE_PER_STORE: '20000' });
      const created = await first.api('POST', '/v1/imports?type=history&reason=Migration', historyFile(), { 'content-type': 'text/csv' });
      expect(created.status, created.text).toBe(202);
      const id = created.body.job.id;
      await until(async () => {
        const job = (await first.api('GET', `/v1/jobs/${id}`)).body;
        return job.succeeded >= 10_000 ? job : undefined;
      }, 60_000);
      first.proc.child.kill('SIGKILL');
      await first.proc.exited;
      const mid = await jobRows(id);
      expect(mid.rows).toBeGreaterThan(0);
      expect(mid.rows).toBeLessThan(ROWS);

      const second = await serve({ JOB_CHUNK_SIZE: '20000' });
      const job = await until(async () => {
        const j = (await second.api('GET', `/v1/jobs/${id}`)).body;
        return j.status === 'completed' ? j : undefined;
      }, 120_000);
      expect(job).toMatchObject({ total: ROWS, processed: ROWS, succeeded: ROWS, failed: 0, totalPoints: MEMBERS * 15 });
      expect(await jobRows(id)).toEqual({ rows: ROWS, lines: ROWS });
      const totals = await sql<{ n: number; balance: number; lifetime: number; pending: number; credits: number }>`
        SELECT count(*) AS n, sum(balance) AS balance, sum(lifetime_points) AS lifetime, sum(pending_points) AS pending,
               (SELECT count(*) FROM pending_credits WHERE store_id = ${store.id}) AS credits
        FROM customers WHERE store_id = ${store.id}`.execute(database.db);
      expect(totals.rows[0]).toMatchObject({ n: MEMBERS });
      expect(Number(totals.rows[0].balance)).toBe(MEMBERS * 15);
      expect(Number(totals.rows[0].lifetime)).toBe(MEMBERS * 15);
      expect(Number(totals.rows[0].pending)).toBe(MEMBERS * 10);
      expect(Number(totals.rows[0].credits)).toBe(MEMBERS);
      // The staged rows go once the job is shown completed, by the runner's sweep.
      await until(async () => {
        const staged = await sql<{ n: number }>`SELECT count(*) AS n FROM import_rows`.execute(database.db);
        return Number(staged.rows[0].n) === 0 ? true : undefined;
      });
      second.proc.child.kill('SIGTERM');
      await second.proc.exited;

      const verify = spawnTally(['verify', '--store', String(store.id)], { DATABASE_URL: fresh.url });
      expect(await verify.exited, verify.output()).toBe(0);
      expect(verify.output()).toContain('OK');
    }, 240_000);
  });
}
