import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCommitter } from '../src/db/committer.js';
import { type Database, openDatabase } from '../src/db/database.js';
import { SYSTEM_ACTOR } from '../src/domain/types.js';
import { JobRunner } from '../src/jobs/runner.js';
import { createBulkJob } from '../src/ledger/bulk.js';
import { verifyLedger } from '../src/ledger/verify.js';
import { DIALECTS, freshDatabaseUrl, type TestDatabase } from './support/databases.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built `tally` command (bin/tally.js → dist/) as its own process against a database. */
function tally(url: string, ...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/tally.js', ...args], {
      env: { ...process.env, DATABASE_URL: url, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * `npm run build`, once for the file (tsc run by node directly: npx would add a second to every
 * run). Not execFileSync: the build takes 20 s or more, and a worker whose event loop is blocked
 * that long cannot answer vitest's runner ("Timeout calling onTaskUpdate" after 60 s on a loaded machine).
 */
beforeAll(async () => {
  try {
    await promisify(execFile)(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json']);
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`npm run build failed:\n${stdout?.toString() ?? ''}${stderr?.toString() ?? ''}`);
  }
}, 120_000);

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

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

    it('creates stores from two processes started at once on a new database (migration lock), printing exactly the contract', async () => {
      const [one, two] = await Promise.all([
        tally(fresh.url, 'store', 'create', '--name', 'First', '--json'),
        tally(fresh.url, 'store', 'create', '--name', 'Second', '--owner-email', 'owner@example.com', '--owner-password', 'correct horse', '--json'),
      ]);
      expect(one.code, one.stderr).toBe(0);
      expect(two.code, two.stderr).toBe(0);
      const created = [one, two].map((r) => JSON.parse(r.stdout));
      for (const [i, c] of created.entries()) {
        expect(Object.keys(c).sort()).toEqual(['apiKey', 'store', 'storefrontSecret']);
        expect(Object.keys(c.store).sort()).toEqual(['id', 'name']);
        expect(c.store).toEqual({ id: expect.any(Number), name: i === 0 ? 'First' : 'Second' });
        expect(c.apiKey).toMatch(/^tally_[\w-]{20,}$/);
        expect(typeof c.storefrontSecret).toBe('string');
        expect([one, two][i].stdout).toBe(`${JSON.stringify(c)}\n`);
      }
      expect(created.map((c) => c.store.id).sort()).toEqual([1, 2]);

      database = openDatabase(fresh.url);
      const keys = await database.db.selectFrom('api_keys').selectAll().orderBy('store_id').execute();
      expect(keys).toHaveLength(2);
      for (const c of created) {
        expect(JSON.stringify(keys)).not.toContain(c.apiKey);
        expect(keys.find((k) => k.store_id === c.store.id)?.key_hash).toBe(sha256(c.apiKey));
      }
      const users = await database.db.selectFrom('users').select(['email', 'password_hash', 'role']).execute();
      expect(users).toHaveLength(1);
      expect(users[0]).toMatchObject({ email: 'owner@example.com', role: 'owner' });
      expect(users[0].password_hash).not.toContain('correct horse');
      const migrations = await sql<{ n: number }>`SELECT count(*) AS n FROM kysely_migration`.execute(database.db);
      expect(Number(migrations.rows[0].n)).toBeGreaterThan(0);
    });

    it('seeds 2,000 customers whose balances the ledger backs, and verify exits 0 printing OK', async () => {
      const seeded = await tally(fresh.url, 'seed', '--store', '1', '--customers', '2000');
      expect(seeded.code, seeded.stderr).toBe(0);
      expect(seeded.stdout).toContain('Seeded 2000 customers');
      const stats = await sql<{ n: number; zero: number; names: number }>`
        SELECT count(*) AS n, sum(CASE WHEN balance = 0 THEN 1 ELSE 0 END) AS zero, count(DISTINCT first_name) AS names
        FROM customers WHERE store_id = 1`.execute(database.db);
      expect(Number(stats.rows[0].n)).toBe(2000);
      expect(Number(stats.rows[0].zero)).toBeGreaterThan(0);
      expect(Number(stats.rows[0].names)).toBeGreaterThan(10);
      const verify = await tally(fresh.url, 'verify');
      expect(verify.code, verify.stdout + verify.stderr).toBe(0);
      expect(verify.stdout).toMatch(/^OK: 2 store\(s\), 2000 customers, \d+ transactions, 0 violation\(s\)$/m);
    });

    it('exits 1 naming balance_matches_ledger (and lifetime_matches_ledger) when cached totals disagree with the ledger', async () => {
      const first = sql`(SELECT min(id) FROM customers WHERE store_id = 1 AND balance > 0)`;
      const last = sql`(SELECT max(id) FROM customers WHERE store_id = 1)`;
      await sql`UPDATE customers SET balance = balance + 1 WHERE id = ${first}`.execute(database.db);
      await sql`UPDATE customers SET lifetime_points = lifetime_points + 5 WHERE id = ${last}`.execute(database.db);
      const verify = await tally(fresh.url, 'verify');
      expect(verify.code).toBe(1);
      expect(verify.stdout).toMatch(/^VIOLATION balance_matches_ledger store=1 customer=\d+/m);
      expect(verify.stdout).toMatch(/^VIOLATION lifetime_matches_ledger store=1 customer=\d+/m);
      // The balance no longer matches its point lots either.
      expect(verify.stdout).toMatch(/^VIOLATION lots_match_balance store=1 customer=\d+/m);
      expect(verify.stdout).toMatch(/^FAILED: .* 3 violation\(s\)$/m);
      const json = await tally(fresh.url, 'verify', '--store', '1', '--json');
      expect(json.code).toBe(1);
      expect(JSON.parse(json.stdout).violations.map((v: { check: string }) => v.check).sort()).toEqual(['balance_matches_ledger', 'lifetime_matches_ledger', 'lots_match_balance']);
      await sql`UPDATE customers SET balance = balance - 1 WHERE id = ${first}`.execute(database.db);
      await sql`UPDATE customers SET lifetime_points = lifetime_points - 5 WHERE id = ${last}`.execute(database.db);
      expect((await tally(fresh.url, 'verify')).code).toBe(0);
    });

    it('follows a job to its end with jobs watch', async () => {
      const committer = createCommitter(database);
      const job = await committer.run((trx) =>
        createBulkJob(trx, 1, { selection: { all: true }, type: 'adjust', points: 3, reason: 'Watched from the CLI' }, SYSTEM_ACTOR),
      );
      const watching = tally(fresh.url, 'jobs', 'watch', String(job.id), '--store', '1');
      await new JobRunner(database.db, committer, { chunkSize: 500 }).runJob(job.id);
      const watched = await watching;
      expect(watched.code, watched.stderr).toBe(0);
      expect(watched.stdout + watched.stderr).toContain(`job ${job.id} (bulk_adjustment): 2000/2000 (100%)`);
      expect(JSON.parse(watched.stdout.trim().split('\n').at(-1)!)).toMatchObject({ id: job.id, status: 'completed', processed: 2000 });
      expect((await verifyLedger(database.db)).violations).toEqual([]);
    });

    it('runs an expiry now with tally expire, once: the sample customers inactive for over 400 days lose their points', async () => {
      await sql`UPDATE stores SET expiry_mode = 'inactivity', expiry_days = 400 WHERE id = 1`.execute(database.db);
      const first = await tally(fresh.url, 'expire', '--store', '1', '--json');
      expect(first.code, first.stderr).toBe(0);
      const { job } = JSON.parse(first.stdout);
      expect(job).toMatchObject({ kind: 'expiry', status: 'completed' });
      expect(job.totalPoints).toBeLessThan(0);
      const again = JSON.parse((await tally(fresh.url, 'expire', '--store', '1', '--json')).stdout);
      expect(again.job.totalPoints).toBe(0);
      expect((await verifyLedger(database.db)).violations).toEqual([]);
      await sql`UPDATE stores SET expiry_mode = 'none', expiry_days = NULL WHERE id = 1`.execute(database.db);
    });

    it('rejects bad arguments with a message and a non-zero exit, writing nothing', async () => {
      const bad = await tally(fresh.url, 'seed', '--store', 'x', '--customers', '10');
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toMatch(/store must be a whole number/);
      const noName = await tally(fresh.url, 'store', 'create', '--name', '   ', '--json');
      expect(noName.code).not.toBe(0);
      expect(noName.stdout).toBe('');
      expect(noName.stderr).toContain('validation_error');
      const stores = await database.db.selectFrom('stores').select('id').execute();
      expect(stores).toHaveLength(2);
    });
  });
}
