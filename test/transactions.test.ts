import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import type { Customer, Transaction } from '../src/domain/types.js';
import { seedCustomers } from '../src/ledger/seed.js';
import { transactionCsvText } from '../src/ledger/transactions.js';
import { DIALECTS } from './support/databases.js';
import { aCustomer, assertLedgerInvariants } from './support/fixtures.js';
import { type TestStore, useServer } from './support/server.js';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

const CSV_HEADER =
  'id,customerId,type,points,tierPoints,balanceAfter,reason,customerMessage,visibleToCustomer,actorType,actorId,actorName,jobId,reversesId,reference,createdAt,customerExternalId,customerEmail';

/** Follows nextCursor from the first page to the last; every page is checked to be non-empty and at most `limit`. */
async function walk<T extends { id: number }>(store: TestStore, path: string, limit: number): Promise<{ items: T[]; pages: number[] }> {
  const items: T[] = [];
  const pages: number[] = [];
  let cursor: string | null = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const res: { status: number; body: { data: T[]; nextCursor: string | null } } = await store.api('GET', `${path}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(res.status).toBe(200);
    expect(res.body.data.length).toBeGreaterThan(0);
    expect(res.body.data.length).toBeLessThanOrEqual(limit);
    pages.push(res.body.data.length);
    items.push(...res.body.data);
    cursor = res.body.nextCursor;
  } while (cursor);
  return { items, pages };
}

const idsOf = (rows: { id: number }[]) => rows.map((r) => r.id);

for (const dialect of DIALECTS) {
  describe(`${dialect}: customers`, () => {
    const ctx = useServer(dialect);

    it('creates a customer (201) with a trimmed externalId and a lower-cased e-mail', async () => {
      const res = await ctx.store.api('POST', '/v1/customers', { externalId: ' shop-1 ', email: ' Sarah.J@Example.COM ', firstName: 'Sarah', lastName: 'Johnson' });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.any(Number),
        externalId: 'shop-1',
        email: 'sarah.j@example.com',
        firstName: 'Sarah',
        lastName: 'Johnson',
        balance: 0,
        lifetimePoints: 0,
        pendingPoints: 0,
        tier: null,
        tierManual: false,
        tierChangedAt: null,
        lastActivityAt: null,
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      });
      // The single customer also shows the points expiring in the next 30 days.
      expect((await ctx.store.api('GET', `/v1/customers/${res.body.id}`)).body).toEqual({ ...res.body, expiring: [] });
    });

    it('creates a customer from an e-mail alone or an externalId alone, and refuses one with neither', async () => {
      expect((await ctx.store.api('POST', '/v1/customers', { email: 'only-email@example.com' })).status).toBe(201);
      expect((await ctx.store.api('POST', '/v1/customers', { externalId: 'only-external' })).status).toBe(201);
      const neither = await ctx.store.api('POST', '/v1/customers', { firstName: 'Nameless', lastName: 'Nobody' });
      expect(neither.status).toBe(422);
      expect(neither.body.error.code).toBe('validation_error');
    });

    it('refuses a second customer with the same externalId or e-mail (any case) as customer_exists', async () => {
      await ctx.store.api('POST', '/v1/customers', { externalId: 'dup-1', email: 'dup@example.com' });
      const dupExt = await ctx.store.api('POST', '/v1/customers', { externalId: 'dup-1', email: 'other@example.com' });
      expect(dupExt.status).toBe(409);
      expect(dupExt.body.error).toMatchObject({ code: 'customer_exists', details: { field: 'externalId' } });
      const dupEmail = await ctx.store.api('POST', '/v1/customers', { externalId: 'dup-2', email: 'DUP@Example.com' });
      expect(dupEmail.status).toBe(409);
      expect(dupEmail.body.error).toMatchObject({ code: 'customer_exists', details: { field: 'email' } });
      expect((await ctx.store.api('GET', '/v1/customers?externalId=dup-2')).body.data).toEqual([]);
    });

    it('allows the same externalId and e-mail in another store', async () => {
      const other = await ctx.server.newStore('Other');
      await ctx.store.api('POST', '/v1/customers', { externalId: 'shared-ext', email: 'shared@example.com' });
      expect((await other.api('POST', '/v1/customers', { externalId: 'shared-ext', email: 'shared@example.com' })).status).toBe(201);
    });

    it('looks customers up by externalId and by e-mail (case-insensitively)', async () => {
      const c = await aCustomer(ctx.store, { externalId: 'lookup-1', email: 'lookup@example.com' });
      await aCustomer(ctx.store, { externalId: 'lookup-10', email: 'lookup1@example.com' });
      const ids = async (q: string) => idsOf((await ctx.store.api('GET', `/v1/customers?${q}`)).body.data);
      expect(await ids('externalId=lookup-1')).toEqual([c.id]);
      expect(await ids('email=lookup%40example.com')).toEqual([c.id]);
      expect(await ids('email=LOOKUP%40Example.com')).toEqual([c.id]);
      expect(await ids('externalId=lookup')).toEqual([]);
      expect(await ids('email=nobody%40example.com')).toEqual([]);
    });

    it('searches by e-mail prefix, first name, last name, "first last" and external id', async () => {
      const store = await ctx.server.newStore('Search store');
      const ada = (await store.api('POST', '/v1/customers', { email: 'ada@lovelace.dev', firstName: 'Ada', lastName: 'Lovelace', externalId: 'AL-1815' })).body;
      const alan = (await store.api('POST', '/v1/customers', { email: 'turing@bletchley.uk', firstName: 'Alan', lastName: 'Turing' })).body;
      const grace = (await store.api('POST', '/v1/customers', { email: 'grace@navy.mil', firstName: 'Grace', lastName: 'Hopper' })).body;
      const ids = async (q: string) => idsOf((await store.api('GET', `/v1/customers?search=${encodeURIComponent(q)}`)).body.data);
      expect(await ids('ada@')).toEqual([ada.id]);
      expect(await ids('TURING@bletch')).toEqual([alan.id]);
      expect(await ids('ALAN')).toEqual([alan.id]);
      expect(await ids('grace')).toEqual([grace.id]);
      expect(await ids('love')).toEqual([ada.id]);
      expect(await ids('hopper')).toEqual([grace.id]);
      expect(await ids('ada lovelace')).toEqual([ada.id]);
      expect(await ids('  Ada   LOVELACE ')).toEqual([ada.id]);
      expect(await ids('grace hop')).toEqual([grace.id]);
      expect(await ids('AL-1815')).toEqual([ada.id]);
      expect(await ids('a')).toEqual([alan.id, ada.id]);
      expect(await ids('ovelace')).toEqual([]);
      expect(await ids('zzz')).toEqual([]);
      expect(await ids('')).toEqual([grace.id, alan.id, ada.id]);
    });

    it('filters by balance range with both bounds inclusive', async () => {
      const store = await ctx.server.newStore('Range store');
      const byBalance = new Map<number, number>();
      for (const balance of [0, 99, 100, 250, 1000, 1001]) byBalance.set(balance, (await aCustomer(store, { balance })).id);
      const balances = async (q: string) => (await store.api('GET', `/v1/customers?${q}`)).body.data.map((c: Customer) => c.balance);
      expect(await balances('minBalance=100&maxBalance=1000')).toEqual([1000, 250, 100]);
      expect(await balances('minBalance=1000')).toEqual([1001, 1000]);
      expect(await balances('maxBalance=99')).toEqual([99, 0]);
      expect(await balances('minBalance=250&maxBalance=250')).toEqual([250]);
      expect(await balances('minBalance=0&maxBalance=0')).toEqual([0]);
      expect(await balances('minBalance=500&maxBalance=400')).toEqual([]);
      await store.api('POST', `/v1/customers/${byBalance.get(99)}/adjustments`, { points: 1, reason: 'Move into range' });
      expect(await balances('minBalance=100&maxBalance=100')).toEqual([100, 100]);
    });

    it('pages through customers newest first without gaps or repeats, also under a filter', async () => {
      const store = await ctx.server.newStore('Paging store');
      const made: Customer[] = [];
      for (let i = 0; i < 7; i++) made.push(await aCustomer(store, { balance: i % 2 === 0 ? 10 : 0 }));
      const all = await walk<Customer>(store, '/v1/customers', 2);
      expect(all.pages).toEqual([2, 2, 2, 1]);
      expect(idsOf(all.items)).toEqual(idsOf(made).reverse());
      const even = await walk<Customer>(store, '/v1/customers?minBalance=10', 2);
      expect(idsOf(even.items)).toEqual(idsOf(made.filter((_, i) => i % 2 === 0)).reverse());
      expect(even.pages).toEqual([2, 2]);
      const whole = await store.api('GET', '/v1/customers?limit=7');
      expect(whole.body.nextCursor).toBeNull();
      expect((await store.api('GET', '/v1/customers')).body.data).toHaveLength(7);
    });
  });

  describe(`${dialect}: history, the log, balances at a moment, reversals and export`, () => {
    const ctx = useServer(dialect);
    const adjust = (id: number, points: number, extra: Record<string, unknown> = {}) =>
      ctx.store.api('POST', `/v1/customers/${id}/adjustments`, { points, reason: 'History test', ...extra });
    const reverse = (transactionId: number, reason = 'Reversed in a test') =>
      ctx.store.api('POST', `/v1/transactions/${transactionId}/reverse`, { reason });

    it("lists a customer's history newest first and walks it with limit=2 without gaps or repeats", async () => {
      const c = await aCustomer(ctx.store);
      const other = await aCustomer(ctx.store);
      const written: number[] = [];
      for (const p of [10, 20, 30, 40, 50]) {
        written.push((await adjust(c.id, p)).body.transaction.id);
        await adjust(other.id, p);
      }
      const { items, pages } = await walk<Transaction>(ctx.store, `/v1/customers/${c.id}/transactions`, 2);
      expect(pages).toEqual([2, 2, 1]);
      expect(idsOf(items)).toEqual([...written].reverse());
      expect(items.map((t) => t.points)).toEqual([50, 40, 30, 20, 10]);
      expect(items.map((t) => t.balanceAfter)).toEqual([150, 100, 60, 30, 10]);
      expect(items.every((t) => t.customerId === c.id)).toBe(true);
    });

    it('answers 404 for the history and balance of a customer that does not exist', async () => {
      for (const path of ['/v1/customers/987654/transactions', '/v1/customers/987654/balance']) {
        const res = await ctx.store.api('GET', path);
        expect(res.status).toBe(404);
        expect(res.body.error.code).toBe('not_found');
      }
    });

    it('filters the store-wide log by customer, type and a from/to window (both inclusive)', async () => {
      const c = await aCustomer(ctx.store, { balance: 100 });
      await pause(5);
      const t1 = new Date().toISOString();
      await pause(5);
      const deduction = (await adjust(c.id, -30)).body.transaction as Transaction;
      await pause(5);
      const t2 = new Date().toISOString();
      await pause(5);
      const reset = (await ctx.store.api('POST', `/v1/customers/${c.id}/reset`, { reason: 'Fraud' })).body.transaction as Transaction;
      const log = async (q: string) => (await ctx.store.api('GET', `/v1/transactions?customerId=${c.id}&${q}`)).body.data.map((t: Transaction) => t.type);
      expect(await log('')).toEqual(['reset', 'adjustment', 'adjustment']);
      expect(await log('type=reset')).toEqual(['reset']);
      expect(await log('type=adjustment')).toEqual(['adjustment', 'adjustment']);
      expect(await log('type=reversal')).toEqual([]);
      expect(await log(`from=${encodeURIComponent(t1)}`)).toEqual(['reset', 'adjustment']);
      expect(await log(`to=${encodeURIComponent(t1)}`)).toEqual(['adjustment']);
      expect(await log(`from=${encodeURIComponent(t1)}&to=${encodeURIComponent(t2)}`)).toEqual(['adjustment']);
      expect(await log(`from=${encodeURIComponent(reset.createdAt)}&to=${encodeURIComponent(reset.createdAt)}`)).toEqual(['reset']);
      expect(await log(`from=${encodeURIComponent(deduction.createdAt)}&type=adjustment`)).toEqual(['adjustment']);
      const storeWide = (await ctx.store.api('GET', '/v1/transactions?type=reset')).body.data as Transaction[];
      expect(storeWide.map((t) => t.id)).toContain(reset.id);
      expect(storeWide.every((t) => t.type === 'reset')).toBe(true);
    });

    it('pages through the store-wide log newest first without gaps or repeats', async () => {
      const store = await ctx.server.newStore('Log paging');
      const c = await aCustomer(store);
      for (const p of [1, 2, 3, 4, 5, 6]) await store.api('POST', `/v1/customers/${c.id}/adjustments`, { points: p, reason: 'Log paging' });
      const { items, pages } = await walk<Transaction>(store, '/v1/transactions', 4);
      expect(pages).toEqual([4, 2]);
      expect(items.map((t) => t.points)).toEqual([6, 5, 4, 3, 2, 1]);
      const ids = idsOf(items);
      expect(ids).toEqual([...ids].sort((a, b) => b - a));
    });

    it('answers the balance and lifetime points at past moments from the ledger', async () => {
      const c = await aCustomer(ctx.store);
      const moments: string[] = [new Date().toISOString()];
      const steps: [string, number, Record<string, unknown>?][] = [
        ['adjust', 100],
        ['adjust', -30],
        ['adjust', 50, { affectsTier: false }],
        ['reset', 0],
      ];
      for (const [kind, points, extra] of steps) {
        await pause(5);
        if (kind === 'adjust') expect((await adjust(c.id, points, extra)).status).toBe(201);
        else expect((await ctx.store.api('POST', `/v1/customers/${c.id}/reset`, { reason: 'Back to zero' })).status).toBe(201);
        await pause(5);
        moments.push(new Date().toISOString());
      }
      const at = async (m: string) => (await ctx.store.api('GET', `/v1/customers/${c.id}/balance?at=${encodeURIComponent(m)}`)).body;
      expect(await at('2000-01-01T00:00:00Z')).toEqual({ customerId: c.id, at: '2000-01-01T00:00:00.000Z', balance: 0, lifetimePoints: 0 });
      expect(await at(moments[0])).toMatchObject({ balance: 0, lifetimePoints: 0 });
      expect(await at(moments[1])).toMatchObject({ balance: 100, lifetimePoints: 100 });
      expect(await at(moments[2])).toEqual({ customerId: c.id, at: moments[2], balance: 70, lifetimePoints: 70 });
      expect(await at(moments[3])).toMatchObject({ balance: 120, lifetimePoints: 70 });
      expect(await at(moments[4])).toMatchObject({ balance: 0, lifetimePoints: 70 });
      const now = (await ctx.store.api('GET', `/v1/customers/${c.id}/balance`)).body;
      expect(now).toMatchObject({ customerId: c.id, balance: 0, lifetimePoints: 70 });
      expect(Date.parse(now.at)).toBeGreaterThanOrEqual(Date.parse(moments[4]));
    });

    it('reverses a credit with a new reversal row of the opposite points, once', async () => {
      const c = await aCustomer(ctx.store, { balance: 100 });
      const credit = (await adjust(c.id, 40, { customerMessage: 'A gift' })).body.transaction as Transaction;
      const rev = await reverse(credit.id, 'Credited by mistake');
      expect(rev.status).toBe(201);
      expect(rev.body.transaction).toMatchObject({
        type: 'reversal',
        customerId: c.id,
        points: -40,
        tierPoints: -40,
        balanceAfter: 100,
        reversesId: credit.id,
        reason: 'Credited by mistake',
        actor: { type: 'api_key' },
      });
      expect(rev.body.customer).toMatchObject({ balance: 100, lifetimePoints: 100 });
      const history = (await ctx.store.api('GET', `/v1/customers/${c.id}/transactions`)).body.data as Transaction[];
      expect(history.map((t) => [t.type, t.points])).toEqual([['reversal', -40], ['adjustment', 40], ['adjustment', 100]]);
      expect(history[1]).toEqual(credit);
      const twice = await reverse(credit.id, 'Again');
      expect(twice.status).toBe(409);
      expect(twice.body.error.code).toBe('already_reversed');
      expect((await ctx.store.api('GET', `/v1/customers/${c.id}`)).body.balance).toBe(100);
    });

    it('re-adds the points of a reversed deduction, lifetime points included', async () => {
      const c = await aCustomer(ctx.store, { balance: 100 });
      const deduction = (await adjust(c.id, -40)).body.transaction as Transaction;
      expect(deduction.tierPoints).toBe(-40);
      const rev = await reverse(deduction.id, 'Deducted by mistake');
      expect(rev.status).toBe(201);
      expect(rev.body.transaction).toMatchObject({ type: 'reversal', points: 40, tierPoints: 40, balanceAfter: 100, reversesId: deduction.id });
      expect(rev.body.customer).toMatchObject({ balance: 100, lifetimePoints: 100 });
    });

    it('gives back the balance a reset took, leaving lifetime points alone', async () => {
      const c = await aCustomer(ctx.store, { balance: 80 });
      const reset = (await ctx.store.api('POST', `/v1/customers/${c.id}/reset`, { reason: 'Wrong customer' })).body.transaction as Transaction;
      const rev = await reverse(reset.id, 'Reset the wrong customer');
      expect(rev.body.transaction).toMatchObject({ type: 'reversal', points: 80, tierPoints: 0, balanceAfter: 80 });
      expect(rev.body.customer).toMatchObject({ balance: 80, lifetimePoints: 80 });
    });

    it('refuses to reverse points that were spent since, writing nothing', async () => {
      const c = await aCustomer(ctx.store);
      const credit = (await adjust(c.id, 100, { reason: 'Bonus' })).body.transaction as Transaction;
      await adjust(c.id, -80, { reason: 'Spent' });
      const rev = await reverse(credit.id, 'Bonus was a mistake');
      expect(rev.status).toBe(422);
      expect(rev.body.error).toMatchObject({ code: 'insufficient_points', details: { balance: 20, requested: 100 } });
      expect((await ctx.store.api('GET', `/v1/customers/${c.id}`)).body.balance).toBe(20);
      expect((await ctx.store.api('GET', `/v1/customers/${c.id}/transactions`)).body.data).toHaveLength(2);
      await adjust(c.id, 80, { reason: 'Refunded order' });
      expect((await reverse(credit.id, 'Now it can go')).status).toBe(201);
    });

    it('refuses to reverse a reversal (not_reversible) and answers 404 for an unknown transaction', async () => {
      const c = await aCustomer(ctx.store, { balance: 100 });
      const credit = (await adjust(c.id, 10)).body.transaction as Transaction;
      const rev = (await reverse(credit.id)).body.transaction as Transaction;
      const ofReversal = await reverse(rev.id, 'Undo the undo');
      expect(ofReversal.status).toBe(422);
      expect(ofReversal.body.error.code).toBe('not_reversible');
      const unknown = await reverse(987654321);
      expect(unknown.status).toBe(404);
      expect(unknown.body.error.code).toBe('not_found');
      const noReason = await ctx.store.api('POST', `/v1/transactions/${credit.id}/reverse`, {});
      expect(noReason.status).toBe(422);
      expect(noReason.body.error.details.field).toBe('reason');
      expect((await ctx.store.api('GET', `/v1/customers/${c.id}`)).body.balance).toBe(100);
    });

    it('exports the log as CSV: the exact header, one record per row, formula-like text defused, numbers left as numbers', async () => {
      const c = await aCustomer(ctx.store, { balance: 500 });
      const reasons = ['=HYPERLINK("http://evil.example")', '+1+2', '@SUM(A1)', '-cmd|calc'];
      for (const reason of reasons) expect((await adjust(c.id, -100, { reason })).status).toBe(201);
      const quoted = (await adjust(c.id, 7, { reason: 'Said "hi", then\nleft', customerMessage: '=1+2', visibleToCustomer: false })).body.transaction as Transaction;
      const rev = (await reverse(quoted.id)).body.transaction as Transaction;
      const res = await ctx.store.api('GET', `/v1/transactions/export.csv?customerId=${c.id}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/csv');
      expect(res.headers.get('content-disposition')).toContain('attachment');
      expect(res.text.split(/\r?\n/)[0]).toBe(CSV_HEADER);
      const rows = parse(res.text, { columns: true }) as Record<string, string>[];
      expect(rows.map((r) => r.reason)).toEqual([
        'Reversed in a test',
        'Said "hi", then\nleft',
        "'-cmd|calc",
        "'@SUM(A1)",
        "'+1+2",
        `'=HYPERLINK("http://evil.example")`,
        'Opening balance',
      ]);
      const firstDeduction = rows[5];
      expect(firstDeduction).toMatchObject({ type: 'adjustment', points: '-100', tierPoints: '-100', balanceAfter: '400', customerMessage: '', visibleToCustomer: 'true', actorType: 'api_key', jobId: '', reversesId: '', reference: '' });
      expect(rows[1]).toMatchObject({ id: String(quoted.id), points: '7', customerMessage: "'=1+2", visibleToCustomer: 'false' });
      expect(rows[0]).toMatchObject({ id: String(rev.id), type: 'reversal', points: '-7', reversesId: String(quoted.id) });
      const api = (await ctx.store.api('GET', `/v1/customers/${c.id}/transactions`)).body.data as Transaction[];
      expect(rows.map((r) => Number(r.id))).toEqual(idsOf(api));
      expect(rows.map((r) => r.createdAt)).toEqual(api.map((t) => t.createdAt));
      expect(rows.map((r) => r.actorName)).toEqual(api.map((t) => t.actor.name));
      expect(rows.every((r) => r.customerId === String(c.id))).toBe(true);
      // The file names the member outside this store too (so a history import can find them).
      expect(rows.every((r) => r.customerExternalId === (c.externalId ?? '') && r.customerEmail === (c.email ?? ''))).toBe(true);
      expect(rows[0].customerExternalId).not.toBe('');
    });

    it('exports with the same filters as the log', async () => {
      const c = await aCustomer(ctx.store, { balance: 30 });
      await pause(5);
      const since = new Date().toISOString();
      await pause(5);
      await ctx.store.api('POST', `/v1/customers/${c.id}/reset`, { reason: 'Export filter' });
      const csv = async (q: string) => (parse((await ctx.store.api('GET', `/v1/transactions/export.csv?customerId=${c.id}&${q}`)).text, { columns: true }) as Record<string, string>[]).map((r) => r.type);
      expect(await csv('')).toEqual(['reset', 'adjustment']);
      expect(await csv('type=reset')).toEqual(['reset']);
      expect(await csv(`from=${encodeURIComponent(since)}`)).toEqual(['reset']);
      expect(await csv(`to=${encodeURIComponent(since)}`)).toEqual(['adjustment']);
      const empty = await ctx.store.api('GET', `/v1/transactions/export.csv?customerId=${c.id}&type=expiry`);
      expect(empty.text.trim()).toBe(CSV_HEADER);
    });

    it('streams an export longer than one read batch in full, newest first, each row once', async () => {
      const store = await ctx.server.newStore('Big export');
      const seeded = await seedCustomers(ctx.server.database.db, ctx.server.committer, store.id, 3000);
      expect(seeded.transactions).toBeGreaterThan(2000);
      const res = await store.api('GET', '/v1/transactions/export.csv');
      const ids = (parse(res.text, { columns: true }) as Record<string, string>[]).map((r) => Number(r.id));
      expect(ids).toHaveLength(seeded.transactions);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toEqual([...ids].sort((a, b) => b - a));
      await assertLedgerInvariants(ctx.server.database, store.id);
    });

    it('writes the same bytes whether the reader thread formats the rows (SQLite) or the serving thread does', async () => {
      const store = await ctx.server.newStore('Export twins');
      await seedCustomers(ctx.server.database.db, ctx.server.committer, store.id, 2500);
      const c = await aCustomer(store, { balance: 50, externalId: '=ext,"1"', email: 'a@example.com' });
      await store.api('POST', `/v1/customers/${c.id}/adjustments`, { points: -5, reason: 'Said "hi",\r\nthen -left', customerMessage: '@x' });
      const served = (await store.api('GET', '/v1/transactions/export.csv')).text;
      // The writer's handle has no reader thread: the same formatter runs here.
      let here = '';
      for await (const piece of transactionCsvText(ctx.server.database.db, store.id, {})) here += piece.text;
      expect(served).toBe(here);
      const rows = parse(served, { columns: true }) as Record<string, string>[];
      expect(rows[0]).toMatchObject({ points: '-5', reason: 'Said "hi",\r\nthen -left', customerMessage: "'@x", customerExternalId: '\'=ext,"1"' });
    });
  });
}
