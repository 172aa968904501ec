import fc from 'fast-check';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { DIALECTS } from './support/databases.js';
import { aCustomer, assertLedgerInvariants } from './support/fixtures.js';
import { useServer } from './support/server.js';

type Op =
  | { kind: 'adjust'; who: number; points: number; affectsTier: boolean; stale: boolean }
  | { kind: 'reset'; who: number }
  | { kind: 'reverse'; pick: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('adjust' as const), who: fc.nat(2), points: fc.integer({ min: -400, max: 400 }).filter((p) => p !== 0), affectsTier: fc.boolean(), stale: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reset' as const), who: fc.nat(2) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('reverse' as const), pick: fc.nat() }) },
);

for (const dialect of DIALECTS) {
  describe(`${dialect}: ledger invariants`, () => {
    const ctx = useServer(dialect);

    it('keeps balance = Σ ledger, lifetime = Σ tier points and never negative under random adjustments, resets and reversals', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 25 }), async (ops) => {
          const customers = [await aCustomer(ctx.store), await aCustomer(ctx.store), await aCustomer(ctx.store)];
          const model = new Map(customers.map((c) => [c.id, { balance: 0, lifetime: 0 }]));
          const txIds: number[] = [];
          for (const o of ops) {
            if (o.kind === 'adjust') {
              const c = customers[o.who];
              const m = model.get(c.id)!;
              const body = { points: o.points, reason: 'Property test', affectsTier: o.affectsTier, ...(o.stale ? { expectedBalance: m.balance + 1 } : {}) };
              const res = await ctx.store.api('POST', `/v1/customers/${c.id}/adjustments`, body);
              if (o.stale) {
                expect(res.status).toBe(409);
              } else if (m.balance + o.points < 0) {
                expect(res.status).toBe(422);
                expect(res.body.error.code).toBe('insufficient_points');
              } else {
                expect(res.status, res.text).toBe(201);
                m.balance += o.points;
                if (o.affectsTier) m.lifetime = Math.max(0, m.lifetime + o.points);
                txIds.push(res.body.transaction.id);
              }
            } else if (o.kind === 'reset') {
              const c = customers[o.who];
              const res = await ctx.store.api('POST', `/v1/customers/${c.id}/reset`, { reason: 'Property reset' });
              expect(res.status).toBe(201);
              model.get(c.id)!.balance = 0;
              txIds.push(res.body.transaction.id);
            } else if (txIds.length > 0) {
              const id = txIds[o.pick % txIds.length];
              const res = await ctx.store.api('POST', `/v1/transactions/${id}/reverse`, { reason: 'Property reversal' });
              expect([201, 409, 422]).toContain(res.status);
              if (res.status === 201) {
                const m = model.get(res.body.transaction.customerId)!;
                m.balance = res.body.customer.balance;
                m.lifetime = res.body.customer.lifetimePoints;
              }
            }
          }
          for (const c of customers) {
            const now = (await ctx.store.api('GET', `/v1/customers/${c.id}`)).body;
            expect(now.balance).toBe(model.get(c.id)!.balance);
            expect(now.balance).toBeGreaterThanOrEqual(0);
            expect(now.lifetimePoints).toBeGreaterThanOrEqual(0);
            const history = (await ctx.store.api('GET', `/v1/customers/${c.id}/transactions?limit=500`)).body.data as { points: number; tierPoints: number; balanceAfter: number }[];
            expect(history.reduce((s, t) => s + t.points, 0)).toBe(now.balance);
            expect(history.reduce((s, t) => s + t.tierPoints, 0)).toBe(now.lifetimePoints);
            expect(history.every((t) => t.balanceAfter >= 0)).toBe(true);
          }
          await assertLedgerInvariants(ctx.server.database, ctx.store.id);
        }),
        { numRuns: 12 },
      );
    });

    it('refuses UPDATE and DELETE on the ledger at the database level', async () => {
      const c = await aCustomer(ctx.store, { balance: 10 });
      const db = ctx.server.database.db;
      await expect(sql`UPDATE transactions SET points = 1000 WHERE customer_id = ${c.id}`.execute(db)).rejects.toThrow(/append-only/);
      await expect(sql`DELETE FROM transactions WHERE customer_id = ${c.id}`.execute(db)).rejects.toThrow(/append-only/);
      const rows = await db.selectFrom('transactions').select('points').where('customer_id', '=', c.id).execute();
      expect(rows).toEqual([{ points: 10 }]);
    });

    it('refuses a negative cached balance at the database level', async () => {
      const c = await aCustomer(ctx.store, { balance: 10 });
      await expect(sql`UPDATE customers SET balance = -1 WHERE id = ${c.id}`.execute(ctx.server.database.db)).rejects.toThrow();
    });
  });
}
