import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { DIALECTS } from './support/databases.js';
import { aCustomer } from './support/fixtures.js';
import { useServer } from './support/server.js';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const dialect of DIALECTS) {
  describe(`${dialect}: customers, history, reversals and export`, () => {
    const ctx = useServer(dialect);
    const adjust = (id: number, points: number, reason = 'History test') =>
      ctx.store.api('POST', `/v1/customers/${id}/adjustments`, { points, reason });

    it('creates customers with unique externalId and e-mail (lower-cased)', async () => {
      const res = await ctx.store.api('POST', '/v1/customers', { externalId: ' shop-1 ', email: 'Sarah.J@Example.com', firstName: 'Sarah', lastName: 'Johnson' });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ externalId: 'shop-1', email: 'sarah.j@example.com', balance: 0, lifetimePoints: 0, pendingPoints: 0, tier: null, lastActivityAt: null });
      const dupExt = await ctx.store.api('POST', '/v1/customers', { externalId: 'shop-1' });
      expect(dupExt.status).toBe(409);
      expect(dupExt.body.error).toMatchObject({ code: 'customer_exists', details: { field: 'externalId' } });
      const dupEmail = await ctx.store.api('POST', '/v1/customers', { email: 'SARAH.J@example.com' });
      expect(dupEmail.body.error).toMatchObject({ code: 'customer_exists', details: { field: 'email' } });
      expect((await ctx.store.api('GET', '/v1/customers?externalId=shop-1')).body.data.map((c: { id: number }) => c.id)).toEqual([res.body.id]);
      expect((await ctx.store.api('GET', '/v1/customers?email=Sarah.J@example.com')).body.data.map((c: { id: number }) => c.id)).toEqual([res.body.id]);
    });

    it('searches by e-mail prefix, first name, last name, full name and external id', async () => {
      const other = await ctx.server.newStore('Search store');
      const ada = (await other.api('POST', '/v1/customers', { email: 'ada@lovelace.dev', firstName: 'Ada', lastName: 'Lovelace', externalId: 'AL-1815' })).body;
      const alan = (await other.api('POST', '/v1/customers', { email: 'turing@bletchley.uk', firstName: 'Alan', lastName: 'Turing' })).body;
      const ids = async (q: string) => (await other.api('GET', `/v1/customers?search=${encodeURIComponent(q)}`)).body.data.map((c: { id: number }) => c.id);
      expect(await ids('ada@')).toEqual([ada.id]);
      expect(await ids('ALAN')).toEqual([alan.id]);
      expect(await ids('love')).toEqual([ada.id]);
      expect(await ids('ada  lovelace')).toEqual([ada.id]);
      expect(await ids('AL-1815')).toEqual([ada.id]);
      expect(await ids('a')).toEqual([alan.id, ada.id]);
      expect(await ids('zzz')).toEqual([]);
    });

    it('filters by balance range (inclusive) and pages through with cursors without gaps or repeats', async () => {
      const other = await ctx.server.newStore('Range store');
      const made = [];
      for (const balance of [0, 100, 250, 1000, 1001]) made.push(await aCustomer(other, { balance }));
      const inRange = (await other.api('GET', '/v1/customers?minBalance=100&maxBalance=1000')).body.data.map((c: { balance: number }) => c.balance);
      expect(inRange).toEqual([1000, 250, 100]);
      const seen: number[] = [];
      let cursor: string | null = null;
      do {
        const page: { body: { data: { id: number }[]; nextCursor: string | null } } = await other.api('GET', `/v1/customers?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        expect(page.body.data.length).toBeLessThanOrEqual(2);
        seen.push(...page.body.data.map((c) => c.id));
        cursor = page.body.nextCursor;
      } while (cursor);
      expect(seen).toEqual(made.map((c) => c.id).reverse());
    });

    it("lists a customer's history newest first and pages through it", async () => {
      const c = await aCustomer(ctx.store);
      for (const p of [10, 20, 30, 40, 50]) expect((await adjust(c.id, p)).status).toBe(201);
      const all: number[] = [];
      let cursor: string | null = null;
      do {
        const page: { body: { data: { points: number }[]; nextCursor: string | null } } = await ctx.store.api('GET', `/v1/customers/${c.id}/transactions?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        all.push(...page.body.data.map((t) => t.points));
        cursor = page.body.nextCursor;
      } while (cursor);
      expect(all).toEqual([50, 40, 30, 20, 10]);
    });

    it('filters the store-wide log by customer, type and time', async () => {
      const c = await aCustomer(ctx.store, { balance: 100 });
      const before = new Date().toISOString();
      await pause(5);
      await ctx.store.api('POST', `/v1/customers/${c.id}/reset`, { reason: 'Fraud' });
      const byCustomer = (await ctx.store.api('GET', `/v1/transactions?customerId=${c.id}`)).body.data;
      expect(byCustomer.map((t: { type: string }) => t.type)).toEqual(['reset', 'adjustment']);
      const resets = (await ctx.store.api('GET', `/v1/transactions?customerId=${c.id}&type=reset`)).body.data;
      expect(resets).toHaveLength(1);
      const since = (await ctx.store.api('GET', `/v1/transactions?customerId=${c.id}&from=${encodeURIComponent(before)}`)).body.data;
      expect(since.map((t: { type: string }) => t.type)).toEqual(['reset']);
      const until = (await ctx.store.api('GET', `/v1/transactions?customerId=${c.id}&to=${encodeURIComponent(before)}`)).body.data;
      expect(until.map((t: { type: string }) => t.type)).toEqual(['adjustment']);
    });

    it('answers the balance at past moments from the ledger', async () => {
      const c = await aCustomer(ctx.store);
      const moments: string[] = [new Date().toISOString()];
      for (const p of [100, -30, 50]) {
        await pause(5);
        await adjust(c.id, p);
        await pause(5);
        moments.push(new Date().toISOString());
      }
      const at = async (m: string) => (await ctx.store.api('GET', `/v1/customers/${c.id}/balance?at=${encodeURIComponent(m)}`)).body;
      expect((await at(moments[0])).balance).toBe(0);
      expect((await at(moments[1])).balance).toBe(100);
      expect(await at(moments[2])).toMatchObject({ customerId: c.id, balance: 70, lifetimePoints: 70 });
      expect((await at(moments[3])).balance).toBe(120);
      expect((await ctx.store.api('GET', `/v1/customers/${c.id}/balance`)).body.balance).toBe(120);
    });

    it('reverses a transaction once, with a new reversal row', async () => {
      const c = await aCustomer(ctx.store, { balance: 100 });
      const deduction = await adjust(c.id, -40, 'Mistaken deduction');
      const rev = await ctx.store.api('POST', `/v1/transactions/${deduction.body.transaction.id}/reverse`, { reason: 'Deducted by mistake' });
      expect(rev.status).toBe(201);
      expect(rev.body.transaction).toMatchObject({ type: 'reversal', points: 40, reversesId: deduction.body.transaction.id, balanceAfter: 100 });
      const twice = await ctx.store.api('POST', `/v1/transactions/${deduction.body.transaction.id}/reverse`, { reason: 'Again' });
      expect(twice.status).toBe(409);
      expect(twice.body.error.code).toBe('already_reversed');
      const ofReversal = await ctx.store.api('POST', `/v1/transactions/${rev.body.transaction.id}/reverse`, { reason: 'Undo the undo' });
      expect(ofReversal.status).toBe(422);
      expect(ofReversal.body.error.code).toBe('not_reversible');
    });

    it('refuses to reverse points that were spent since', async () => {
      const c = await aCustomer(ctx.store);
      const credit = await adjust(c.id, 100, 'Bonus');
      await adjust(c.id, -80, 'Spent');
      const rev = await ctx.store.api('POST', `/v1/transactions/${credit.body.transaction.id}/reverse`, { reason: 'Bonus was a mistake' });
      expect(rev.status).toBe(422);
      expect(rev.body.error.code).toBe('insufficient_points');
      expect((await ctx.store.api('GET', `/v1/customers/${c.id}`)).body.balance).toBe(20);
    });

    it('exports the log as CSV with formula-safe text cells and plain numbers', async () => {
      const c = await aCustomer(ctx.store, { balance: 500 });
      for (const reason of ['=HYPERLINK("http://evil")', '+1+2', '@SUM(A1)', '-cmd|calc']) {
        expect((await adjust(c.id, -100, reason)).status).toBe(201);
      }
      const res = await ctx.store.api('GET', `/v1/transactions/export.csv?customerId=${c.id}`);
      expect(res.headers.get('content-type')).toContain('text/csv');
      const rows = parse(res.text, { columns: true }) as Record<string, string>[];
      expect(Object.keys(rows[0])).toEqual(['id', 'customerId', 'type', 'points', 'tierPoints', 'balanceAfter', 'reason', 'customerMessage', 'visibleToCustomer', 'actorType', 'actorId', 'actorName', 'jobId', 'reversesId', 'reference', 'createdAt']);
      expect(rows.map((r) => r.reason)).toEqual(["'-cmd|calc", "'@SUM(A1)", "'+1+2", `'=HYPERLINK("http://evil")`, 'Opening balance']);
      expect(rows[0].points).toBe('-100');
      expect(rows[0].actorType).toBe('api_key');
    });
  });
}
