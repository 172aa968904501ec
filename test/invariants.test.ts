import fc from 'fast-check';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { Customer, Transaction } from '../src/domain/types.js';
import { DIALECTS } from './support/databases.js';
import { aCustomer, assertLedgerInvariants } from './support/fixtures.js';
import { type ApiResponse, type TestStore, useServer } from './support/server.js';

type ExpectedBalance = 'none' | 'current' | 'stale';

type Op =
  | { kind: 'adjust'; who: number; points: number; affectsTier: boolean; expected: ExpectedBalance }
  | { kind: 'reset'; who: number }
  | { kind: 'reverse'; pick: number };

const CUSTOMERS = 3;

const anOp: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('adjust' as const),
      who: fc.nat(CUSTOMERS - 1),
      points: fc.oneof(fc.integer({ min: -400, max: 400 }), fc.constantFrom(-100_000_000, 100_000_000)).filter((p) => p !== 0),
      affectsTier: fc.boolean(),
      expected: fc.constantFrom<ExpectedBalance>('none', 'none', 'current', 'stale'),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reset' as const), who: fc.nat(CUSTOMERS - 1) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('reverse' as const), pick: fc.nat() }) },
);

/** What the test expects the ledger to hold: each customer's totals and every row written. */
interface ModelRow {
  id: number;
  customerId: number;
  type: 'adjustment' | 'reset' | 'reversal';
  points: number;
  tierPoints: number;
  reversed: boolean;
}

class LedgerModel {
  readonly totals = new Map<number, { balance: number; lifetime: number }>();
  readonly rows: ModelRow[] = [];

  constructor(customers: Customer[]) {
    for (const c of customers) this.totals.set(c.id, { balance: 0, lifetime: 0 });
  }

  of(customerId: number) {
    return this.totals.get(customerId)!;
  }

  /** Records a written row and moves the customer's totals the way the ledger must have. */
  apply(customerId: number, type: ModelRow['type'], points: number, tierPoints: number, id: number): ModelRow {
    const t = this.of(customerId);
    t.balance += points;
    t.lifetime += tierPoints;
    const row = { id, customerId, type, points, tierPoints, reversed: false };
    this.rows.push(row);
    return row;
  }
}

/** `+ 0` turns a -0 from Math.max into 0, which is what JSON gives back. */
const lifetimeMove = (points: number, lifetime: number) => Math.max(points, -lifetime) + 0;

function expectRefusal(res: ApiResponse, status: number, code: string): void {
  expect(res.status, res.text).toBe(status);
  expect(res.body.error.code).toBe(code);
}

function expectWrite(res: ApiResponse<{ transaction: Transaction; customer: Customer }>, model: LedgerModel, row: Omit<ModelRow, 'id' | 'reversed'>): void {
  expect(res.status, res.text).toBe(201);
  expect(res.body.transaction).toMatchObject({ ...row, balanceAfter: model.of(row.customerId).balance + row.points });
  model.apply(row.customerId, row.type, row.points, row.tierPoints, res.body.transaction.id);
  const { balance, lifetime } = model.of(row.customerId);
  expect(res.body.customer).toMatchObject({ id: row.customerId, balance, lifetimePoints: lifetime });
}

