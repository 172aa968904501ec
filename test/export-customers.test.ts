import { Readable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import type { Customer } from '../src/domain/types.js';
import { customerCsvText } from '../src/ledger/export-customers.js';
import { parseImport } from '../src/ledger/import-parse.js';
import { seedCustomers } from '../src/ledger/seed.js';
import { DIALECTS } from './support/databases.js';
import { aCustomer } from './support/fixtures.js';
import { useServer } from './support/server.js';

const HEADER = 'id,externalId,email,firstName,lastName,balance,lifetimePoints,tier,createdAt';
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const dialect of DIALECTS) {
  describe(`${dialect}: customers export`, () => {
    const ctx = useServer(dialect);

    it('streams every customer with balance, lifetime points and tier, formula-safe, as a file an import of type=set reads', async () => {
      const store = await ctx.server.newStore('Customers export');
      await ctx.server.database.db.insertInto('tiers').values({ store_id: store.id, name: 'Gold', threshold: 100, entry_reward_points: null, created_at: Date.now() }).execute();
      const a = (await store.api('POST', '/v1/customers', { externalId: 'a-1', email: 'a@example.com', firstName: '=cmd', lastName: 'Ng' })).body as Customer;
      const b = (await store.api('POST', '/v1/customers', { email: 'b@example.com', firstName: 'Bo' })).body as Customer;
      await store.api('POST', `/v1/customers/${a.id}/adjustments`, { points: 150, reason: 'Opening balance' });
      await store.api('POST', `/v1/customers/${a.id}/adjustments`, { points: -40, reason: 'Spent some' });
      await store.api('POST', `/v1/customers/${b.id}/adjustments`, { points: 20, reason: 'Opening balance' });
      const res = await store.api('GET', '/v1/customers/export.csv');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/csv');
      expect(res.text.split(/\r?\n/)[0]).toBe(HEADER);
      const rows = parse(res.text, { columns: true }) as Record<string, string>[];
      const now = (await store.api('GET', `/v1/customers/${a.id}`)).body as Customer;
      expect(rows).toHaveLength(2);
      expect(rows[0]).toMatchObject({ id: String(a.id), externalId: 'a-1', email: 'a@example.com', firstName: "'=cmd", balance: '110', lifetimePoints: String(now.lifetimePoints), tier: now.tier?.name ?? '' });
      expect(rows[1]).toMatchObject({ id: String(b.id), externalId: '', balance: '20', lifetimePoints: '20', tier: '' });

      const read = [];
      for await (const batch of parseImport(Readable.from([Buffer.from(res.text)]), 'set')) read.push(...batch.rows, ...batch.errors);
      expect(read).toMatchObject([
        { line: 2, externalId: 'a-1', email: 'a@example.com', points: 110, lastName: 'Ng' },
        { line: 3, externalId: null, email: 'b@example.com', points: 20, firstName: 'Bo' },
      ]);
    });

    it('exports balances and lifetime points as of a past moment from the ledger, leaving out later customers', async () => {
      const store = await ctx.server.newStore('As of');
      const a = (await store.api('POST', '/v1/customers', { email: 'past@example.com' })).body as Customer;
      await store.api('POST', `/v1/customers/${a.id}/adjustments`, { points: 70, reason: 'Opening balance' });
      await pause(5);
      const moment = new Date().toISOString();
      await pause(5);
      await store.api('POST', `/v1/customers/${a.id}/adjustments`, { points: -30, reason: 'Later spend' });
      await store.api('POST', '/v1/customers', { email: 'later@example.com' });
      const then = parse((await store.api('GET', `/v1/customers/export.csv?asOf=${encodeURIComponent(moment)}`)).text, { columns: true }) as Record<string, string>[];
      expect(then.map((r) => [r.email, r.balance, r.lifetimePoints])).toEqual([['past@example.com', '70', '70']]);
      const now = parse((await store.api('GET', '/v1/customers/export.csv')).text, { columns: true }) as Record<string, string>[];
      expect(now.map((r) => [r.email, r.balance])).toEqual([['past@example.com', '40'], ['later@example.com', '0']]);
    });

    it('applies the list filters, and refuses a time without a zone as a JSON error', async () => {
      const store = await ctx.server.newStore('Filtered');
      const rich = (await store.api('POST', '/v1/customers', { email: 'rich@example.com' })).body as Customer;
      await store.api('POST', '/v1/customers', { email: 'poor@example.com' });
      await store.api('POST', `/v1/customers/${rich.id}/adjustments`, { points: 500, reason: 'Opening balance' });
      const rows = parse((await store.api('GET', '/v1/customers/export.csv?minBalance=100')).text, { columns: true }) as Record<string, string>[];
      expect(rows.map((r) => r.email)).toEqual(['rich@example.com']);
      const bad = await store.api('GET', '/v1/customers/export.csv?asOf=2025-01-01T00:00:00');
      expect(bad.status).toBe(422);
      expect(bad.body.error.code).toBe('validation_error');
    });

    it('streams more customers than one read batch, each once, in id order', async () => {
      const store = await ctx.server.newStore('Big customers export');
      await seedCustomers(ctx.server.database.db, ctx.server.committer, store.id, 2500);
      const rows = parse((await store.api('GET', '/v1/customers/export.csv')).text, { columns: true }) as Record<string, string>[];
      const ids = rows.map((r) => Number(r.id));
      expect(ids).toHaveLength(2500);
      expect(ids).toEqual([...new Set(ids)].sort((x, y) => x - y));
    });

    it('writes the same bytes whether the reader thread formats the rows (SQLite) or the serving thread does, now and as of a moment', async () => {
      const store = await ctx.server.newStore('Customers export twins');
      await ctx.server.database.db.insertInto('tiers').values({ store_id: store.id, name: 'Gold, "1st"', threshold: 40, entry_reward_points: null, created_at: Date.now() }).execute();
      await seedCustomers(ctx.server.database.db, ctx.server.committer, store.id, 2500);
      await aCustomer(store, { balance: 50, externalId: '=ext,"1"', email: '+a@example.com', firstName: 'Said "hi",\r\nthen', lastName: '-left' });
      await pause(5);
      const moment = new Date().toISOString();
      await aCustomer(store, { balance: 7, firstName: '@later' });
      for (const query of ['', `?asOf=${encodeURIComponent(moment)}`, '?minBalance=100']) {
        const served = await store.api('GET', `/v1/customers/export.csv${query}`);
        expect(served.status).toBe(200);
        // The writer's handle has no reader thread: the same formatter runs here.
        let here = '';
        const params = new URLSearchParams(query);
        const asOf = params.get('asOf') ?? undefined;
        const filter = params.has('minBalance') ? { minBalance: Number(params.get('minBalance')) } : {};
        for await (const piece of customerCsvText(ctx.server.database.db, store.id, filter, asOf)) here += piece.text;
        expect(served.text).toBe(here);
      }
      const rows = parse((await store.api('GET', '/v1/customers/export.csv')).text, { columns: true }) as Record<string, string>[];
      expect(rows).toHaveLength(2502);
      expect(rows[2500]).toMatchObject({ externalId: '\'=ext,"1"', email: "'+a@example.com", firstName: 'Said "hi",\r\nthen', lastName: "'-left", balance: '50', tier: 'Gold, "1st"' });
      expect(rows[2501]).toMatchObject({ firstName: "'@later", balance: '7', tier: '' });
    });
  });
}
