import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCommitter } from '../src/db/committer.js';
import type { Database } from '../src/db/database.js';
import { type FilterPlan, type RangeColumn, planCustomerFilter } from '../src/db/queries/customers.js';
import { CUSTOMER_SORT_KEYS, type CustomerFilter, type CustomerSort, type SortedPageRequest } from '../src/domain/types.js';
import { normalizeSearch } from '../src/domain/validation.js';
import { tableWalkFrom } from '../src/db/queries/table-walk.js';
import { countCustomers, customerListQuery, listCustomers, listCustomersSorted } from '../src/ledger/customers.js';
import { listTransactions, transactionListQuery } from '../src/ledger/transactions.js';
import { decodeSortedCursor } from '../src/ledger/paging.js';
import { seedCustomers } from '../src/ledger/seed.js';
import { createStore } from '../src/ledger/stores.js';
import { DIALECTS, freshDatabase } from './support/databases.js';

const DAY = 86_400_000;
const CUSTOMERS = 3_000;
const ALL_BROAD: FilterPlan = { broad: new Set<RangeColumn>(['last_activity_at', 'tier_changed_at', 'email', 'name_norm', 'last_name_norm']) };

interface Row {
  id: number;
  external_id: string | null;
  email: string | null;
  name_norm: string | null;
  last_name_norm: string | null;
  balance: number;
  lifetime_points: number;
  tier_changed_at: number | null;
  last_activity_at: number | null;
}

/** The filter's meaning, written again over plain rows: what every way of reading a page must return. */
function matches(r: Row, f: CustomerFilter): boolean {
  const after = (v: number | null, iso: string | undefined) => iso === undefined || (v !== null && v > Date.parse(iso));
  const before = (v: number | null, iso: string | undefined) => iso === undefined || (v !== null && v < Date.parse(iso));
  const s = f.search?.trim() ? normalizeSearch(f.search) : undefined;
  const prefix = (v: string | null) => s !== undefined && v !== null && v.startsWith(s);
  return (
    (f.minBalance === undefined || r.balance >= f.minBalance) &&
    (f.maxBalance === undefined || r.balance <= f.maxBalance) &&
    after(r.last_activity_at, f.lastActivityAfter) &&
    before(r.last_activity_at, f.lastActivityBefore) &&
    after(r.tier_changed_at, f.tierChangedAfter) &&
    (s === undefined || prefix(r.email) || prefix(r.name_norm) || prefix(r.last_name_norm) || r.external_id === f.search?.trim())
  );
}

