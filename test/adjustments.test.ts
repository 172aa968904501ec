import { describe, expect, it } from 'vitest';
import { DIALECTS } from './support/databases.js';
import { aCustomer } from './support/fixtures.js';
import { useServer } from './support/server.js';

for (const dialect of DIALECTS) {
  describe(`${dialect}: adjustments and resets`, () => {
    const ctx = useServer(dialect);

    it('adds points, records the actor and the customer-facing message', async () => {
      const c = await aCustomer(ctx.store);
      const res = await ctx.store.api('POST', `/v1/customers/${c.id}/adjustments`, {
        points: 500,
        reason: '  Apology for delayed shipping  ',
        customerMessage: 'Sorry for the wait!',
      });
      expect(res.status).toBe(201);
      expect(res.body.transaction).toMatchObject({
        customerId: c.id,
        type: 'adjustment',
        points: 500,
        tierPoints: 500,
        balanceAfter: 500,
        reason: 'Apology for delayed shipping',
        customerMessage: 'Sorry for the wait!',
        actor: { type: 'api_key' },
        jobId: null,
        reversesId: null,
      });
      expect(res.body.customer).toMatchObject({ id: c.id, balance: 500, lifetimePoints: 500 });
    });

    it('rejects a deduction that would make the balance negative, writing nothing', async () => {
      const c = await aCustomer(ctx.store, { balance: 100 });
      const res = await ctx.store.api('POST', `/v1/customers/${c.id}/adjustments`, { points: -101, reason: 'Too much' });
      expect(res.status).toBe(422);
      expect(res.body.error).toMatchObject({ code: 'insufficient_points', details: { balance: 100, requested: 101 } });
      const history = await ctx.store.api('GET', `/v1/customers/${c.id}/transactions`);
      expect(history.body.data).toHaveLength(1);
      expect((await ctx.store.api('GET', `/v1/customers/${c.id}`)).body.balance).toBe(100);
    });

    it('deducts the whole balance down to exactly zero', async () => {
      const c = await aCustomer(ctx.store, { balance: 70 });
      const res = await ctx.store.api('POST', `/v1/customers/${c.id}/adjustments`, { points: -70, reason: 'Used coupon' });
      expect(res.status).toBe(201);
      expect(res.body.customer.balance).toBe(0);
    });

    it('leaves lifetime points alone when affectsTier is false', async () => {
      const c = await aCustomer(ctx.store, { balance: 300 });
      const res = await ctx.store.api('POST', `/v1/customers/${c.id}/adjustments`, {
        points: -200,
        reason: 'Coupon used without redeeming',
        affectsTier: false,
      });
      expect(res.body.transaction.tierPoints).toBe(0);
      expect(res.body.customer).toMatchObject({ balance: 100, lifetimePoints: 300 });
    });

    it('applies an adjustment only while the balance is the expected one', async () => {
      const c = await aCustomer(ctx.store, { balance: 50 });
      const stale = await ctx.store.api('POST', `/v1/customers/${c.id}/adjustments`, {
        points: 10,
        reason: 'From a stale screen',
        expectedBalance: 40,
      });
      expect(stale.status).toBe(409);
      expect(stale.body.error).toMatchObject({ code: 'balance_changed', details: { expectedBalance: 40, balance: 50 } });
      const fresh = await ctx.store.api('POST', `/v1/customers/${c.id}/adjustments`, {
        points: 10,
        reason: 'From a fresh screen',
        expectedBalance: 50,
      });
      expect(fresh.status).toBe(201);
    });

    it('resets the balance to zero and keeps lifetime points', async () => {
      const c = await aCustomer(ctx.store, { balance: 250 });
      const res = await ctx.store.api('POST', `/v1/customers/${c.id}/reset`, { reason: 'Account flagged for fraud' });
      expect(res.status).toBe(201);
      expect(res.body.transaction).toMatchObject({ type: 'reset', points: -250, tierPoints: 0, balanceAfter: 0 });
      expect(res.body.customer).toMatchObject({ balance: 0, lifetimePoints: 250 });
    });

    it.each([
      [{ points: 0, reason: 'zero' }, 'points'],
      [{ points: 1.5, reason: 'float' }, 'points'],
      [{ points: '10', reason: 'string' }, 'points'],
      [{ points: 100_000_001, reason: 'too big' }, 'points'],
      [{ points: 9007199254740993, reason: 'unsafe' }, 'points'],
      [{ points: 10, reason: '  a ' }, 'reason'],
      [{ points: 10, reason: 'x'.repeat(501) }, 'reason'],
      [{ points: 10 }, 'reason'],
      [{ points: 10, reason: 'fine', bogus: true }, 'bogus'],
      [{ points: 10, reason: 'fine', customerMessage: 'x'.repeat(501) }, 'customerMessage'],
      [{ points: 10, reason: 'fine', expectedBalance: -1 }, 'expectedBalance'],
    ])('rejects the bad adjustment %j with a validation_error naming %s', async (body, field) => {
      const c = await aCustomer(ctx.store, { balance: 5 });
      const res = await ctx.store.api('POST', `/v1/customers/${c.id}/adjustments`, body);
      expect(res.status).toBe(422);
      expect(res.body.error.code).toBe('validation_error');
      expect(res.body.error.details.field).toBe(field);
      expect((await ctx.store.api('GET', `/v1/customers/${c.id}`)).body.balance).toBe(5);
    });

    it('answers 404 for a customer that does not exist', async () => {
      const res = await ctx.store.api('POST', '/v1/customers/999999/adjustments', { points: 1, reason: 'nobody' });
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('not_found');
    });
  });
}
