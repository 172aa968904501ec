import fc from 'fast-check';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { tierFor } from '../src/domain/tiers.js';
import { tierForSql } from '../src/domain/tiers-sql.js';
import { DIALECTS } from './support/databases.js';
import { aCustomer } from './support/fixtures.js';
import { type TestStore, useServer, waitForJob } from './support/server.js';

const TIERS = [
  { name: 'Silver', threshold: 1000, entryReward: { points: 100 } },
  { name: 'Gold', threshold: 5000, entryReward: { points: 500 } },
  { name: 'Platinum', threshold: 20000 },
];

async function adjust(store: TestStore, id: number, points: number, extra: Record<string, unknown> = {}) {
  const res = await store.api('POST', `/v1/customers/${id}/adjustments`, { points, reason: 'Test change', ...extra });
  expect(res.status, res.text).toBe(201);
  return res.body.customer;
}

async function rewardRows(store: TestStore, id: number): Promise<number[]> {
  const page = await store.api('GET', `/v1/customers/${id}/transactions?limit=500`);
  return page.body.data.filter((t: { type: string }) => t.type === 'tier_reward').map((t: { points: number }) => t.points);
}

async function withTiers(store: TestStore, tiers: unknown[] = TIERS) {
  const res = await store.api('PUT', '/v1/tiers', tiers);
  expect(res.status, res.text).toBe(200);
  if (res.body.job) await waitForJob(store, res.body.job.id);
  return res.body.data as { id: number; name: string }[];
}

async function manyCustomers(store: TestStore, n: number, balance: number): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < n; i += 100) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(100, n - i) }, () => aCustomer(store, { balance })),
    );
    ids.push(...batch.map((c) => c.id));
  }
  return ids;
}

