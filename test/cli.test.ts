import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCommitter } from '../src/db/committer.js';
import { type Database, openDatabase } from '../src/db/database.js';
import { SYSTEM_ACTOR } from '../src/domain/types.js';
import { JobRunner } from '../src/jobs/runner.js';
import { createBulkJob } from '../src/ledger/bulk.js';
import { DIALECTS, freshDatabaseUrl, type TestDatabase } from './support/databases.js';
import { spawnTally } from './support/process.js';

async function tally(url: string, ...args: string[]) {
  const p = spawnTally(args, { DATABASE_URL: url });
  const code = await p.exited;
  return { code, out: p.output() };
}

for (const dialect of DIALECTS) {
  describe(`${dialect}: the tally CLI`, () => {
    let fresh: TestDatabase;
    let database: Database;
    beforeAll(async () => {
      fresh = await freshDatabaseUrl(dialect);
    });
    afterAll(async () => {
      await database?.close();
      await fresh.drop();
    });

    it('creates stores from two processes at once on a new database (migration lock), printing exactly the contract', async () => {
      const [one, two] = await Promise.all([
        tally(fresh.url, 'store', 'create', '--name', 'First', '--json'),
        tally(fresh.url, 'store', 'create', '--name', 'Second', '--owner-email', 'owner@example.com', '--owner-password', 'correct horse', '--json'),
      ]);
      expect(one.code, one.out).toBe(0);
      expect(two.code, two.out).toBe(0);
      const created = JSON.parse(one.out);
      expect(Object.keys(created).sort()).toEqual(['apiKey', 'store', 'storefrontSecret']);
      expect(Object.keys(created.store).sort()).toEqual(['id', 'name']);
      expect(created.store.name).toBe('First');
      database = openDatabase(fresh.url);
      const keys = await database.db.selectFrom('api_keys').select('key_hash').execute();
      expect(keys).toHaveLength(2);
      expect(keys.some((k) => k.key_hash === created.apiKey)).toBe(false);
      const users = await database.db.selectFrom('users').select(['email', 'password_hash', 'role']).execute();
      expect(users).toHaveLength(1);
      expect(users[0]).toMatchObject({ email: 'owner@example.com', role: 'owner' });
      expect(users[0].password_hash).not.toContain('correct horse');
    });

    it('seeds sample customers whose balances the ledger backs, and verify says OK', async () => {
      const seeded = await tally(fresh.url, 'seed', '--store', '1', '--customers', '3000');
      expect(seeded.code, seeded.out).toBe(0);
      const stats = await sql<{ n: number; zero: number; names: number }>`
        SELECT count(*) AS n, sum(CASE WHEN balance = 0 THEN 1 ELSE 0 END) AS zero, count(DISTINCT first_name) AS names
        FROM customers WHERE store_id = 1`.execute(database.db);
      expect(Number(stats.rows[0].n)).toBe(3000);
      expect(Number(stats.rows[0].zero)).toBeGreaterThan(0);
      expect(Number(stats.rows[0].names)).toBeGreaterThan(10);
      const verify = await tally(fresh.url, 'verify');
      expect(verify.code, verify.out).toBe(0);
      expect(verify.out).toMatch(/^OK: 2 store\(s\), 3000 customers/m);
    });

    it('exits non-zero and names the broken invariant when a cached balance disagrees with the ledger', async () => {
      await sql`UPDATE customers SET balance = balance + 1 WHERE id = (SELECT min(id) FROM customers WHERE store_id = 1)`.execute(database.db);
      const verify = await tally(fresh.url, 'verify', '--store', '1');
      expect(verify.code).toBe(1);
      expect(verify.out).toContain('balance_matches_ledger');
      await sql`UPDATE customers SET balance = balance - 1 WHERE id = (SELECT min(id) FROM customers WHERE store_id = 1)`.execute(database.db);
      expect((await tally(fresh.url, 'verify', '--store', '1')).code).toBe(0);
    });

    it('follows a job to its end with jobs watch', async () => {
      const committer = createCommitter(database);
      const job = await committer.run((trx) =>
        createBulkJob(trx, 1, { selection: { all: true }, type: 'adjust', points: 3, reason: 'Watched from the CLI' }, SYSTEM_ACTOR),
      );
      const watching = tally(fresh.url, 'jobs', 'watch', String(job.id), '--store', '1');
      await new JobRunner(database.db, committer, { chunkSize: 500 }).runJob(job.id);
      const watched = await watching;
      expect(watched.code, watched.out).toBe(0);
      expect(watched.out).toContain(`job ${job.id} (bulk_adjustment): 3000/3000 (100%)`);
      expect(JSON.parse(watched.out.trim().split('\n').at(-1)!)).toMatchObject({ id: job.id, status: 'completed', processed: 3000 });
      expect((await tally(fresh.url, 'verify')).code).toBe(0);
    });

    it('rejects bad arguments with a message and a non-zero exit', async () => {
      const bad = await tally(fresh.url, 'seed', '--store', 'x', '--customers', '10');
      expect(bad.code).not.toBe(0);
      expect(bad.out).toMatch(/store must be a whole number/);
      const noName = await tally(fresh.url, 'store', 'create', '--name', '   ', '--json');
      expect(noName.code).not.toBe(0);
      expect(noName.out).toContain('validation_error');
    });
  });
}
