import { describe, expect, it } from 'vitest';
import { COUPON_ALPHABET } from '../src/domain/coupon-code.js';
import { verifyLedger } from '../src/ledger/verify.js';
import { DIALECTS } from './support/databases.js';
import { spawnTally } from './support/process.js';
import { aCustomer } from './support/fixtures.js';
import { request, type TestStore, useServer } from './support/server.js';

const CODE_RE = new RegExp(`^[${COUPON_ALPHABET}]{10,}$`);

for (const dialect of DIALECTS) {
  describe(`${dialect}: rewards catalog, giving rewards and coupons`, () => {
    const ctx = useServer(dialect);

    async function aReward(body: Record<string, unknown> = {}, store: TestStore = ctx.store) {
      const res = await store.api('POST', '/v1/rewards', { name: '$5 off', pointsCost: 300, kind: 'fixed_amount', value: 5, ...body });
      expect(res.status, res.text).toBe(201);
      return res.body.reward;
    }
    const give = (customerId: number, body: Record<string, unknown>, headers: Record<string, string> = {}, store = ctx.store) =>
      store.api('POST', `/v1/customers/${customerId}/rewards`, { reason: 'Asked by phone', ...body }, headers);
    const count = async (table: 'transactions' | 'coupons', customerId: number) =>
      Number((await ctx.server.database.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).where('customer_id', '=', customerId).executeTakeFirstOrThrow()).n);

    it('creates rewards of each kind and answers them by id and in the list, newest first, paged', async () => {
      const fixed = await aReward({ name: '  $5 off  ' });
      expect(fixed).toMatchObject({ name: '$5 off', pointsCost: 300, kind: 'fixed_amount', value: 5, active: true });
      expect(typeof fixed.id).toBe('number');
      const pct = await aReward({ name: '10% off', pointsCost: 800, kind: 'percentage', value: 10 });
      const ship = await aReward({ name: 'Free shipping', pointsCost: 0, kind: 'free_shipping', value: undefined });
      expect(ship).toMatchObject({ kind: 'free_shipping', value: null, pointsCost: 0 });
      expect((await ctx.store.api('GET', `/v1/rewards/${pct.id}`)).body.reward).toEqual(pct);
      const page1 = await ctx.store.api('GET', '/v1/rewards?limit=2');
      expect(page1.status).toBe(200);
      expect(page1.body.data.map((r: { id: number }) => r.id)).toEqual([ship.id, pct.id]);
      const page2 = await ctx.store.api('GET', `/v1/rewards?limit=2&cursor=${page1.body.nextCursor}`);
      expect(page2.body.data[0].id).toBe(fixed.id);
    });

    it('refuses invalid rewards with 422 validation_error naming the field', async () => {
      const cases: [Record<string, unknown>, string][] = [
        [{ kind: 'percentage', value: 0 }, 'value'],
        [{ kind: 'percentage', value: 101 }, 'value'],
        [{ kind: 'percentage', value: undefined }, 'value'],
        [{ kind: 'fixed_amount', value: undefined }, 'value'],
        [{ kind: 'fixed_amount', value: -5 }, 'value'],
        [{ kind: 'fixed_amount', value: 1.005 }, 'value'],
        [{ kind: 'free_shipping', value: 3 }, 'value'],
        [{ kind: 'gift' }, 'kind'],
        [{ pointsCost: -1 }, 'pointsCost'],
        [{ pointsCost: 1.5 }, 'pointsCost'],
        [{ name: '   ' }, 'name'],
      ];
      for (const [body, field] of cases) {
        const res = await ctx.store.api('POST', '/v1/rewards', { name: 'Bad', pointsCost: 10, kind: 'fixed_amount', value: 5, ...body });
        expect(res.status, JSON.stringify(body)).toBe(422);
        expect(res.body.error.code).toBe('validation_error');
        expect(res.body.error.details.field, JSON.stringify(body)).toBe(field);
      }
      const missing = await ctx.store.api('POST', '/v1/rewards', { name: 'No cost', kind: 'free_shipping' });
      expect(missing.status).toBe(422);
    });

    it('changes a reward by PATCH, checks a new value against its kind, and answers 404 for another store\'s reward', async () => {
      const reward = await aReward({ kind: 'percentage', value: 15, name: '15% off' });
      const changed = await ctx.store.api('PATCH', `/v1/rewards/${reward.id}`, { name: '20% off', value: 20, pointsCost: 900 });
      expect(changed.status, changed.text).toBe(200);
      expect(changed.body.reward).toMatchObject({ name: '20% off', value: 20, pointsCost: 900, kind: 'percentage', active: true });
      const bad = await ctx.store.api('PATCH', `/v1/rewards/${reward.id}`, { value: 150 });
      expect(bad.status).toBe(422);
      expect(bad.body.error.details.field).toBe('value');
      const off = await ctx.store.api('PATCH', `/v1/rewards/${reward.id}`, { active: false });
      expect(off.body.reward.active).toBe(false);
      expect((await ctx.store.api('GET', '/v1/rewards?active=false')).body.data.map((r: { id: number }) => r.id)).toContain(reward.id);
      expect((await ctx.store.api('GET', '/v1/rewards?active=true')).body.data.map((r: { id: number }) => r.id)).not.toContain(reward.id);
      const other = await ctx.server.newStore('Other shop');
      expect((await other.api('GET', `/v1/rewards/${reward.id}`)).status).toBe(404);
      expect((await other.api('PATCH', `/v1/rewards/${reward.id}`, { active: true })).status).toBe(404);
      expect((await ctx.store.api('PATCH', '/v1/rewards/999999999', { active: true })).status).toBe(404);
    });

    it('gives a reward deducting its cost as a redemption: balance down, lifetime points and tier unchanged, activity recorded', async () => {
      const now = Date.now();
      await ctx.server.committer.run((trx) =>
        trx.insertInto('tiers').values({ store_id: ctx.store.id, name: 'Gold', threshold: 500, entry_reward_points: null, entry_reward_id: null, retired_at: null, created_at: now }).execute(),
      );
      const customer = await aCustomer(ctx.store, { balance: 1000 });
      expect(customer.tier?.name).toBe('Gold');
      expect(customer.lastActivityAt).toBeNull();
      const reward = await aReward({ name: 'Big prize', pointsCost: 800 });
      const res = await give(customer.id, { rewardId: reward.id, deductPoints: true });
      expect(res.status, res.text).toBe(201);
      const { coupon, transaction } = res.body;
      expect(transaction).toMatchObject({ type: 'redemption', points: -800, tierPoints: 0, balanceAfter: 200, reason: 'Asked by phone', customerMessage: 'Big prize' });
      expect(coupon).toMatchObject({ rewardId: reward.id, rewardName: 'Big prize', kind: 'fixed_amount', value: 5, source: 'redemption', active: true, transactionId: transaction.id, customerId: customer.id });
      expect(coupon.code).toMatch(CODE_RE);
      const after = (await ctx.store.api('GET', `/v1/customers/${customer.id}`)).body;
      expect(after).toMatchObject({ balance: 200, lifetimePoints: 1000, tier: { name: 'Gold' } });
      expect(after.tierChangedAt).toBe(customer.tierChangedAt);
      expect(after.lastActivityAt).not.toBeNull();
      expect(res.body.customer).toMatchObject({ balance: 200, lifetimePoints: 1000 });
    });

    it('gives a reward free: a coupon, no ledger row, the balance untouched', async () => {
      const customer = await aCustomer(ctx.store, { balance: 50 });
      const reward = await aReward({ pointsCost: 5000 });
      const before = await count('transactions', customer.id);
      const res = await give(customer.id, { rewardId: reward.id, deductPoints: false });
      expect(res.status, res.text).toBe(201);
      expect(res.body.transaction).toBeNull();
      expect(res.body.coupon).toMatchObject({ source: 'free', transactionId: null, active: true });
      expect(await count('transactions', customer.id)).toBe(before);
      expect((await ctx.store.api('GET', `/v1/customers/${customer.id}`)).body.balance).toBe(50);
    });

    it('refuses a redemption larger than the balance with 422 insufficient_points and writes nothing', async () => {
      const customer = await aCustomer(ctx.store, { balance: 100 });
      const reward = await aReward({ pointsCost: 300 });
      const [rows, coupons] = [await count('transactions', customer.id), await count('coupons', customer.id)];
      const res = await give(customer.id, { rewardId: reward.id, deductPoints: true });
      expect(res.status).toBe(422);
      expect(res.body.error).toMatchObject({ code: 'insufficient_points', details: { balance: 100, requested: 300 } });
      expect(await count('transactions', customer.id)).toBe(rows);
      expect(await count('coupons', customer.id)).toBe(coupons);
      expect((await ctx.store.api('GET', `/v1/customers/${customer.id}`)).body.balance).toBe(100);
    });

    it('lets only one of two racing redemptions through when the balance pays for one', async () => {
      const customer = await aCustomer(ctx.store, { balance: 500 });
      const reward = await aReward({ pointsCost: 300 });
      const answers = await Promise.all([1, 2].map(() => give(customer.id, { rewardId: reward.id, deductPoints: true })));
      expect(answers.map((a) => a.status).sort()).toEqual([201, 422]);
      expect(await count('coupons', customer.id)).toBe(1);
      expect((await ctx.store.api('GET', `/v1/customers/${customer.id}`)).body.balance).toBe(200);
    });

    it('records a redemption of a reward that costs nothing as a zero-point row (the customer\'s own activity)', async () => {
      const customer = await aCustomer(ctx.store);
      const reward = await aReward({ name: 'Birthday shipping', pointsCost: 0, kind: 'free_shipping', value: null });
      const res = await give(customer.id, { rewardId: reward.id, deductPoints: true });
      expect(res.status, res.text).toBe(201);
      expect(res.body.transaction).toMatchObject({ type: 'redemption', points: 0, tierPoints: 0, balanceAfter: 0 });
      expect(res.body.coupon).toMatchObject({ source: 'redemption', kind: 'free_shipping', value: null });
      expect(res.body.customer.lastActivityAt).not.toBeNull();
    });

    it('refuses a disabled reward with 422 reward_inactive, an unknown reward or customer with 404', async () => {
      const customer = await aCustomer(ctx.store, { balance: 1000 });
      const reward = await aReward();
      await ctx.store.api('PATCH', `/v1/rewards/${reward.id}`, { active: false });
      for (const deductPoints of [true, false]) {
        const res = await give(customer.id, { rewardId: reward.id, deductPoints });
        expect(res.status).toBe(422);
        expect(res.body.error).toMatchObject({ code: 'reward_inactive', details: { rewardId: reward.id } });
      }
      expect(await count('coupons', customer.id)).toBe(0);
      expect((await give(customer.id, { rewardId: 999_999_999, deductPoints: true })).body.error).toMatchObject({ code: 'not_found', details: { resource: 'reward' } });
      expect((await give(999_999_999, { rewardId: reward.id, deductPoints: true })).status).toBe(404);
      const other = await ctx.server.newStore('Elsewhere');
      expect((await give(customer.id, { rewardId: reward.id, deductPoints: false }, {}, other)).status).toBe(404);
      const short = await give(customer.id, { rewardId: reward.id, deductPoints: true, reason: 'x' });
      expect(short.status).toBe(422);
      expect(short.body.error.details.field).toBe('reason');
    });

    it('issues unique codes of at least 10 characters from the unambiguous alphabet, listed newest first and paged', async () => {
      const customer = await aCustomer(ctx.store);
      const reward = await aReward({ kind: 'free_shipping', value: undefined, name: 'Ship free' });
      const codes: string[] = [];
      for (let i = 0; i < 30; i++) {
        const res = await give(customer.id, { rewardId: reward.id, deductPoints: false });
        expect(res.status, res.text).toBe(201);
        codes.push(res.body.coupon.code);
      }
      expect(new Set(codes).size).toBe(30);
      for (const code of codes) expect(code).toMatch(CODE_RE);
      const page1 = await ctx.store.api('GET', `/v1/customers/${customer.id}/coupons?limit=20`);
      expect(page1.status).toBe(200);
      expect(page1.body.data.map((c: { code: string }) => c.code)).toEqual(codes.slice(10).reverse());
      const page2 = await ctx.store.api('GET', `/v1/customers/${customer.id}/coupons?limit=20&cursor=${page1.body.nextCursor}`);
      expect(page2.body.data.map((c: { code: string }) => c.code)).toEqual(codes.slice(0, 10).reverse());
      expect(page2.body.nextCursor).toBeNull();
      expect((await ctx.store.api('GET', '/v1/customers/999999999/coupons')).status).toBe(404);
    });

    it('replays a repeated Idempotency-Key: one coupon, one redemption', async () => {
      const customer = await aCustomer(ctx.store, { balance: 1000 });
      const reward = await aReward({ pointsCost: 100 });
      const headers = { 'idempotency-key': `give-${customer.id}` };
      const first = await give(customer.id, { rewardId: reward.id, deductPoints: true }, headers);
      const again = await give(customer.id, { rewardId: reward.id, deductPoints: true }, headers);
      expect(again.status).toBe(201);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(again.body).toEqual(first.body);
      expect(await count('coupons', customer.id)).toBe(1);
      expect((await ctx.store.api('GET', `/v1/customers/${customer.id}`)).body.balance).toBe(900);
      const reused = await give(customer.id, { rewardId: reward.id, deductPoints: false }, headers);
      expect(reused.status).toBe(409);
      expect(reused.body.error.code).toBe('idempotency_key_reused');
    });

    it('disables a coupon; disabling it again answers it as it is; unknown codes and other stores answer 404', async () => {
      const customer = await aCustomer(ctx.store);
      const reward = await aReward();
      const { coupon } = (await give(customer.id, { rewardId: reward.id, deductPoints: false })).body;
      const off = await ctx.store.api('POST', `/v1/coupons/${coupon.code}/disable`);
      expect(off.status, off.text).toBe(200);
      expect(off.body.coupon).toMatchObject({ code: coupon.code, active: false });
      expect(off.body.coupon.disabledAt).not.toBeNull();
      const again = await ctx.store.api('POST', `/v1/coupons/${coupon.code.toLowerCase()}/disable`);
      expect(again.status).toBe(200);
      expect(again.body.coupon).toEqual(off.body.coupon);
      expect((await ctx.store.api('GET', `/v1/customers/${customer.id}/coupons`)).body.data[0].active).toBe(false);
      expect((await ctx.store.api('POST', '/v1/coupons/NOSUCHCODE23/disable')).status).toBe(404);
      const other = await ctx.server.newStore('Third shop');
      expect((await other.api('POST', `/v1/coupons/${coupon.code}/disable`)).status).toBe(404);
    });

    it('lets an agent give rewards within the agent point limit, and keeps the catalog to admins', async () => {
      const created = await ctx.store.api('POST', '/v1/api-keys', { name: 'Support desk', role: 'agent' });
      expect(created.status, created.text).toBe(201);
      const agent = { ...ctx.store, api: (m: string, p: string, b?: unknown, h: Record<string, string> = {}) => request(`${ctx.server.url}${p}`, m, b, { authorization: `Bearer ${created.body.key}`, ...h }) } as TestStore;
      const customer = await aCustomer(ctx.store, { balance: 10_000 });
      const small = await aReward({ pointsCost: 500 });
      const big = await aReward({ pointsCost: 5000 });
      expect((await give(customer.id, { rewardId: small.id, deductPoints: true }, {}, agent)).status).toBe(201);
      for (const deductPoints of [true, false]) {
        const res = await give(customer.id, { rewardId: big.id, deductPoints }, {}, agent);
        expect(res.status).toBe(403);
        expect(res.body.error.code).toBe('forbidden');
      }
      expect((await agent.api('POST', '/v1/rewards', { name: 'Mine', pointsCost: 1, kind: 'free_shipping' })).status).toBe(403);
      expect((await agent.api('PATCH', `/v1/rewards/${small.id}`, { pointsCost: 1 })).status).toBe(403);
      expect((await agent.api('GET', '/v1/rewards')).status).toBe(200);
      const { coupon } = (await give(customer.id, { rewardId: small.id, deductPoints: false }, {}, agent)).body;
      expect((await agent.api('POST', `/v1/coupons/${coupon.code}/disable`)).status).toBe(200);
      expect((await ctx.store.api('GET', `/v1/customers/${customer.id}`)).body.balance).toBe(9500);
      const viewer = (await ctx.store.api('POST', '/v1/api-keys', { name: 'Reports', role: 'viewer' })).body.key;
      const asViewer = await request(`${ctx.server.url}/v1/customers/${customer.id}/rewards`, 'POST', { rewardId: small.id, deductPoints: false, reason: 'Not allowed' }, { authorization: `Bearer ${viewer}` });
      expect(asViewer.status).toBe(403);
    });

    it('leaves a ledger that `tally verify` passes (lots and pending totals included)', async () => {
      expect((await verifyLedger(ctx.server.database.db)).violations).toEqual([]);
      const cli = spawnTally(['verify'], { DATABASE_URL: ctx.server.database.url });
      expect(await cli.exited, cli.output()).toBe(0);
      expect(cli.output()).toMatch(/^OK: \d+ store\(s\), \d+ customers, \d+ transactions, 0 violation\(s\)$/m);
    });
  });
}
