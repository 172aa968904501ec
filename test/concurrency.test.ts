import { Agent, request as httpRequest } from 'node:http';
import type { Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import type { Transaction } from '../src/domain/types.js';
import { DIALECTS } from './support/databases.js';
import { aCustomer, assertLedgerInvariants } from './support/fixtures.js';
import { type TestServer, type TestStore, useServer } from './support/server.js';

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
  text: string;
}

/**
 * Enough sockets for every request of a burst to be in flight at the same moment (fetch's pool
 * would be an unstated limit); each request of a burst gets its own connection.
 */
const agent = new Agent({ keepAlive: false, maxSockets: 256 });
afterAll(() => agent.destroy());

function post(server: TestServer, store: TestStore, path: string, body: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, server.url);
    const req = httpRequest(
      url,
      {
        method: 'POST',
        agent,
        headers: { authorization: `Bearer ${store.apiKey}`, 'content-type': 'application/json', ...headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text), text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Fires `count` requests at once; resolves with every answer and how many connections the server saw. */
async function burst(server: TestServer, count: number, send: (i: number) => Promise<RawResponse>): Promise<{ results: RawResponse[]; connections: number }> {
  let connections = 0;
  const onConnection = (_socket: Socket) => (connections += 1);
  server.app.server.on('connection', onConnection);
  try {
    const results = await Promise.all(Array.from({ length: count }, (_, i) => send(i)));
    return { results, connections };
  } finally {
    server.app.server.off('connection', onConnection);
  }
}

const codes = (results: RawResponse[]) => results.map((r) => (r.status === 201 ? 201 : `${r.status} ${r.body.error?.code}`));

for (const dialect of DIALECTS) {
  describe(`${dialect}: concurrent writes`, () => {
    const ctx = useServer(dialect);
    const adjustments = (id: number) => `/v1/customers/${id}/adjustments`;

    it('lets exactly 100 of 200 simultaneous deductions of 10 through against a balance of 1,000', async () => {
      const c = await aCustomer(ctx.store, { balance: 1000 });
      const body = JSON.stringify({ points: -10, reason: 'Concurrent spend' });
      const { results, connections } = await burst(ctx.server, 200, () => post(ctx.server, ctx.store, adjustments(c.id), body));
      expect(connections).toBeGreaterThanOrEqual(200);
      const statuses = codes(results);
      expect(statuses.filter((s) => s === 201)).toHaveLength(100);
      expect(statuses.filter((s) => s === '422 insufficient_points')).toHaveLength(100);
      const refused = results.find((r) => r.status === 422)!;
      expect(refused.body.error.details).toMatchObject({ customerId: c.id, balance: 0, requested: 10 });
      const afters = results.filter((r) => r.status === 201).map((r) => r.body.transaction.balanceAfter).sort((a, b) => a - b);
      expect(afters).toEqual(Array.from({ length: 100 }, (_, i) => i * 10));
      expect((await ctx.store.api('GET', `/v1/customers/${c.id}`)).body).toMatchObject({ balance: 0, lifetimePoints: 0 });
      const history = (await ctx.store.api('GET', `/v1/customers/${c.id}/transactions?limit=500`)).body.data;
      expect(history).toHaveLength(101);
      await assertLedgerInvariants(ctx.server.database, ctx.store.id);
    });

    it('keeps every acknowledged credit and deduction when they race on one customer', async () => {
      const c = await aCustomer(ctx.store, { balance: 50 });
      const points = (i: number) => (i % 3 === 0 ? 7 : -5);
      const { results } = await burst(ctx.server, 150, (i) =>
        post(ctx.server, ctx.store, adjustments(c.id), JSON.stringify({ points: points(i), reason: 'Racing credit or debit' })),
      );
      let expected = 50;
      results.forEach((r, i) => {
        if (r.status === 201) expected += points(i);
        else expect(`${r.status} ${r.body.error.code}`).toBe('422 insufficient_points');
      });
      expect((await ctx.store.api('GET', `/v1/customers/${c.id}`)).body.balance).toBe(expected);
      await assertLedgerInvariants(ctx.server.database, ctx.store.id);
    });

    it('applies 50 simultaneous identical requests with one Idempotency-Key exactly once', async () => {
      const c = await aCustomer(ctx.store, { balance: 100 });
      const key = `burst-${dialect}`;
      const body = JSON.stringify({ points: 25, reason: 'Retried by a flaky client' });
      const { results } = await burst(ctx.server, 50, () => post(ctx.server, ctx.store, adjustments(c.id), body, { 'idempotency-key': key }));
      const applied = results.filter((r) => r.status === 201);
      expect(applied.length).toBeGreaterThanOrEqual(1);
      expect(applied.filter((r) => r.headers['idempotent-replayed'] === undefined)).toHaveLength(1);
      for (const r of applied) expect(r.body).toEqual(applied[0].body);
      for (const r of results.filter((x) => x.status !== 201)) {
        expect(r.status, r.text).toBe(409);
        expect(r.body.error.code).toBe('idempotency_key_in_progress');
      }
      const rows = await ctx.server.database.db.selectFrom('transactions').select('id').where('idempotency_key', '=', key).execute();
      expect(rows).toEqual([{ id: applied[0].body.transaction.id }]);
      expect((await ctx.store.api('GET', `/v1/customers/${c.id}`)).body.balance).toBe(125);
      const later = await post(ctx.server, ctx.store, adjustments(c.id), body, { 'idempotency-key': key });
      expect(later.status).toBe(201);
      expect(later.body).toEqual(applied[0].body);
      expect(later.headers['idempotent-replayed']).toBe('true');
    });

    it('replays the first response, status and body, for a repeated Idempotency-Key, even after the balance moved', async () => {
      const c = await aCustomer(ctx.store, { balance: 100 });
      const headers = { 'idempotency-key': `replay-${dialect}` };
      const first = await ctx.store.api('POST', adjustments(c.id), { points: 5, reason: 'Once only' }, headers);
      expect(first.status).toBe(201);
      expect(first.headers.get('idempotent-replayed')).toBeNull();
      await ctx.store.api('POST', adjustments(c.id), { points: 40, reason: 'Something else meanwhile' });
      const again = await ctx.store.api('POST', adjustments(c.id), { points: 5, reason: 'Once only' }, headers);
      expect(again.status).toBe(201);
      expect(again.text).toBe(first.text);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect((await ctx.store.api('GET', `/v1/customers/${c.id}`)).body.balance).toBe(145);
    });

    it('treats the same body with its JSON keys in another order as the same request', async () => {
      const c = await aCustomer(ctx.store, { balance: 100 });
      const headers = { 'idempotency-key': `key-order-${dialect}` };
      const first = await post(ctx.server, ctx.store, adjustments(c.id), '{"points":5,"reason":"Key order","affectsTier":false}', headers);
      const reordered = await post(ctx.server, ctx.store, adjustments(c.id), '{ "affectsTier": false, "reason": "Key order", "points": 5 }', headers);
      expect(first.status).toBe(201);
      expect(reordered.status).toBe(201);
      expect(reordered.body).toEqual(first.body);
      expect(reordered.headers['idempotent-replayed']).toBe('true');
      expect((await ctx.store.api('GET', `/v1/customers/${c.id}`)).body.balance).toBe(105);
    });

    it('refuses a repeated Idempotency-Key with a different body, or on another route, as idempotency_key_reused', async () => {
      const c = await aCustomer(ctx.store, { balance: 100 });
      const headers = { 'idempotency-key': `reused-${dialect}` };
      expect((await ctx.store.api('POST', adjustments(c.id), { points: 5, reason: 'Once only' }, headers)).status).toBe(201);
      for (const [path, body] of [
        [adjustments(c.id), { points: 6, reason: 'Once only' }],
        [adjustments(c.id), { points: 5, reason: 'Once only', customerMessage: 'hi' }],
        [`/v1/customers/${c.id}/reset`, { reason: 'Once only' }],
      ] as const) {
        const res = await ctx.store.api('POST', path, body, headers);
        expect(res.status, `${path} ${JSON.stringify(body)}`).toBe(409);
        expect(res.body.error.code).toBe('idempotency_key_reused');
      }
      expect((await ctx.store.api('GET', `/v1/customers/${c.id}`)).body.balance).toBe(105);
    });

    it('replays resets, reversals and customer creation too', async () => {
      const c = await aCustomer(ctx.store, { balance: 100 });
      const twice = async (path: string, body: unknown, key: string) => {
        const first = await ctx.store.api('POST', path, body, { 'idempotency-key': `${key}-${dialect}` });
        const again = await ctx.store.api('POST', path, body, { 'idempotency-key': `${key}-${dialect}` });
        expect(first.status, first.text).toBe(201);
        expect([again.status, again.text]).toEqual([first.status, first.text]);
        return first;
      };
      const credit = await twice(adjustments(c.id), { points: 50, reason: 'Credit to reverse' }, 'credit');
      await twice(`/v1/transactions/${credit.body.transaction.id}/reverse`, { reason: 'Undo the credit' }, 'reverse');
      await twice(`/v1/customers/${c.id}/reset`, { reason: 'Start over' }, 'reset');
      const created = await twice('/v1/customers', { externalId: `idem-${dialect}` }, 'create');
      expect((await ctx.store.api('GET', `/v1/customers?externalId=idem-${dialect}`)).body.data.map((x: { id: number }) => x.id)).toEqual([created.body.id]);
      const types = (await ctx.store.api('GET', `/v1/customers/${c.id}/transactions`)).body.data.map((t: Transaction) => t.type);
      expect(types).toEqual(['reset', 'reversal', 'adjustment', 'adjustment']);
    });

    it('scopes Idempotency-Keys to the store', async () => {
      const other = await ctx.server.newStore('Other');
      const a = await aCustomer(ctx.store);
      const b = await aCustomer(other);
      const headers = { 'idempotency-key': `shared-key-${dialect}` };
      const fromA = await ctx.store.api('POST', adjustments(a.id), { points: 1, reason: 'Store A' }, headers);
      const fromB = await other.api('POST', adjustments(b.id), { points: 1, reason: 'Store B' }, headers);
      expect([fromA.status, fromB.status]).toEqual([201, 201]);
      expect(fromB.headers.get('idempotent-replayed')).toBeNull();
      expect(fromB.body.transaction.id).not.toBe(fromA.body.transaction.id);
    });

    it('stores a request refused by a business rule: a retry with the key replays the refusal, a new key goes through', async () => {
      const c = await aCustomer(ctx.store, { balance: 5 });
      const headers = { 'idempotency-key': `refused-${dialect}` };
      const body = { points: -10, reason: 'Too early' };
      expect((await ctx.store.api('POST', adjustments(c.id), body, headers)).status).toBe(422);
      await ctx.store.api('POST', adjustments(c.id), { points: 5, reason: 'Top up' });
      expect((await ctx.store.api('POST', adjustments(c.id), body, headers)).status).toBe(422);
      const retry = await ctx.store.api('POST', adjustments(c.id), body, { 'idempotency-key': `refused-${dialect}-2` });
      expect(retry.status).toBe(201);
    });

    it('reverses a transaction once when 30 reversals of it race', async () => {
      const c = await aCustomer(ctx.store, { balance: 100 });
      const credit = await ctx.store.api('POST', adjustments(c.id), { points: 10, reason: 'Credit to reverse' });
      const body = JSON.stringify({ reason: 'Racing reversal' });
      const { results } = await burst(ctx.server, 30, () => post(ctx.server, ctx.store, `/v1/transactions/${credit.body.transaction.id}/reverse`, body));
      const statuses = codes(results);
      expect(statuses.filter((s) => s === 201)).toHaveLength(1);
      expect(statuses.filter((s) => s === '409 already_reversed')).toHaveLength(29);
      expect((await ctx.store.api('GET', `/v1/customers/${c.id}`)).body.balance).toBe(100);
    });

    it('creates one customer when 30 creations with the same externalId race', async () => {
      const body = JSON.stringify({ externalId: `race-${dialect}` });
      const { results } = await burst(ctx.server, 30, () => post(ctx.server, ctx.store, '/v1/customers', body));
      const statuses = codes(results);
      expect(statuses.filter((s) => s === 201)).toHaveLength(1);
      expect(statuses.filter((s) => s === '409 customer_exists')).toHaveLength(29);
      expect((await ctx.store.api('GET', `/v1/customers?externalId=race-${dialect}`)).body.data).toHaveLength(1);
    });

    it('names the e-mail as the clash when creations with one e-mail but different externalIds race', async () => {
      const { results } = await burst(ctx.server, 30, (i) =>
        post(ctx.server, ctx.store, '/v1/customers', JSON.stringify({ externalId: `race-mail-${dialect}-${i}`, email: `race-${dialect}@example.com` })),
      );
      expect(results.filter((r) => r.status === 201)).toHaveLength(1);
      for (const r of results.filter((x) => x.status !== 201)) {
        expect(r.status, r.text).toBe(409);
        expect(r.body.error).toMatchObject({ code: 'customer_exists', details: { field: 'email' } });
      }
    });
  });
}