for (const dialect of DIALECTS) {
  describe(`${dialect}: VIP tiers`, () => {
    const ctx = useServer(dialect);

    it('lifts a customer into the tier their lifetime points reach, with its entry reward once, and keeps it when they drop', async () => {
      const store = await ctx.server.newStore();
      const tiers = await withTiers(store);
      const c = await aCustomer(store);
      const up = await adjust(store, c.id, 1200);
      expect(up.tier).toEqual({ id: tiers[0].id, name: 'Silver' });
      expect(up.balance).toBe(1300);
      expect(up.lifetimePoints).toBe(1200);
      expect(up.tierChangedAt).not.toBeNull();
      const down = await adjust(store, c.id, -500);
      expect(down.tier).toBeNull();
      expect(down.balance).toBe(800);
      const again = await adjust(store, c.id, 600);
      expect(again.tier?.name).toBe('Silver');
      expect(again.balance).toBe(1400);
      expect(await rewardRows(store, c.id)).toEqual([100]);
      const history = await store.api('GET', `/v1/customers/${c.id}/tier-history`);
      expect(history.body.data.map((h: { toTier: { name: string } | null }) => h.toTier?.name ?? null)).toEqual(['Silver', null, 'Silver']);
    });

    it('leaves the tier alone for a credit that does not affect tiers', async () => {
      const store = await ctx.server.newStore();
      await withTiers(store);
      const c = await aCustomer(store);
      const after = await adjust(store, c.id, 6000, { affectsTier: false });
      expect(after.tier).toBeNull();
      expect(after.lifetimePoints).toBe(0);
    });

    it('grants exactly 1,000 entry rewards when a bulk +500 lifts 1,000 customers into Gold, and none when it runs again', async () => {
      const store = await ctx.server.newStore();
      await withTiers(store);
      const ids = await manyCustomers(store, 1000, 4600);
      const bulk = async () => {
        const res = await store.api('POST', '/v1/bulk-adjustments', { selection: { all: true }, type: 'adjust', points: 500, reason: 'Summer bonus' });
        expect(res.status, res.text).toBe(202);
        return waitForJob(store, res.body.job.id);
      };
      const preview = await store.api('POST', '/v1/bulk-adjustments', { selection: { all: true }, type: 'adjust', points: 500, reason: 'Summer bonus', dryRun: true });
      expect(preview.body.preview).toMatchObject({ customers: 1000, tierUps: 1000, tierDowns: 0 });
      expect((await bulk()).status).toBe('completed');
      const rewards = async () =>
        Number((await sql<{ n: number }>`SELECT count(*) AS n FROM transactions WHERE store_id = ${store.id} AND type = 'tier_reward' AND points = 500`.execute(ctx.server.database.db)).rows[0].n);
      expect(await rewards()).toBe(1000);
      const gold = await sql<{ n: number }>`SELECT count(*) AS n FROM customers c JOIN tiers t ON t.id = c.tier_id WHERE c.store_id = ${store.id} AND t.name = 'Gold'`.execute(ctx.server.database.db);
      expect(Number(gold.rows[0].n)).toBe(1000);
      // Silver's reward came with the opening balances (4,600 points): one per customer, too.
      expect((await rewardRows(store, ids[0])).sort()).toEqual([100, 500]);
      expect((await bulk()).status).toBe('completed');
      expect(await rewards()).toBe(1000);
    });

    it('previews exactly the tier moves a bulk job then makes, up and down, none for a manual tier or a skipped customer', async () => {
      const store = await ctx.server.newStore();
      const tiers = await withTiers(store);
      const rank = (tier: { name: string } | null) => (tier ? TIERS.find((t) => t.name === tier.name)!.threshold : -1);
      const customers: { id: number }[] = [];
      for (const balance of [500, 1200, 1200, 4600, 5500, 300, 19_500]) customers.push(await aCustomer(store, { balance }));
      const manual = await store.api('PUT', `/v1/customers/${customers[2].id}/tier`, { tierId: tiers[1].id, reason: 'Held by hand' });
      expect(manual.status, manual.text).toBe(200);
      const tiersNow = async () => Promise.all(customers.map(async (c) => rank((await store.api('GET', `/v1/customers/${c.id}`)).body.tier)));
      let moved = 0;
      for (const points of [-700, 700]) {
        const body = { selection: { all: true }, type: 'adjust', points, reason: 'Tier preview check' };
        const preview = await store.api('POST', '/v1/bulk-adjustments', { ...body, dryRun: true });
        expect(preview.status, preview.text).toBe(200);
        const before = await tiersNow();
        const job = await store.api('POST', '/v1/bulk-adjustments', body);
        expect((await waitForJob(store, job.body.job.id)).status).toBe('completed');
        const after = await tiersNow();
        const ups = after.filter((r, i) => r > before[i]).length;
        const downs = after.filter((r, i) => r < before[i]).length;
        expect(preview.body.preview).toMatchObject({ tierUps: ups, tierDowns: downs });
        moved += ups + downs;
      }
      expect(moved).toBeGreaterThan(0);
    });

    it('holds a manual downgrade through later credits until it is cleared', async () => {
      const store = await ctx.server.newStore();
      const tiers = await withTiers(store);
      const c = await aCustomer(store, { balance: 6000 });
      expect(c.tier?.name).toBe('Gold');
      const set = await store.api('PUT', `/v1/customers/${c.id}/tier`, { tierId: tiers[0].id, reason: 'Chargeback review' });
      expect(set.status, set.text).toBe(200);
      expect(set.body.customer).toMatchObject({ tier: { name: 'Silver' }, tierManual: true });
      const after = await adjust(store, c.id, 20_000);
      expect(after.tier.name).toBe('Silver');
      const cleared = await store.api('PUT', `/v1/customers/${c.id}/tier`, { tierId: null, reason: 'Review done' });
      expect(cleared.body.customer).toMatchObject({ tier: { name: 'Platinum' }, tierManual: false });
      // Gold was entered before: no second Gold reward; Platinum has none.
      expect((await rewardRows(store, c.id)).sort()).toEqual([100, 500]);
      const history = (await store.api('GET', `/v1/customers/${c.id}/tier-history`)).body.data;
      expect(history[1]).toMatchObject({ manual: true, reason: 'Chargeback review', toTier: { name: 'Silver' } });
    });

    it('grants a manual upgrade its entry reward once', async () => {
      const store = await ctx.server.newStore();
      const tiers = await withTiers(store);
      const c = await aCustomer(store, { balance: 10 });
      const set = await store.api('PUT', `/v1/customers/${c.id}/tier`, { tierId: tiers[1].id, reason: 'Influencer' });
      expect(set.body.customer).toMatchObject({ tier: { name: 'Gold' }, balance: 510 });
      expect(await rewardRows(store, c.id)).toEqual([500]);
    });

    it('gives a coupon of the reward as the entry reward of a tier that names one, once', async () => {
      const store = await ctx.server.newStore();
      const reward = await store.api('POST', '/v1/rewards', { name: 'VIP gift', pointsCost: 0, kind: 'free_shipping' });
      expect(reward.status, reward.text).toBe(201);
      await withTiers(store, [{ name: 'VIP', threshold: 500, entryReward: { rewardId: reward.body.reward.id } }]);
      const c = await aCustomer(store, { balance: 600 });
      expect(c.tier?.name).toBe('VIP');
      await adjust(store, c.id, -200);
      await adjust(store, c.id, 300);
      const coupons = (await store.api('GET', `/v1/customers/${c.id}/coupons`)).body.data;
      expect(coupons).toHaveLength(1);
      expect(coupons[0]).toMatchObject({ source: 'tier_entry', rewardId: reward.body.reward.id, transactionId: null });
      expect(coupons[0].code).toMatch(/^[ACDEFGHJKMNPQRTUVWXYZ234679]{12}$/);
    });

    it('re-evaluates every customer as a job when the tier table changes, granting only new entries', async () => {
      const store = await ctx.server.newStore();
      await withTiers(store);
      const ids = await manyCustomers(store, 30, 3000);
      const res = await store.api('PUT', '/v1/tiers', [
        { name: 'Silver', threshold: 1000, entryReward: { points: 100 } },
        { name: 'Gold', threshold: 2500, entryReward: { points: 500 } },
      ]);
      expect(res.body.job.kind).toBe('tier_evaluation');
      const job = await waitForJob(store, res.body.job.id);
      expect(job).toMatchObject({ status: 'completed', processed: 30 });
      const c = (await store.api('GET', `/v1/customers/${ids[7]}`)).body;
      expect(c.tier.name).toBe('Gold');
      expect(c.balance).toBe(3600);
      // Lowering Gold back leaves them where the points say, and grants nothing.
      const back = await store.api('PUT', '/v1/tiers', [{ name: 'Silver', threshold: 1000, entryReward: { points: 100 } }]);
      await waitForJob(store, back.body.job.id);
      const again = (await store.api('GET', `/v1/customers/${ids[7]}`)).body;
      expect(again).toMatchObject({ tier: { name: 'Silver' }, balance: 3600 });
      expect((await store.api('GET', '/v1/tiers')).body.data.map((t: { name: string }) => t.name)).toEqual(['Silver']);
    });

    it('refuses a tier table with two tiers of one name or one threshold, and a manual tier of another store', async () => {
      const store = await ctx.server.newStore();
      const dup = await store.api('PUT', '/v1/tiers', [{ name: 'A', threshold: 1 }, { name: 'a', threshold: 2 }]);
      expect(dup.status).toBe(422);
      const same = await store.api('PUT', '/v1/tiers', [{ name: 'A', threshold: 1 }, { name: 'B', threshold: 1 }]);
      expect(same.status).toBe(422);
      const other = await ctx.server.newStore();
      const theirs = await withTiers(other);
      const c = await aCustomer(store);
      const res = await store.api('PUT', `/v1/customers/${c.id}/tier`, { tierId: theirs[0].id, reason: 'Not mine' });
      expect(res.status).toBe(404);
    });

    it('places customers in a tier from 0 points as soon as they are created', async () => {
      const store = await ctx.server.newStore();
      await withTiers(store, [{ name: 'Member', threshold: 0 }, ...TIERS]);
      const c = await aCustomer(store);
      expect(c.tier?.name).toBe('Member');
    });

    it('computes in SQL the tier tierFor computes (property test)', async () => {
      const store = await ctx.server.newStore();
      const db = ctx.server.database.db;
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(fc.integer({ min: 0, max: 10_000 }), { maxLength: 6 }),
          fc.array(fc.integer({ min: 0, max: 12_000 }), { minLength: 1, maxLength: 10 }),
          async (thresholds, lifetimes) => {
            const tiers = await withTiers(store, thresholds.map((t, i) => ({ name: `T${i}-${t}`, threshold: t })));
            const rules = tiers.map((t, i) => ({ id: t.id, name: t.name, threshold: (tiers[i] as unknown as { threshold: number }).threshold }));
            for (const lifetime of lifetimes) {
              const r = await sql<{ id: number | null }>`SELECT ${tierForSql(store.id, sql`${lifetime}`)} AS id`.execute(db);
              const got = r.rows[0].id === null ? null : Number(r.rows[0].id);
              expect(got).toBe(tierFor(lifetime, rules)?.id ?? null);
            }
          },
        ),
        { numRuns: 15 },
      );
    });
  });
}
