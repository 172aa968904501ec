import { describe, expect, it } from 'vitest';
import { DIALECTS } from './support/databases.js';
import { aCustomer } from './support/fixtures.js';
import { useServer } from './support/server.js';

for (const dialect of DIALECTS) {
  describe(`${dialect}: concurrent writes`, () => {
    const ctx = useServer(dialect);

    it('lets exactly 100 of 200 concurrent deductions of 10 through against a balance of 1,000', async () => {
      const c = await aCustomer(ctx.store, { balance: 1000 });
      const results = await Promise.all(
        Array.from({ length: 200 }, () => ctx.store.api('POST', `/v1/customers/${c.id}/adjustments`, { points: -10, reason: 'Concurrent spend' })),
      );
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((s) => s === 201)).toHaveLength(100);
      expect(statuses.filter((s) => s === 422)).toHaveLength(100);
      expect(results.filter((r) => r.status === 422).every((r) => r.body.error.code === 'insufficient_points')).toBe(true);
      expect((await ctx.store.api('GET', `/v1/customers/${c.id}`)).body.balance).toBe(0);
      const afters = results.filter((r) => r.status === 201).map((r) => r.body.transaction.balanceAfter).sort((a, b) => a - b);
      expect(afters).toEqual(Array.from({ length: 100 }, (_, i) => i * 10));
    });

    it('applies 50 concurrent identical requests with one Idempotency-Key exactly once', async () => {
      const c = await aCustomer(ctx.store, { balance: 100 });
      const body = { points: 25, reason: 'Retried by a flaky client' };
      const headers = { 'idempotency-key': `concurrent-${dialect}` };
      const results = await Promise.all(
        Array.from({ length: 50 }, () => ctx.store.api('POST', `/v1/customers/${c.id}/adjustments`, body, headers)),
      );
      const ok = results.filter((r) => r.status === 201);
      expect(ok.length).toBeGreaterThanOrEqual(1);
      expect(new Set(ok.map((r) => r.body.transaction.id)).size).toBe(1);
      for (const r of results.filter((x) => x.status !== 201)) {
        expect(r.status).toBe(409);
        expect(r.body.error.code).toBe('idempotency_key_in_progress');
      }
      const history = (await ctx.store.api('GET', `/v1/customers/${c.id}/transactions`)).body.data;
      expect(history.filter((t: { reason: string }) => t.reason === body.reason)).toHaveLength(1);
      expect((await ctx.store.api('GET', `/v1/customers/${c.id}`)).body.balance).toBe(125);
    });

    it('replays the stored response for a repeated Idempotency-Key, and refuses it for another body', async () => {
      const c = await aCustomer(ctx.store, { balance: 100 });
      const headers = { 'idempotency-key': `replay-${dialect}` };
      const first = await ctx.store.api('POST', `/v1/customers/${c.id}/adjustments`, { points: 5, reason: 'Once only' }, headers);
      expect(first.status).toBe(201);
      const again = await ctx.store.api('POST', `/v1/customers/${c.id}/adjustments`, { reason: 'Once only', points: 5 }, headers);
      expect(again.status).toBe(201);
      expect(again.body).toEqual(first.body);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      const other = await ctx.store.api('POST', `/v1/customers/${c.id}/adjustments`, { points: 6, reason: 'Once only' }, headers);
      expect(other.status).toBe(409);
      expect(other.body.error.code).toBe('idempotency_key_reused');
      expect((await ctx.store.api('GET', `/v1/customers/${c.id}`)).body.balance).toBe(105);
    });

    it('scopes Idempotency-Keys to the store', async () => {
      const other = await ctx.server.newStore('Other');
      const a = await aCustomer(ctx.store);
      const b = await aCustomer(other);
      const headers = { 'idempotency-key': `shared-key-${dialect}` };
      expect((await ctx.store.api('POST', `/v1/customers/${a.id}/adjustments`, { points: 1, reason: 'Store A' }, headers)).status).toBe(201);
      expect((await other.api('POST', `/v1/customers/${b.id}/adjustments`, { points: 1, reason: 'Store B' }, headers)).status).toBe(201);
    });

    it('does not store a refused request: a retry after the problem is fixed goes through', async () => {
      const c = await aCustomer(ctx.store, { balance: 5 });
      const headers = { 'idempotency-key': `refused-${dialect}` };
      const body = { points: -10, reason: 'Too early' };
      expect((await ctx.store.api('POST', `/v1/customers/${c.id}/adjustments`, body, headers)).status).toBe(422);
      await ctx.store.api('POST', `/v1/customers/${c.id}/adjustments`, { points: 5, reason: 'Top up' });
      expect((await ctx.store.api('POST', `/v1/customers/${c.id}/adjustments`, body, headers)).status).toBe(201);
    });
  });
}