/** Runs one operation and checks the answer is exactly the one the model predicts. */
async function runOp(store: TestStore, customers: Customer[], model: LedgerModel, op: Op): Promise<void> {
  if (op.kind === 'adjust') {
    const id = customers[op.who].id;
    const { balance, lifetime } = model.of(id);
    const expectedBalance = op.expected === 'current' ? balance : op.expected === 'stale' ? balance + 7 : undefined;
    const res = await store.api('POST', `/v1/customers/${id}/adjustments`, {
      points: op.points,
      reason: 'Property test',
      affectsTier: op.affectsTier,
      ...(expectedBalance === undefined ? {} : { expectedBalance }),
    });
    if (op.expected === 'stale') return expectRefusal(res, 409, 'balance_changed');
    if (balance + op.points < 0) return expectRefusal(res, 422, 'insufficient_points');
    const tierPoints = op.affectsTier ? lifetimeMove(op.points, lifetime) : 0;
    return expectWrite(res, model, { customerId: id, type: 'adjustment', points: op.points, tierPoints });
  }
  if (op.kind === 'reset') {
    const id = customers[op.who].id;
    const res = await store.api('POST', `/v1/customers/${id}/reset`, { reason: 'Property reset' });
    return expectWrite(res, model, { customerId: id, type: 'reset', points: -model.of(id).balance + 0, tierPoints: 0 });
  }
  if (model.rows.length === 0) return;
  const target = model.rows[op.pick % model.rows.length];
  const res = await store.api('POST', `/v1/transactions/${target.id}/reverse`, { reason: 'Property reversal' });
  if (target.type === 'reversal') return expectRefusal(res, 422, 'not_reversible');
  if (target.reversed) return expectRefusal(res, 409, 'already_reversed');
  const { balance, lifetime } = model.of(target.customerId);
  if (balance - target.points < 0) return expectRefusal(res, 422, 'insufficient_points');
  expectWrite(res, model, {
    customerId: target.customerId,
    type: 'reversal',
    points: -target.points + 0,
    tierPoints: lifetimeMove(-target.tierPoints, lifetime),
  });
  expect(res.body.transaction.reversesId).toBe(target.id);
  target.reversed = true;
}

/** The customer's cached totals and ledger rows, read back through the API, equal the model's. */
async function expectLedgerMatches(store: TestStore, model: LedgerModel, customerId: number): Promise<void> {
  const now = (await store.api<Customer>('GET', `/v1/customers/${customerId}`)).body;
  const { balance, lifetime } = model.of(customerId);
  expect(now).toMatchObject({ balance, lifetimePoints: lifetime });
  expect(now.balance).toBeGreaterThanOrEqual(0);
  expect(now.lifetimePoints).toBeGreaterThanOrEqual(0);
  const history = (await store.api<{ data: Transaction[] }>('GET', `/v1/customers/${customerId}/transactions?limit=500`)).body.data;
  const expected = model.rows.filter((r) => r.customerId === customerId).reverse();
  expect(history.map((t) => [t.id, t.type, t.points, t.tierPoints])).toEqual(expected.map((r) => [r.id, r.type, r.points, r.tierPoints]));
  expect(history.reduce((s, t) => s + t.points, 0)).toBe(now.balance);
  expect(history.reduce((s, t) => s + t.tierPoints, 0)).toBe(now.lifetimePoints);
  let running = 0;
  for (const t of [...history].reverse()) {
    running += t.points;
    expect(t.balanceAfter).toBe(running);
    expect(t.balanceAfter).toBeGreaterThanOrEqual(0);
  }
}

async function someCustomers(store: TestStore): Promise<Customer[]> {
  return Promise.all(Array.from({ length: CUSTOMERS }, () => aCustomer(store)));
}

