import { describe, expect, it } from 'vitest';
import { DIALECTS } from './support/databases.js';
import { useServer } from './support/server.js';

const withKey = (key: string) => ({ 'idempotency-key': key });

for (const dialect of DIALECTS) {
  describe(`${dialect}: Idempotency-Key for refusals, validation failures and dry runs`, () => {
    const ctx = useServer(dialect);
    const newCustomer = async (externalId: string) => (await ctx.store.api('POST', '/v1/customers', { externalId })).body;

    it('stores a business refusal (422 insufficient_points) and replays it, even once the balance would allow it', async () => {
      const c = await newCustomer('idem-refused');
      const body = { points: -50, reason: 'spend more than held' };
      const first = await ctx.store.api('POST', `/v1/customers/${c.id}/adjustments`, body, withKey('refused-1'));
      expect(first.status).toBe(422);
      expect(first.body.error.code).toBe('insufficient_points');
      await ctx.store.api('POST', `/v1/customers/${c.id}/adjustments`, { points: 100, reason: 'top up' });
      const again = await ctx.store.api('POST', `/v1/customers/${c.id}/adjustments`, body, withKey('refused-1'));
      expect(again.status).toBe(422);
      expect(again.body).toEqual(first.body);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect((await ctx.store.api('GET', `/v1/customers/${c.id}`)).body.balance).toBe(100);
    });

    it('stores a 404 and a 409 balance_changed the same way', async () => {
      const missing = await ctx.store.api('POST', '/v1/customers/999999/adjustments', { points: 5, reason: 'nobody' }, withKey('nf-1'));
      expect(missing.status).toBe(404);
      const replay = await ctx.store.api('POST', '/v1/customers/999999/adjustments', { points: 5, reason: 'nobody' }, withKey('nf-1'));
      expect(replay.status).toBe(404);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');

      const c = await newCustomer('idem-moved');
      const body = { points: 5, reason: 'expects zero', expectedBalance: 7 };
      const first = await ctx.store.api('POST', `/v1/customers/${c.id}/adjustments`, body, withKey('moved-1'));
      expect(first.status).toBe(409);
      expect(first.body.error.code).toBe('balance_changed');
      const second = await ctx.store.api('POST', `/v1/customers/${c.id}/adjustments`, body, withKey('moved-1'));
      expect(second.status).toBe(409);
      expect(second.headers.get('idempotent-replayed')).toBe('true');
    });

    it('does not store a schema or validation refusal: the corrected retry with the same key runs', async () => {
      const c = await newCustomer('idem-validation');
      const bad = await ctx.store.api('POST', `/v1/customers/${c.id}/adjustments`, { points: 5, reason: 'x' }, withKey('val-1'));
      expect(bad.status).toBe(422);
      expect(bad.body.error.code).toBe('validation_error');
      const schema = await ctx.store.api('POST', `/v1/customers/${c.id}/adjustments`, { points: 'five', reason: 'typed wrong' }, withKey('val-1'));
      expect(schema.status).toBe(422);
      const good = await ctx.store.api('POST', `/v1/customers/${c.id}/adjustments`, { points: 5, reason: 'now right' }, withKey('val-1'));
      expect(good.status).toBe(201);
      expect(good.body.customer.balance).toBe(5);
    });

    it('refuses a key used with another body as idempotency_key_reused, a refused first request and a dry run included', async () => {
      const c = await newCustomer('idem-reused');
      await ctx.store.api('POST', `/v1/customers/${c.id}/adjustments`, { points: -5, reason: 'too much' }, withKey('reuse-1'));
      const other = await ctx.store.api('POST', `/v1/customers/${c.id}/adjustments`, { points: 5, reason: 'different' }, withKey('reuse-1'));
      expect(other.status).toBe(409);
      expect(other.body.error.code).toBe('idempotency_key_reused');

      const job = await ctx.store.api(
        'POST',
        '/v1/bulk-adjustments',
        { selection: { customerIds: [c.id] }, type: 'adjust', points: 1, reason: 'bulk once' },
        withKey('bulk-1'),
      );
      expect(job.status).toBe(202);
      const dry = await ctx.store.api(
        'POST',
        '/v1/bulk-adjustments',
        { selection: { customerIds: [c.id] }, type: 'adjust', points: 1, reason: 'bulk once', dryRun: true },
        withKey('bulk-1'),
      );
      expect(dry.status).toBe(409);
      expect(dry.body.error.code).toBe('idempotency_key_reused');
      const freshDry = await ctx.store.api(
        'POST',
        '/v1/bulk-adjustments',
        { selection: { customerIds: [c.id] }, type: 'adjust', points: 1, reason: 'preview', dryRun: true },
        withKey('dry-unused'),
      );
      expect(freshDry.status).toBe(200);
      expect(freshDry.body.preview.customers).toBe(1);
    });
  });
}
