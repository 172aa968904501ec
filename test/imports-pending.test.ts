import { createHmac } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY_MS } from '../src/ledger/expiry.js';
import { DIALECTS } from './support/databases.js';
import { aCustomer, assertLedgerInvariants } from './support/fixtures.js';
import { request, runExpiry, startServer, type TestServer, type TestStore, waitForJob } from './support/server.js';

const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();
const csv = (lines: string[]) => `${lines.join('\n')}\n`;

/**
 * Import rows carrying a credit's dates (availableAt, expiresAt), as single adjustments do: a
 * future availableAt makes a pending credit of the row — out of the balance, not spendable, not
 * for tiers — which the expiry run matures once; an expiresAt goes into the credit's lot.
 */
for (const dialect of DIALECTS) {
  describe(`${dialect}: imports with availableAt and expiresAt`, () => {
    let server: TestServer;
    beforeAll(async () => {
      // Small chunks: every import below spans several chunk transactions.
      server = await startServer(dialect, { workers: { chunkSize: 2, idleMs: 20 } });
    });
    afterAll(async () => {
      await assertLedgerInvariants(server.database);
      await server.close();
    });

    const upload = (s: TestStore, query: string, body: string) => s.api('POST', `/v1/imports?${query}`, body, { 'content-type': 'text/csv' });
    async function imported(s: TestStore, query: string, body: string) {
      const res = await upload(s, query, body);
      expect(res.status, res.text).toBe(202);
      const job = await waitForJob(s, res.body.job.id);
      expect(job.status, JSON.stringify(job)).toBe('completed');
      return job;
    }
    async function errorsOf(s: TestStore, jobId: number) {
      const res = await s.api('GET', `/v1/jobs/${jobId}/errors.csv`);
      return (parse(res.text, { columns: true }) as Record<string, string>[]).map((r) => [Number(r.line), r.column, r.code]).sort((a, b) => (a[0] as number) - (b[0] as number));
    }
    const customer = async (s: TestStore, id: number) => (await s.api('GET', `/v1/customers/${id}`)).body;
    async function expire(s: TestStore, asOf: number) {
      const done = await runExpiry(server, s, asOf);
      expect(done.status, JSON.stringify(done)).toBe('completed');
      return done;
    }
    async function lotsOf(customerId: number) {
      const r = await sql<{ remaining: number; expires_at: number | null }>`SELECT remaining, expires_at FROM point_lots WHERE customer_id = ${customerId} ORDER BY id`.execute(server.database.db);
      return r.rows.map((l) => [Number(l.remaining), l.expires_at === null ? null : Number(l.expires_at)]);
    }
    async function rowsOf(customerId: number) {
      return server.database.db.selectFrom('transactions').select(['id', 'type', 'points', 'reverses_id', 'idempotency_key']).where('customer_id', '=', customerId).orderBy('id').execute();
    }

    it('keeps future-availableAt rows pending (listed, not spendable, previewed apart) until the expiry run matures them, once', async () => {
      const s = await server.newStore('pending');
      const a = await aCustomer(s, { balance: 10, email: 'a@example.com' });
      const b = await aCustomer(s, { email: 'b@example.com' });
      const c = await aCustomer(s, { email: 'c@example.com' });
      const d = await aCustomer(s, { balance: 20, email: 'd@example.com' });
      const now = Date.now();
      const at = now + HOUR;
      const expires = now + 30 * DAY_MS;
      const file = csv([
        'email,points,Available From,Expiry Date,Customer Message',
        `a@example.com,100,${iso(at)},,For order #1`,
        `b@example.com,50,${iso(now - HOUR)},,`,
        `c@example.com,30,,${iso(expires)},`,
        `d@example.com,-5,${iso(at)},,`,
        `e@example.com,5,2030-01-01T10:00:00,,`,
        `e@example.com,5,${iso(at)},${iso(at - 1)},`,
        `e@example.com,5,,${iso(now - DAY_MS)},`,
      ]);
      const dry = await upload(s, 'type=add&dryRun=true', file);
      expect(dry.status, dry.text).toBe(200);
      expect(dry.body.preview).toMatchObject({ rows: 7, valid: 3, invalid: 4, totalPoints: 80, pendingPoints: 100 });
      expect(dry.body.preview.errors.map((e: { line: number; column: string; code: string }) => [e.line, e.column, e.code])).toEqual([
        [5, 'Available From', 'invalid_date'],
        [6, 'Available From', 'invalid_date'],
        [7, 'Expiry Date', 'invalid_date'],
        [8, 'Expiry Date', 'invalid_date'],
      ]);

      const job = await imported(s, 'type=add', file);
      expect(job).toMatchObject({ total: 7, succeeded: 3, failed: 4, totalPoints: dry.body.preview.totalPoints });
      expect(await errorsOf(s, job.id)).toEqual(dry.body.preview.errors.map((e: { line: number; column: string; code: string }) => [e.line, e.column, e.code]));
      expect(await customer(s, a.id)).toMatchObject({ balance: 10, pendingPoints: 100, lifetimePoints: 10 });
      expect(await customer(s, b.id)).toMatchObject({ balance: 50, pendingPoints: 0 });
      expect(await customer(s, c.id)).toMatchObject({ balance: 30, pendingPoints: 0 });
      expect(await customer(s, d.id)).toMatchObject({ balance: 20 });
      const [pendingRow] = (await rowsOf(a.id)).filter((t) => t.type === 'pending');
      expect(pendingRow).toMatchObject({ points: 0 });
      const list = (await s.api('GET', `/v1/customers/${a.id}/pending`)).body.data;
      expect(list).toEqual([expect.objectContaining({ transactionId: pendingRow.id, points: 100, availableAt: iso(at), status: 'pending', customerMessage: 'For order #1' })]);
      const shop = await request(`${server.url}/v1/storefront/${s.id}/customers/${encodeURIComponent(a.externalId!)}`, 'GET', undefined, {
        'tally-customer-digest': createHmac('sha256', s.storefrontSecret).update(a.externalId!).digest('hex'),
      });
      expect(shop.body).toMatchObject({ balance: 10, pendingPoints: 100, pending: [expect.objectContaining({ points: 100, availableAt: iso(at) })] });
      expect(await lotsOf(c.id)).toEqual([[30, expires]]);

      // Not spendable: a deduction beyond the balance is refused.
      expect((await s.api('POST', `/v1/customers/${a.id}/adjustments`, { points: -50, reason: 'Too soon' })).status).toBe(422);
      expect((await expire(s, now)).totalPoints).toBe(0);
      expect(await customer(s, a.id)).toMatchObject({ balance: 10, pendingPoints: 100 });

      expect((await expire(s, at + 1)).totalPoints).toBe(100);
      expect(await customer(s, a.id)).toMatchObject({ balance: 110, pendingPoints: 0, lifetimePoints: 110 });
      expect((await expire(s, at + 2)).totalPoints).toBe(0);
      const matured = (await rowsOf(a.id)).filter((t) => t.idempotency_key === `pending:${pendingRow.id}`);
      expect(matured).toMatchObject([{ type: 'adjustment', points: 100 }]);
      expect((await s.api('GET', `/v1/customers/${a.id}/pending`)).body.data).toEqual([]);
      expect((await s.api('POST', `/v1/customers/${a.id}/adjustments`, { points: -50, reason: 'Now it is there' })).status).toBe(201);
      await assertLedgerInvariants(server.database, s.id);
    });

    it('gives a pending row an explicit expiry that its lot keeps once matured, and accepts the aliases', async () => {
      const s = await server.newStore('pending expiry');
      const a = await aCustomer(s, { externalId: 'px-1' });
      const now = Date.now();
      const at = now + HOUR;
      const expires = now + 10 * DAY_MS;
      const job = await imported(s, 'type=add', csv(['external_id,points,pending_until,expires_at', `px-1,70,${iso(at)},${iso(expires)}`]));
      expect(job).toMatchObject({ succeeded: 1, totalPoints: 0 });
      expect(await customer(s, a.id)).toMatchObject({ balance: 0, pendingPoints: 70 });
      await expire(s, at + 1);
      expect(await lotsOf(a.id)).toEqual([[70, expires]]);
      expect((await expire(s, expires + 1)).totalPoints).toBe(-70);
      expect(await customer(s, a.id)).toMatchObject({ balance: 0, lifetimePoints: 70 });
    });

    it('reverts an import: a credit still pending is cancelled, a matured one reversed, the rest reversed as usual', async () => {
      const s = await server.newStore('pending revert');
      const x = await aCustomer(s, { email: 'x@example.com' });
      const y = await aCustomer(s, { email: 'y@example.com' });
      const z = await aCustomer(s, { email: 'z@example.com' });
      const now = Date.now();
      const file = csv(['email,points,availableAt', `x@example.com,40,${iso(now + HOUR)}`, `y@example.com,60,${iso(now + 5 * HOUR)}`, 'z@example.com,25,']);
      const job = await imported(s, 'type=add', file);
      expect(job).toMatchObject({ succeeded: 3, totalPoints: 25 });
      expect((await expire(s, now + HOUR + 1)).totalPoints).toBe(40);
      expect(await customer(s, x.id)).toMatchObject({ balance: 40, pendingPoints: 0 });
      expect(await customer(s, y.id)).toMatchObject({ balance: 0, pendingPoints: 60 });

      const revert = await s.api('POST', `/v1/jobs/${job.id}/revert`, { reason: 'Wrong file' });
      expect(revert.status, revert.text).toBe(202);
      const done = await waitForJob(s, revert.body.job.id);
      expect(done).toMatchObject({ status: 'completed', processed: 3, succeeded: 3, skipped: 0, totalPoints: -65 });
      expect(await customer(s, x.id)).toMatchObject({ balance: 0, pendingPoints: 0, lifetimePoints: 0 });
      expect(await customer(s, y.id)).toMatchObject({ balance: 0, pendingPoints: 0 });
      expect(await customer(s, z.id)).toMatchObject({ balance: 0 });
      const xs = await rowsOf(x.id);
      const maturedX = xs.find((t) => t.idempotency_key?.startsWith('pending:'));
      expect(xs.find((t) => t.type === 'reversal')).toMatchObject({ points: -40, reverses_id: maturedX?.id });
      const ys = await rowsOf(y.id);
      const pendingY = ys.find((t) => t.type === 'pending')!;
      expect(ys.map((t) => [t.type, t.points, t.reverses_id])).toEqual([['pending', 0, null], ['pending_cancelled', 0, pendingY.id]]);
      const credit = await server.database.db.selectFrom('pending_credits').select(['status', 'settled_transaction_id']).where('transaction_id', '=', pendingY.id).executeTakeFirstOrThrow();
      expect(credit).toEqual({ status: 'cancelled', settled_transaction_id: ys[1].id });
      expect((await s.api('GET', `/v1/customers/${y.id}/pending`)).body.data).toEqual([]);
      const cancel = await s.api('POST', `/v1/customers/${y.id}/pending/${pendingY.id}/cancel`, { reason: 'Again' });
      expect(cancel.status).toBe(409);
      // The cancelled credit never matures.
      expect((await expire(s, now + 6 * HOUR)).totalPoints).toBe(0);
      expect(await customer(s, y.id)).toMatchObject({ balance: 0, pendingPoints: 0 });
      await assertLedgerInvariants(server.database, s.id);
    });

    it('brings a history row with a future availableAt over as pending, one in the past as applied, counting neither pending points nor their tier points', async () => {
      const s = await server.newStore('pending history');
      const future = Date.now() + 2 * HOUR;
      const file = csv([
        'externalId,points,tierPoints,createdAt,availableAt',
        'h-1,100,,2024-01-01T00:00:00Z,',
        `h-1,50,,2024-02-01T00:00:00Z,${iso(future)}`,
        'h-1,-120,,2024-03-01T00:00:00Z,',
        'h-2,30,,2024-01-01T00:00:00Z,2024-01-02T00:00:00Z',
        `h-2,10,5,2024-01-03T00:00:00Z,${iso(future)}`,
        `h-2,15,0,2024-01-04T00:00:00Z,${iso(future)}`,
      ]);
      const dry = await upload(s, 'type=history&dryRun=true', file);
      expect(dry.body.preview).toMatchObject({ valid: 4, invalid: 2, totalPoints: 130, pendingPoints: 65 });
      const job = await imported(s, 'type=history', file);
      expect(job).toMatchObject({ total: 6, succeeded: 4, failed: 2, totalPoints: dry.body.preview.totalPoints });
      expect(await errorsOf(s, job.id)).toEqual([
        [4, 'points', 'insufficient_points'],
        [6, 'tierPoints', 'invalid_value'],
      ]);
      const h1 = (await s.api('GET', '/v1/customers?externalId=h-1')).body.data[0];
      const h2 = (await s.api('GET', '/v1/customers?externalId=h-2')).body.data[0];
      expect(h1).toMatchObject({ balance: 100, pendingPoints: 50, lifetimePoints: 100 });
      expect(h2).toMatchObject({ balance: 30, pendingPoints: 15, lifetimePoints: 30 });
      const history = (await s.api('GET', `/v1/customers/${h1.id}/transactions`)).body.data;
      expect(history.map((t: { type: string; points: number; createdAt: string }) => [t.type, t.points, t.createdAt])).toEqual([
        ['pending', 0, '2024-02-01T00:00:00.000Z'],
        ['import', 100, '2024-01-01T00:00:00.000Z'],
      ]);
      await expire(s, future + 1);
      // h-2's pending row had 0 tier points: it matures without counting for the tier.
      expect(await customer(s, h1.id)).toMatchObject({ balance: 150, pendingPoints: 0, lifetimePoints: 150 });
      expect(await customer(s, h2.id)).toMatchObject({ balance: 45, pendingPoints: 0, lifetimePoints: 30 });
      await assertLedgerInvariants(server.database, s.id);
    });

    it('refuses the credit dates on a set import, by line and column', async () => {
      const s = await server.newStore('pending set');
      await aCustomer(s, { email: 's@example.com', balance: 5 });
      const job = await imported(s, 'type=set', csv(['email,points,expiration_date', `s@example.com,9,${iso(Date.now() + DAY_MS)}`]));
      expect(job).toMatchObject({ succeeded: 0, failed: 1 });
      expect(await errorsOf(s, job.id)).toEqual([[2, 'expiration_date', 'invalid_date']]);
    });
  });
}
