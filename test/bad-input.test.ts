import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from './support/databases.js';
import { aCustomer, assertLedgerInvariants } from './support/fixtures.js';
import { request, startServer, type TestServer, type TestStore } from './support/server.js';

function expectError(res: { status: number; body: any; text: string }, status: number, code: string) {
  expect(res.status, res.text).toBe(status);
  expect(res.body.error.code, res.text).toBe(code);
  expect(typeof res.body.error.message).toBe('string');
}

for (const dialect of DIALECTS) {
  describe(`${dialect}: bad input gets a typed 4xx, never a 500`, () => {
    let server: TestServer;
    let store: TestStore;
    let customerId: number;
    const raw = (method: string, path: string, body: string | undefined, headers: Record<string, string>) =>
      request(`${server.url}${path}`, method, body, { authorization: `Bearer ${store.apiKey}`, ...headers });
    beforeAll(async () => {
      server = await startServer(dialect);
      store = await server.newStore();
      customerId = (await aCustomer(store, { balance: 50 })).id;
    });
    afterAll(async () => {
      expect((await store.api('GET', `/v1/customers/${customerId}`)).body.balance).toBe(50);
      await assertLedgerInvariants(server.database);
      await server.close();
    });

    it.each(['{"points": 5,', '{points: 5}', 'null x', '[1,2', '"unterminated'])('answers malformed JSON %j with 400 invalid_json', async (body) => {
      expectError(await raw('POST', `/v1/customers/${customerId}/adjustments`, body, { 'content-type': 'application/json' }), 400, 'invalid_json');
    });

    it('answers an empty JSON body with 400 invalid_json', async () => {
      expectError(await raw('POST', `/v1/customers/${customerId}/adjustments`, '', { 'content-type': 'application/json' }), 400, 'invalid_json');
    });

    it.each(['text/plain', 'application/x-www-form-urlencoded', 'application/xml'])('answers content type %s with 415', async (type) => {
      expectError(await raw('POST', `/v1/customers/${customerId}/adjustments`, 'points=5&reason=hello', { 'content-type': type }), 415, 'unsupported_media_type');
    });

    it('answers a body over 1 MiB with 413', async () => {
      const body = JSON.stringify({ points: 5, reason: 'x'.repeat(1_100_000) });
      expectError(await raw('POST', `/v1/customers/${customerId}/adjustments`, body, { 'content-type': 'application/json' }), 413, 'payload_too_large');
    });

    it.each([
      ['an array body', '[1]'],
      ['null points', '{"points":null,"reason":"hello"}'],
      ['a huge exponent', '{"points":1e400,"reason":"hello"}'],
      ['a negative zero float', '{"points":-0.0,"reason":"hello"}'],
      ['an object for points', '{"points":{"n":1},"reason":"hello"}'],
      ['a number for reason', '{"points":1,"reason":12345}'],
      ['a string for affectsTier', '{"points":1,"reason":"hello","affectsTier":"false"}'],
      ['a prototype-poisoning key', '{"points":1,"reason":"hello","__proto__":{"admin":true}}'],
    ])('answers %s with a 4xx error body', async (_name, body) => {
      const res = await raw('POST', `/v1/customers/${customerId}/adjustments`, body, { 'content-type': 'application/json' });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.body.error.code).toMatch(/^[a-z_]+$/);
    });

    it.each([
      '/v1/customers?limit=0',
      '/v1/customers?limit=501',
      '/v1/customers?limit=abc',
      '/v1/customers?minbalance=5',
      '/v1/customers?cursor=not-a-cursor',
      '/v1/customers?minBalance=-1',
      '/v1/customers?lastActivityBefore=yesterday',
      '/v1/transactions?from=2024-13-45',
      '/v1/transactions?to=soon',
      '/v1/transactions?type=gift',
      '/v1/transactions?customerId=1.5',
      `/v1/customers/${1}/balance?at=not-a-date`,
    ])('answers the bad query %s with 422 validation_error', async (path) => {
      expectError(await store.api('GET', path), 422, 'validation_error');
    });

    it.each(['/v1/customers/abc', '/v1/customers/-1', '/v1/customers/1.5', '/v1/customers/99999999999999999999'])(
      'answers the bad id in %s with a 4xx',
      async (path) => {
        const res = await store.api('GET', path);
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
      },
    );

    it('refuses the NUL character in any text, on both databases alike', async () => {
      const reason = await store.api('POST', `/v1/customers/${customerId}/adjustments`, { points: 1, reason: 'bad\u0000reason' });
      expectError(reason, 422, 'validation_error');
      expect(reason.body.error.details.field).toBe('body.reason');
      expectError(await store.api('POST', '/v1/customers', { externalId: 'x\u0000y' }), 422, 'validation_error');
      expectError(await store.api('GET', '/v1/customers?search=%00'), 422, 'validation_error');
      expectError(
        await store.api('POST', '/v1/bulk-adjustments', { selection: { filter: { search: 'a\u0000' } }, type: 'adjust', points: 1, reason: 'NUL filter', dryRun: true }),
        422,
        'validation_error',
      );
    });

    it('answers an unknown route with a 404 error body', async () => {
      expectError(await store.api('GET', '/v1/nothing-here'), 404, 'not_found');
    });

    it('refuses an over-long Idempotency-Key', async () => {
      const res = await store.api('POST', `/v1/customers/${customerId}/adjustments`, { points: 1, reason: 'Key too long' }, { 'idempotency-key': 'k'.repeat(256) });
      expectError(res, 422, 'validation_error');
    });

    it.each([
      [{}, 'validation_error'],
      [{ email: 'not-an-email' }, 'validation_error'],
      [{ externalId: 'x'.repeat(256) }, 'validation_error'],
      [{ externalId: 'a', nickname: 'b' }, 'validation_error'],
    ])('refuses the customer %j with 422', async (body, code) => {
      expectError(await store.api('POST', '/v1/customers', body), 422, code);
    });
  });

  describe(`${dialect}: rate limiting`, () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startServer(dialect, { rateLimitPerMinute: 5 });
    });
    afterAll(() => server.close());

    it('answers 429 rate_limited with Retry-After past the per-key limit, counting keys apart', async () => {
      const a = await server.newStore('A');
      const b = await server.newStore('B');
      for (let i = 0; i < 5; i++) expect((await a.api('GET', '/v1/customers')).status).toBe(200);
      const limited = await a.api('GET', '/v1/customers');
      expectError(limited, 429, 'rate_limited');
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await b.api('GET', '/v1/customers')).status).toBe(200);
    });
  });
}
