import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expiringPoints } from '../src/ledger/expiring.js';
import { verifyLedger } from '../src/ledger/verify.js';
import { DIALECTS } from './support/databases.js';
import { spawnTally } from './support/process.js';
import { aCustomer, insideOneMinute } from './support/fixtures.js';
import { request, startServer, type TestStore, useServer } from './support/server.js';

const DAY = 86_400_000;
const digestOf = (secret: string, externalId: string) => createHmac('sha256', secret).update(externalId).digest('hex');

for (const dialect of DIALECTS) {
  describe(`${dialect}: the storefront and expiring points`, () => {
    const ctx = useServer(dialect);
    let serial = 0;

    const path = (storeId: number, externalId: string, query = '') => `/v1/storefront/${storeId}/customers/${encodeURIComponent(externalId)}${query}`;
    /** The storefront as a shop calls it: no API key, the digest header only. */
    function storefront(store: TestStore, externalId: string, opts: { digest?: string | null; query?: string; storeId?: number } = {}) {
      const digest = opts.digest === undefined ? digestOf(store.storefrontSecret, externalId) : opts.digest;
      return request(`${ctx.server.url}${path(opts.storeId ?? store.id, externalId, opts.query)}`, 'GET', undefined, digest === null ? {} : { 'tally-customer-digest': digest });
    }
    async function member(balance = 0, store = ctx.store) {
      serial += 1;
      const externalId = `shop-${dialect}-${serial}`;
      return { ...(await aCustomer(store, { balance, externalId })), externalId: externalId as string };
    }
    const adjust = (id: number, body: Record<string, unknown>) => ctx.store.api('POST', `/v1/customers/${id}/adjustments`, body);
    const setExpiry = (mode: string, days: number | null, storeId = ctx.store.id) =>
      ctx.server.committer.run((trx) => trx.updateTable('stores').set({ expiry_mode: mode, expiry_days: days }).where('id', '=', storeId).execute());

    it('answers a right digest with the balance, tier and progress, coupons and the visible history, without an API key', async () => {
      const now = Date.now();
      await ctx.server.committer.run((trx) =>
        trx.insertInto('tiers').values([
          { store_id: ctx.store.id, name: 'Silver', threshold: 100, entry_reward_points: null, entry_reward_id: null, retired_at: null, created_at: now },
          { store_id: ctx.store.id, name: 'Gold', threshold: 1000, entry_reward_points: null, entry_reward_id: null, retired_at: null, created_at: now },
        ]).execute(),
      );
      const c = await member();
      expect((await adjust(c.id, { points: 300, reason: 'Internal: VIP apology', customerMessage: 'Sorry for the delay!' })).status).toBe(201);
      expect((await adjust(c.id, { points: 20, reason: 'Internal: hidden fix', visibleToCustomer: false })).status).toBe(201);
      const reward = (await ctx.store.api('POST', '/v1/rewards', { name: '10% off', pointsCost: 100, kind: 'percentage', value: 10 })).body.reward;
      const kept = (await ctx.store.api('POST', `/v1/customers/${c.id}/rewards`, { rewardId: reward.id, deductPoints: true, reason: 'Internal: phone order' })).body.coupon;
      const dropped = (await ctx.store.api('POST', `/v1/customers/${c.id}/rewards`, { rewardId: reward.id, deductPoints: false, reason: 'Internal: goodwill' })).body.coupon;
      await ctx.store.api('POST', `/v1/coupons/${dropped.code}/disable`);

      const res = await storefront(ctx.store, c.externalId);
      expect(res.status, res.text).toBe(200);
      expect(res.body).toMatchObject({
        balance: 220,
        pendingPoints: 0,
        pending: [],
        tier: { name: 'Silver' },
        nextTier: { name: 'Gold', pointsNeeded: 680 },
        expiring: [],
        coupons: [{ code: kept.code, rewardName: '10% off', kind: 'percentage', value: 10 }],
        nextCursor: null,
      });
      expect(res.body.history.map((h: { type: string; points: number; message: string | null }) => [h.type, h.points, h.message])).toEqual([
        ['redemption', -100, '10% off'],
        ['adjustment', 300, 'Sorry for the delay!'],
      ]);
      expect(res.text).not.toContain('Internal');
    });

    it('shows pending credits with their dates, outside the balance, until they mature', async () => {
      const c = await member(10);
      const later = new Date(Date.now() + 5 * DAY).toISOString();
      const sooner = new Date(Date.now() + 2 * DAY).toISOString();
      expect((await adjust(c.id, { points: 500, reason: 'Internal: order 12 pending', customerMessage: 'For your order', availableAt: later })).status).toBe(201);
      expect((await adjust(c.id, { points: 70, reason: 'Internal: review bonus', availableAt: sooner })).status).toBe(201);
      const res = await storefront(ctx.store, c.externalId);
      expect(res.status, res.text).toBe(200);
      expect(res.body).toMatchObject({ balance: 10, pendingPoints: 570, pending: [{ points: 70, availableAt: sooner }, { points: 500, availableAt: later }] });
      expect(res.text).not.toContain('Internal');
    });

    it('answers a missing, malformed or wrong digest, an unknown customer and an unknown store with the same 401', async () => {
      const c = await member(10);
      const answers = [
        await storefront(ctx.store, c.externalId, { digest: null }),
        await storefront(ctx.store, c.externalId, { digest: '' }),
        await storefront(ctx.store, c.externalId, { digest: 'not hex at all' }),
        await storefront(ctx.store, c.externalId, { digest: digestOf(ctx.store.storefrontSecret, c.externalId).slice(0, 62) }),
        await storefront(ctx.store, c.externalId, { digest: digestOf('some other secret', c.externalId) }),
        await storefront(ctx.store, c.externalId, { digest: digestOf(ctx.store.storefrontSecret, 'someone-else') }),
        await storefront(ctx.store, 'nobody-here'),
        await storefront(ctx.store, c.externalId, { storeId: 999_999 }),
      ];
      const other = await ctx.server.newStore('Neighbour');
      answers.push(await storefront(other, c.externalId), await storefront(ctx.store, c.externalId, { storeId: other.id }));
      for (const res of answers) {
        expect(res.status).toBe(401);
        expect(res.text).toBe(answers[0].text);
      }
      expect(answers[0].body.error.code).toBe('unauthorized');
      expect((await storefront(ctx.store, c.externalId, { digest: digestOf(ctx.store.storefrontSecret, c.externalId).toUpperCase() })).status).toBe(200);
    });

    it('pages the history 50 rows at a time, newest first, and refuses a cursor it did not give', async () => {
      const c = await member();
      for (let i = 1; i <= 55; i++) expect((await adjust(c.id, { points: i, reason: `Row ${i}`, customerMessage: `Thanks ${i}` })).status).toBe(201);
      const first = await storefront(ctx.store, c.externalId);
      expect(first.body.history).toHaveLength(50);
      expect(first.body.history[0].message).toBe('Thanks 55');
      expect(first.body.nextCursor).not.toBeNull();
      const second = await storefront(ctx.store, c.externalId, { query: `?cursor=${first.body.nextCursor}` });
      expect(second.body.history.map((h: { points: number }) => h.points)).toEqual([5, 4, 3, 2, 1]);
      expect(second.body.nextCursor).toBeNull();
      expect((await storefront(ctx.store, c.externalId, { query: '?cursor=bogus' })).status).toBe(422);
    });

    it('never shows an internal reason nor a hidden row, whatever the rows (property)', async () => {
      const row = fc.record({
        points: fc.integer({ min: 1, max: 500 }),
        reason: fc.string({ minLength: 3, maxLength: 40 }),
        message: fc.option(fc.string({ minLength: 1, maxLength: 40 }), { nil: null }),
        visibleToCustomer: fc.boolean(),
        reverse: fc.boolean(),
      });
      await fc.assert(
        fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 8 }), async (rows) => {
          const c = await member();
          const expected: { points: number; message: string | null }[] = [];
          for (const [i, r] of rows.entries()) {
            // Markers make every reason and message distinct from every other text of the answer.
            const reason = `«R${i}» ${r.reason}`;
            const message = r.message === null ? null : `«M${i}» ${r.message}`;
            const res = await adjust(c.id, { points: r.points, reason, customerMessage: message, visibleToCustomer: r.visibleToCustomer });
            expect(res.status, res.text).toBe(201);
            if (r.visibleToCustomer) expected.unshift({ points: r.points, message: res.body.transaction.customerMessage });
            if (r.reverse) {
              const rev = await ctx.store.api('POST', `/v1/transactions/${res.body.transaction.id}/reverse`, { reason: `«X${i}» undo` });
              expect(rev.status, rev.text).toBe(201);
              if (r.visibleToCustomer) expected.unshift({ points: -r.points, message: null });
            }
          }
          const res = await storefront(ctx.store, c.externalId);
          expect(res.status).toBe(200);
          expect(res.body.history.map((h: { points: number; message: string | null }) => ({ points: h.points, message: h.message }))).toEqual(expected);
          expect(res.text).not.toMatch(/«[RX]\d+»/);
          for (const [i, r] of rows.entries()) if (!r.visibleToCustomer) expect(res.text).not.toContain(`«M${i}»`);
        }),
        { numRuns: 12 },
      );
    });

    it('shows per_credit points expiring in the next 30 days, by day, on the customer and the storefront; FIFO consumption shrinks them', async () => {
      const other = await ctx.server.newStore('Per credit shop');
      await setExpiry('per_credit', 10, other.id);
      const c = await member(0, other);
      await other.api('POST', `/v1/customers/${c.id}/adjustments`, { points: 100, reason: 'First credit' });
      await other.api('POST', `/v1/customers/${c.id}/adjustments`, { points: 50, reason: 'Second credit' });
      const lots = await ctx.server.database.db.selectFrom('point_lots').select(['created_at', 'remaining']).where('customer_id', '=', c.id).orderBy('id').execute();
      const dueAt = lots.map((l) => Number(l.created_at) + 10 * DAY);
      const customer = (await other.api('GET', `/v1/customers/${c.id}`)).body;
      const total = (e: { points: number }[]) => e.reduce((s, x) => s + x.points, 0);
      expect(total(customer.expiring)).toBe(150);
      for (const e of customer.expiring) expect(dueAt).toContain(Date.parse(e.expiresAt));
      expect(customer.expiring[0].expiresAt).toBe(new Date(dueAt[0]).toISOString());
      await other.api('POST', `/v1/customers/${c.id}/adjustments`, { points: -30, reason: 'Spent some' });
      const shop = await storefront(other, c.externalId);
      expect(total(shop.body.expiring)).toBe(120);
      // The window is 30 days from now: past expiry nothing is listed; 45-day lots are beyond it.
      expect(await expiringPoints(ctx.server.database.db, other.id, c.id, dueAt[1] + 1)).toEqual([]);
      expect(await expiringPoints(ctx.server.database.db, other.id, c.id, dueAt[0] - 29 * DAY)).toHaveLength(customer.expiring.length);
      await setExpiry('per_credit', 45, other.id);
      expect((await other.api('GET', `/v1/customers/${c.id}`)).body.expiring).toEqual([]);
      // A long rule is a day count whose milliseconds pass 32 bits: debits still consume lots by it.
      expect((await other.api('POST', `/v1/customers/${c.id}/adjustments`, { points: -20, reason: 'Spent under a long rule' })).status).toBe(201);
      // An explicit expiry on a credit applies under any rule.
      await setExpiry('none', null, other.id);
      const soon = new Date(Date.now() + 3 * DAY).toISOString();
      expect((await other.api('POST', `/v1/customers/${c.id}/adjustments`, { points: 40, reason: 'Short-lived bonus', expiresAt: soon })).status).toBe(201);
      expect((await other.api('GET', `/v1/customers/${c.id}`)).body.expiring).toEqual([{ points: 40, expiresAt: soon }]);
      expect((await other.api('GET', '/v1/customers')).body.data[0].expiring).toBeUndefined();
    });

    it('shows the whole balance expiring after N days without the customer\'s own activity under inactivity', async () => {
      const other = await ctx.server.newStore('Inactivity shop');
      await setExpiry('inactivity', 20, other.id);
      const c = await member(200, other);
      const joined = Date.parse(c.createdAt);
      expect((await other.api('GET', `/v1/customers/${c.id}`)).body.expiring).toEqual([{ points: 200, expiresAt: new Date(joined + 20 * DAY).toISOString() }]);
      const reward = (await other.api('POST', '/v1/rewards', { name: 'Tote bag', pointsCost: 50, kind: 'fixed_amount', value: 12.5 })).body.reward;
      expect((await other.api('POST', `/v1/customers/${c.id}/rewards`, { rewardId: reward.id, deductPoints: true, reason: 'Redeemed in store' })).status).toBe(201);
      const after = (await other.api('GET', `/v1/customers/${c.id}`)).body;
      expect(after.expiring).toEqual([{ points: 150, expiresAt: new Date(Date.parse(after.lastActivityAt) + 20 * DAY).toISOString() }]);
      expect((await storefront(other, c.externalId)).body.expiring).toEqual(after.expiring);
      // With the test's clock past that moment nothing is left to list; 40 days out it is beyond the window.
      expect(await expiringPoints(ctx.server.database.db, other.id, c.id, Date.parse(after.lastActivityAt) + 21 * DAY)).toEqual([]);
      await setExpiry('inactivity', 40, other.id);
      expect((await other.api('GET', `/v1/customers/${c.id}`)).body.expiring).toEqual([]);
    });

    it('declares the storefront in OpenAPI as needing no key, with its 401', async () => {
      const doc = (await request(`${ctx.server.url}/openapi.json`, 'GET')).body;
      const op = doc.paths['/v1/storefront/{storeId}/customers/{externalId}'].get;
      expect(op.security).toEqual([]);
      expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['200', '401', '422', '429', '503']));
    });

    it('leaves a ledger that `tally verify` passes (lots and pending totals included)', async () => {
      expect((await verifyLedger(ctx.server.database.db)).violations).toEqual([]);
      const cli = spawnTally(['verify'], { DATABASE_URL: ctx.server.database.url });
      expect(await cli.exited, cli.output()).toBe(0);
      expect(cli.output()).toMatch(/^OK: \d+ store\(s\), \d+ customers, \d+ transactions, 0 violation\(s\)$/m);
    });
  });

  describe(`${dialect}: the storefront is limited per client address`, () => {
    it('answers 429 with Retry-After past the per-address limit, right digest or not', async () => {
      const server = await startServer(dialect, { rateLimitPerMinute: 5 });
      try {
        const store = await server.newStore();
        const call = () => request(`${server.url}/v1/storefront/${store.id}/customers/nobody`, 'GET', undefined, { 'tally-customer-digest': digestOf(store.storefrontSecret, 'nobody') });
        await insideOneMinute();
        const statuses: number[] = [];
        for (let i = 0; i < 7; i++) statuses.push((await call()).status);
        expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
        const limited = await call();
        expect(limited.status).toBe(429);
        expect(limited.headers.get('retry-after')).not.toBeNull();
      } finally {
        await server.close();
      }
    });
  });
}