for (const dialect of DIALECTS) {
  describe(`${dialect}: customer list pages`, () => {
    let database: Database & { drop(): Promise<void> };
    let storeId: number;
    let rows: Row[];
    let firstId: number;
    const now = Date.now();
    const iso = (ms: number) => new Date(ms).toISOString();

    beforeAll(async () => {
      database = await freshDatabase(dialect);
      const committer = createCommitter(database);
      // Another store's customers before and after: every page must stay inside its own store.
      const other = await committer.run((trx) => createStore(trx, { name: 'Other' }));
      await seedCustomers(database.db, committer, other.store.id, 500);
      const store = await committer.run((trx) => createStore(trx, { name: 'Lists' }));
      storeId = store.store.id;
      await seedCustomers(database.db, committer, storeId, CUSTOMERS);
      await seedCustomers(database.db, committer, other.store.id, 500);
      // Tier changes over the last 60 days for a third of the customers (no ledger row involved).
      await sql`UPDATE customers SET tier_changed_at = ${now} - (id % 60) * ${DAY} WHERE store_id = ${storeId} AND id % 3 = 0`.execute(database.db);
      // Members with no name, no e-mail and no activity (they sort last), and lifetime points that
      // differ from balances and tie often.
      for (let i = 0; i < 40; i++) {
        await sql`INSERT INTO customers (store_id, external_id, created_at) VALUES (${storeId}, ${`bare-${i}`}, ${now})`.execute(database.db);
      }
      await sql`INSERT INTO customers (store_id, email, created_at) VALUES (${storeId}, 'only.email@example.com', ${now})`.execute(database.db);
      rows = (await sql<Row>`SELECT id, external_id, email, name_norm, last_name_norm, balance, lifetime_points, tier_changed_at, last_activity_at
        FROM customers WHERE store_id = ${storeId}`.execute(database.db)).rows.map((r) => ({
        ...r,
        id: Number(r.id),
        balance: Number(r.balance),
        lifetime_points: Number(r.lifetime_points),
        tier_changed_at: r.tier_changed_at === null ? null : Number(r.tier_changed_at),
        last_activity_at: r.last_activity_at === null ? null : Number(r.last_activity_at),
      }));
      firstId = Math.min(...rows.map((r) => r.id));
    });
    afterAll(() => database.drop());

    const external = () => rows[123].external_id!;
    const filters = (): [string, CustomerFilter][] => [
      ['inactive for a year', { lastActivityBefore: iso(now - 365 * DAY) }],
      ['active in the last 30 days', { lastActivityAfter: iso(now - 30 * DAY) }],
      ['active within a month a year ago', { lastActivityAfter: iso(now - 395 * DAY), lastActivityBefore: iso(now - 365 * DAY) }],
      ['tier changed in the last 10 days', { tierChangedAfter: iso(now - 10 * DAY) }],
      ['one letter beside a balance range', { search: 'o', minBalance: 2000, maxBalance: 4000 }],
      ['a first name beside a date', { search: 'Sophia', lastActivityBefore: iso(now - 200 * DAY) }],
      ['a last name beside a tier change', { search: 'tan', tierChangedAfter: iso(now - 30 * DAY) }],
      ['an e-mail prefix beside a balance', { search: 'liam.', minBalance: 1 }],
      ['an external id beside a balance it has', { search: external(), minBalance: 0 }],
      ['a search that matches no one beside a date', { search: 'zzq', lastActivityAfter: iso(now - 30 * DAY) }],
    ];

    /** Every id a filter's pages hold, walked newest first 50 at a time by keyset. */
    async function walk(f: CustomerFilter, plan: FilterPlan | 'own'): Promise<number[]> {
      const ids: number[] = [];
      let beforeId: number | undefined;
      for (let pages = 0; pages < 1000; pages++) {
        const page = { limit: 50, ...(beforeId === undefined ? {} : { beforeId }) };
        const data =
          plan === 'own'
            ? (await listCustomers(database.db, storeId, f, page)).data.map((c) => c.id)
            : (await customerListQuery(database.db, storeId, f, page, plan).execute()).slice(0, 50).map((c) => Number(c.id));
        ids.push(...data);
        if (data.length < 50) return ids;
        beforeId = data[data.length - 1];
      }
      throw new Error('more pages than customers');
    }

    it('holds exactly the matching customers of the store, newest first, whichever way each range and the store are read', async () => {
      let nonEmpty = 0;
      for (const [label, f] of filters()) {
        const expected = rows.filter((r) => matches(r, f)).map((r) => r.id).sort((a, b) => b - a);
        if (expected.length > 0) nonEmpty++;
        const plans: (FilterPlan | 'own')[] = [{}, ALL_BROAD, { walkFrom: firstId }, { ...ALL_BROAD, walkFrom: firstId }, 'own'];
        for (const plan of plans) expect(await walk(f, plan), `${label}, plan ${JSON.stringify(plan)}`).toEqual(expected);
      }
      expect(nonEmpty).toBeGreaterThanOrEqual(filters().length - 1);
    });

    /** Every id of a sorted list, walked page by page with its cursors. */
    async function walkSorted(f: CustomerFilter, sort: CustomerSort, limit: number): Promise<number[]> {
      const ids: number[] = [];
      let page: SortedPageRequest = { limit, sort };
      for (let pages = 0; pages < 1000; pages++) {
        const got = await listCustomersSorted(database.db, storeId, f, page);
        ids.push(...got.data.map((c) => c.id));
        if (got.nextCursor === null) return ids;
        const after = decodeSortedCursor(got.nextCursor, sort);
        expect(after).toBeDefined();
        page = { limit, sort, after };
      }
      throw new Error('more pages than customers');
    }

    it('sorts by every key both ways, the customers without a value last, ties by id, across pages and beside filters', async () => {
      // Text is compared as the database's collation orders it; the paging, ties and nulls are the test's own.
      const rank = new Map<string, number>();
      for (const column of ['name_norm', 'email'] as const) {
        const values = await sql<{ v: string }>`SELECT DISTINCT ${sql.ref(column)} AS v FROM customers WHERE store_id = ${storeId} AND ${sql.ref(column)} IS NOT NULL ORDER BY v`.execute(database.db);
        values.rows.forEach((r, i) => rank.set(`${column}:${r.v}`, i));
      }
      const valueOf: Record<(typeof CUSTOMER_SORT_KEYS)[number], (r: Row) => number | null> = {
        createdAt: (r) => r.id,
        name: (r) => (r.name_norm === null ? null : rank.get(`name_norm:${r.name_norm}`)!),
        email: (r) => (r.email === null ? null : rank.get(`email:${r.email}`)!),
        balance: (r) => r.balance,
        lifetimePoints: (r) => r.lifetime_points,
        lastActivityAt: (r) => r.last_activity_at,
      };
      const cases: [string, CustomerFilter][] = [
        ['everyone', {}],
        ['a balance range', { minBalance: 1000, maxBalance: 4000 }],
        // Holds the 41 members without a name: pages of 37 end among them.
        ['no points', { maxBalance: 0 }],
        ['a one-letter search', { search: 'o' }],
        ['a search beside a date', { search: 'Sophia', lastActivityBefore: iso(now - 200 * DAY) }],
        ['a tier no one holds', { tierId: 999_999 }],
      ];
      for (const by of CUSTOMER_SORT_KEYS) {
        for (const order of ['asc', 'desc'] as const) {
          for (const [label, f] of cases) {
            const sign = order === 'asc' ? 1 : -1;
            const expected = rows
              .filter((r) => matches(r, f) && f.tierId === undefined)
              .sort((a, b) => {
                const [va, vb] = [valueOf[by](a), valueOf[by](b)];
                if (va === null || vb === null) return va === vb ? sign * (a.id - b.id) : va === null ? 1 : -1;
                return sign * (va - vb || a.id - b.id);
              })
              .map((r) => r.id);
            const limit = label === 'everyone' ? 500 : 37;
            expect(await walkSorted(f, { by, order }, limit), `${by} ${order}, ${label}`).toEqual(expected);
          }
        }
      }
    });

    it('refuses a sorted cursor for another order, and counts what a filter matches', async () => {
      const first = await listCustomersSorted(database.db, storeId, {}, { limit: 10, sort: { by: 'balance', order: 'desc' } });
      expect(decodeSortedCursor(first.nextCursor!, { by: 'balance', order: 'asc' })).toBeUndefined();
      expect(decodeSortedCursor(first.nextCursor!, { by: 'name', order: 'desc' })).toBeUndefined();
      expect(decodeSortedCursor('bm90IG91cnM', { by: 'name', order: 'desc' })).toBeUndefined();
      for (const [label, f] of [['everyone', {}] as [string, CustomerFilter], ...filters(), ['a balance range', { minBalance: 1000 }] as [string, CustomerFilter], ['one letter alone', { search: 'o' }] as [string, CustomerFilter], ['a name alone', { search: ' Sophia ' }] as [string, CustomerFilter]]) {
        expect(await countCustomers(database.db, storeId, f), label).toBe(rows.filter((r) => matches(r, f)).length);
      }
    });

    it('reads a page of the log by type the same whether it walks the table or the store index', async () => {
      const expected = (await sql<{ id: number }>`SELECT id FROM transactions WHERE store_id = ${storeId} AND type = 'import' ORDER BY id DESC`.execute(database.db)).rows.map((r) => Number(r.id));
      expect(expected.length).toBeGreaterThan(1000);
      const firstTx = expected[expected.length - 1];
      for (const walkFrom of [undefined, firstTx]) {
        const ids: number[] = [];
        let beforeId: number | undefined;
        for (;;) {
          const page = { limit: 500, ...(beforeId === undefined ? {} : { beforeId }) };
          const got = (await transactionListQuery(database.db, storeId, { type: 'import' }, page, walkFrom).execute()).slice(0, 500).map((t) => Number(t.id));
          ids.push(...got);
          if (got.length < 500) break;
          beforeId = got[got.length - 1];
        }
        expect(ids, `walkFrom ${walkFrom}`).toEqual(expected);
      }
      expect((await listTransactions(database.db, storeId, { type: 'import' }, { limit: 50 })).data.map((t) => t.id)).toEqual(expected.slice(0, 50));
    });

    it('walks the table only for a store that fills its id span (SQLite), never on PostgreSQL', async () => {
      const committer = createCommitter(database);
      const sparse = await committer.run((trx) => createStore(trx, { name: 'Sparse' }));
      await seedCustomers(database.db, committer, sparse.store.id, 1);
      const dense = await committer.run((trx) => createStore(trx, { name: 'Dense' }));
      await seedCustomers(database.db, committer, dense.store.id, 6_000);
      await seedCustomers(database.db, committer, sparse.store.id, 1);
      const denseFirst = Number((await sql<{ id: number }>`SELECT min(id) AS id FROM customers WHERE store_id = ${dense.store.id}`.execute(database.db)).rows[0].id);
      expect(await tableWalkFrom(database.db, 'customers', dense.store.id)).toBe(dialect === 'sqlite' ? denseFirst : undefined);
      expect(await tableWalkFrom(database.db, 'customers', sparse.store.id)).toBeUndefined();
      expect((await planCustomerFilter(database.db, dense.store.id, { minBalance: 10 })).walkFrom).toBe(dialect === 'sqlite' ? denseFirst : undefined);
      expect((await planCustomerFilter(database.db, dense.store.id, { minBalance: 10, tierId: 1 })).walkFrom).toBeUndefined();
      expect((await planCustomerFilter(database.db, dense.store.id, {})).walkFrom).toBeUndefined();
      expect((await planCustomerFilter(database.db, dense.store.id, {}, true)).walkFrom).toBe(dialect === 'sqlite' ? denseFirst : undefined);
    });

    it('marks a range broad once it holds 10,000 customers or more (SQLite), and never on PostgreSQL', async () => {
      const committer = createCommitter(database);
      const big = await committer.run((trx) => createStore(trx, { name: 'Big' }));
      await seedCustomers(database.db, committer, big.store.id, 24_000);
      const yearAgo = { lastActivityBefore: iso(now - 365 * DAY) }; // about half of them
      const lastWeek = { lastActivityAfter: iso(now - 7 * DAY) }; // about 1%
      const broadOf = async (f: CustomerFilter) => [...((await planCustomerFilter(database.db, big.store.id, f)).broad ?? [])];
      expect(await broadOf(yearAgo)).toEqual(dialect === 'sqlite' ? ['last_activity_at'] : []);
      expect(await broadOf(lastWeek)).toEqual([]);
      expect(await broadOf({ ...yearAgo, ...lastWeek })).toEqual([]);
    });
  });
}
