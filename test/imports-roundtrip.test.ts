import { mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createCommitter } from '../src/db/committer.js';
import { seedCustomers } from '../src/ledger/seed.js';
import { DIALECTS } from './support/databases.js';
import { aCustomer } from './support/fixtures.js';
import { spawnTally, until } from './support/process.js';
import { type TestStore, useServer, waitForJob } from './support/server.js';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const dialect of DIALECTS) {
  describe(`${dialect}: imports round trips, interrupted uploads and the CLI`, () => {
    const ctx = useServer(dialect);

    async function importFile(as: TestStore, type: string, body: string) {
      const res = await as.api('POST', `/v1/imports?type=${type}`, body, { 'content-type': 'text/csv' });
      expect(res.status, res.text).toBe(202);
      const job = await waitForJob(as, res.body.job.id, 60_000);
      expect(job.status).toBe('completed');
      return job;
    }
    /** Every customer of a store by how another store knows them (external id, else e-mail). */
    async function byIdentity(as: TestStore, at?: string) {
      const out = new Map<string, { balance: number; lifetime: number }>();
      // Members with a history: a transactions export knows no others.
      const rows = await ctx.server.database.db
        .selectFrom('customers')
        .select(['id', 'external_id', 'email', 'balance', 'lifetime_points'])
        .where('store_id', '=', as.id)
        .where(sql<boolean>`EXISTS (SELECT 1 FROM transactions t WHERE t.customer_id = customers.id)`)
        .execute();
      for (const r of rows) {
        let totals = { balance: Number(r.balance), lifetime: Number(r.lifetime_points) };
        if (at) {
          const b = (await as.api('GET', `/v1/customers/${r.id}/balance?at=${encodeURIComponent(at)}`)).body;
          totals = { balance: b.balance, lifetime: b.lifetimePoints };
        }
        out.set(r.external_id ?? `mail:${r.email}`, totals);
      }
      return out;
    }

    async function sourceStore() {
      const source = await ctx.server.newStore('Source');
      await seedCustomers(ctx.server.database.db, createCommitter(ctx.server.database), source.id, 120);
      const a = await aCustomer(source, { email: 'rt-a@example.com', firstName: 'Ada', balance: 300 });
      const b = await aCustomer(source, { externalId: 'rt-b', balance: 50 });
      await pause(5);
      const moments = [new Date().toISOString()];
      await pause(5);
      await source.api('POST', `/v1/customers/${a.id}/adjustments`, { points: -120, reason: 'Spent, formula-like =1+1' });
      await source.api('POST', `/v1/customers/${b.id}/adjustments`, { points: 25, reason: 'Bonus', affectsTier: false });
      await pause(5);
      moments.push(new Date().toISOString());
      await pause(5);
      const spent = await source.api('POST', `/v1/customers/${b.id}/adjustments`, { points: -70, reason: 'Spent all' });
      expect(spent.status).toBe(201);
      await source.api('POST', `/v1/transactions/${spent.body.transaction.id}/reverse`, { reason: 'Refunded' });
      return { source, moments };
    }

    it('copies a store: its customers export imported with type=set reproduces every balance', async () => {
      const { source } = await sourceStore();
      const file = (await source.api('GET', '/v1/customers/export.csv')).text;
      const copy = await ctx.server.newStore('Copy by set');
      const job = await importFile(copy, 'set', file);
      expect(job.failed).toBe(0);
      const want = await byIdentity(source);
      const got = await byIdentity(copy);
      const all = await ctx.server.database.db.selectFrom('customers').select(sql<number>`count(*)`.as('n')).where('store_id', '=', copy.id).executeTakeFirstOrThrow();
      const sourceAll = await ctx.server.database.db.selectFrom('customers').select(sql<number>`count(*)`.as('n')).where('store_id', '=', source.id).executeTakeFirstOrThrow();
      expect(Number(all.n)).toBe(Number(sourceAll.n));
      for (const [who, totals] of want) expect(got.get(who)?.balance, who).toBe(totals.balance);
    });

    it('restores a store: its transactions export imported with type=history reproduces balances, lifetime totals and balances as of the past', async () => {
      const { source, moments } = await sourceStore();
      const file = (await source.api('GET', '/v1/transactions/export.csv')).text;
      const copy = await ctx.server.newStore('Copy by history');
      const job = await importFile(copy, 'history', file);
      expect(job.failed).toBe(0);
      expect(await byIdentity(copy)).toEqual(await byIdentity(source));
      for (const at of moments) expect(await byIdentity(copy, at)).toEqual(await byIdentity(source, at));
      // Imported again, the file is refused row by row: the members now have a history.
      const again = await importFile(copy, 'history', file);
      expect(again).toMatchObject({ succeeded: 0 });
      expect(again.failed).toBe(again.total);
    });

    it('restores a store with VIP tiers by history without granting its entry rewards twice', async () => {
      const tiers = [{ name: 'Silver', threshold: 1000, entryReward: { points: 50 } }, { name: 'Gold', threshold: 3000, entryReward: { points: 200 } }];
      const source = await ctx.server.newStore('Tiered source');
      expect((await source.api('PUT', '/v1/tiers', tiers)).status).toBe(200);
      await seedCustomers(ctx.server.database.db, createCommitter(ctx.server.database), source.id, 60);
      const file = (await source.api('GET', '/v1/transactions/export.csv')).text;
      expect(file).toContain('tier_reward');
      const copy = await ctx.server.newStore('Tiered copy');
      expect((await copy.api('PUT', '/v1/tiers', tiers)).status).toBe(200);
      const job = await importFile(copy, 'history', file);
      expect(job.failed).toBe(0);
      expect(await byIdentity(copy)).toEqual(await byIdentity(source));
      const rewards = async (s: TestStore) =>
        Number((await sql<{ n: number }>`SELECT count(*) AS n FROM transactions WHERE store_id = ${s.id} AND type = 'tier_reward'`.execute(ctx.server.database.db)).rows[0].n);
      expect(await rewards(copy)).toBe(await rewards(source));
      const tiered = async (s: TestStore) =>
        (await sql<{ n: number }>`SELECT count(*) AS n FROM customers WHERE store_id = ${s.id} AND tier_id IS NOT NULL`.execute(ctx.server.database.db)).rows[0].n;
      expect(Number(await tiered(copy))).toBe(Number(await tiered(source)));
    });

    it('writes nothing for an upload that breaks off', async () => {
      const s = await ctx.server.newStore('Interrupted');
      await aCustomer(s, { email: 'cut@example.com' });
      const before = await sql<{ n: number }>`SELECT count(*) AS n FROM transactions`.execute(ctx.server.database.db);
      const url = new URL(`${ctx.server.url}/v1/imports?type=add`);
      await new Promise<void>((resolve) => {
        const req = httpRequest(url, { method: 'POST', headers: { authorization: `Bearer ${s.apiKey}`, 'content-type': 'text/csv' } });
        req.on('error', () => resolve());
        req.write(`email,points\n${'cut@example.com,1\n'.repeat(5000)}`);
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 300);
      });
      await until(async () => {
        const left = await sql<{ n: number }>`SELECT (SELECT count(*) FROM import_rows WHERE store_id = ${s.id}) + (SELECT count(*) FROM jobs WHERE store_id = ${s.id}) AS n`.execute(ctx.server.database.db);
        return Number(left.rows[0].n) === 0 ? true : undefined;
      }, 20_000);
      const after = await sql<{ n: number }>`SELECT count(*) AS n FROM transactions`.execute(ctx.server.database.db);
      expect(Number(after.rows[0].n)).toBe(Number(before.rows[0].n));
    });

    it('imports from the command line with the same service, previewing with --dry-run', async () => {
      const s = await ctx.server.newStore('CLI import');
      const a = await aCustomer(s, { email: 'cli@example.com', balance: 5 });
      const dir = mkdtempSync(join(tmpdir(), 'tally-import-'));
      const file = join(dir, 'points.csv');
      writeFileSync(file, 'email,points\ncli@example.com,20\nnobody@example.com,1\n');
      const env = { DATABASE_URL: ctx.server.database.url };
      const dry = spawnTally(['import', file, '--store', String(s.id), '--type', 'add', '--dry-run'], env);
      expect(await dry.exited, dry.output()).toBe(0);
      expect(dry.output()).toContain('"valid":1');
      expect((await s.api('GET', `/v1/customers/${a.id}`)).body.balance).toBe(5);
      const run = spawnTally(['import', file, '--store', String(s.id), '--type', 'add', '--reason', 'From the CLI'], env);
      expect(await run.exited, run.output()).toBe(0);
      expect(run.output()).toMatch(/"status":"completed".*"succeeded":1.*"failed":1/);
      expect((await s.api('GET', `/v1/customers/${a.id}`)).body.balance).toBe(25);
      const bad = spawnTally(['import', file, '--store', String(s.id), '--type', 'nonsense'], env);
      expect(await bad.exited).toBe(2);
      expect(bad.output()).toContain('validation_error');
    }, 60_000);
  });
}