for (const dialect of DIALECTS) {
  describe(`${dialect}: ledger invariants`, () => {
    const ctx = useServer(dialect);

    it('answers every random sequence of adjustments, resets and reversals exactly as a model of the ledger predicts', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(anOp, { minLength: 5, maxLength: 30 }), async (ops) => {
          const customers = await someCustomers(ctx.store);
          const model = new LedgerModel(customers);
          for (const op of ops) await runOp(ctx.store, customers, model, op);
          for (const c of customers) await expectLedgerMatches(ctx.store, model, c.id);
          await assertLedgerInvariants(ctx.server.database, ctx.store.id);
        }),
        { numRuns: 20 },
      );
    });

    it('keeps balance = Σ ledger and never negative when random writes race each other', async () => {
      const aBatch = fc.array(anOp, { minLength: 2, maxLength: 12 });
      await fc.assert(
        fc.asyncProperty(fc.array(aBatch, { minLength: 1, maxLength: 4 }), async (batches) => {
          const customers = await someCustomers(ctx.store);
          const credited = new Map<number, { points: number; tierPoints: number }>(customers.map((c) => [c.id, { points: 0, tierPoints: 0 }]));
          const written: number[] = [];
          for (const batch of batches) {
            const seen = new Map<number, number>();
            for (const c of customers) seen.set(c.id, (await ctx.store.api('GET', `/v1/customers/${c.id}`)).body.balance);
            const results = await Promise.all(
              batch.map((op) => {
                if (op.kind === 'adjust') {
                  const id = customers[op.who].id;
                  const body = { points: op.points, reason: 'Racing write', affectsTier: op.affectsTier };
                  const expectedBalance = op.expected === 'none' ? {} : { expectedBalance: seen.get(id)! + (op.expected === 'stale' ? 7 : 0) };
                  return ctx.store.api('POST', `/v1/customers/${id}/adjustments`, { ...body, ...expectedBalance });
                }
                if (op.kind === 'reset') return ctx.store.api('POST', `/v1/customers/${customers[op.who].id}/reset`, { reason: 'Racing reset' });
                if (written.length === 0) return ctx.store.api('GET', `/v1/customers/${customers[0].id}`);
                return ctx.store.api('POST', `/v1/transactions/${written[op.pick % written.length]}/reverse`, { reason: 'Racing reversal' });
              }),
            );
            for (const res of results) {
              if (res.status === 200) continue;
              if (res.status !== 201) {
                expect(res.status, res.text).toBeGreaterThanOrEqual(400);
                expect(['insufficient_points', 'balance_changed', 'already_reversed', 'not_reversible']).toContain(res.body.error.code);
                continue;
              }
              const t: Transaction = res.body.transaction;
              const sum = credited.get(t.customerId)!;
              sum.points += t.points;
              sum.tierPoints += t.tierPoints;
              written.push(t.id);
            }
          }
          for (const c of customers) {
            const now = (await ctx.store.api<Customer>('GET', `/v1/customers/${c.id}`)).body;
            expect(now.balance).toBe(credited.get(c.id)!.points);
            expect(now.lifetimePoints).toBe(credited.get(c.id)!.tierPoints);
            expect(now.balance).toBeGreaterThanOrEqual(0);
          }
          await assertLedgerInvariants(ctx.server.database, ctx.store.id);
        }),
        { numRuns: 10 },
      );
    });

    it('refuses UPDATE and DELETE on the ledger in the database itself (triggers), leaving the rows as they were', async () => {
      const c = await aCustomer(ctx.store, { balance: 10 });
      const db = ctx.server.database.db;
      await expect(sql`UPDATE transactions SET points = 1000 WHERE customer_id = ${c.id}`.execute(db)).rejects.toThrow(/append-only/);
      await expect(sql`UPDATE transactions SET reason = 'rewritten'`.execute(db)).rejects.toThrow(/append-only/);
      await expect(sql`DELETE FROM transactions WHERE customer_id = ${c.id}`.execute(db)).rejects.toThrow(/append-only/);
      await expect(sql`DELETE FROM transactions`.execute(db)).rejects.toThrow(/append-only/);
      await expect(db.updateTable('transactions').set({ balance_after: 0 }).where('customer_id', '=', c.id).execute()).rejects.toThrow(/append-only/);
      if (dialect === 'postgres') {
        await expect(sql`TRUNCATE transactions`.execute(db)).rejects.toThrow(/append-only/);
      }
      const rows = await db.selectFrom('transactions').select(['points', 'balance_after', 'reason']).where('customer_id', '=', c.id).execute();
      expect(rows).toEqual([{ points: 10, balance_after: 10, reason: 'Opening balance' }]);
      await assertLedgerInvariants(ctx.server.database, ctx.store.id);
    });

    it('refuses a negative balance at the database level, even written directly', async () => {
      const c = await aCustomer(ctx.store, { balance: 10 });
      const db = ctx.server.database.db;
      await expect(sql`UPDATE customers SET balance = -1 WHERE id = ${c.id}`.execute(db)).rejects.toThrow();
      await expect(sql`UPDATE customers SET lifetime_points = -1 WHERE id = ${c.id}`.execute(db)).rejects.toThrow();
      expect((await ctx.store.api('GET', `/v1/customers/${c.id}`)).body).toMatchObject({ balance: 10, lifetimePoints: 10 });
    });
  });
}
