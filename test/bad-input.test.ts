import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from './support/databases.js';
import { aCustomer, assertLedgerInvariants, insideOneMinute } from './support/fixtures.js';
import { type ApiResponse, request, startServer, type TestServer, type TestStore } from './support/server.js';

/** The one error shape: {error: {code, message, details?}} and nothing else. */
function expectErrorShape(res: ApiResponse): void {
  expect(res.status, res.text).toBeGreaterThanOrEqual(400);
  expect(res.status, res.text).toBeLessThan(500);
  expect(res.headers.get('content-type')).toContain('application/json');
  expect(Object.keys(res.body)).toEqual(['error']);
  const { code, message, details, ...rest } = res.body.error;
  expect(rest).toEqual({});
  expect(code).toMatch(/^[a-z]+(_[a-z]+)*$/);
  expect(typeof message).toBe('string');
  expect(message.length).toBeGreaterThan(0);
  if (details !== undefined) expect(typeof details).toBe('object');
}

function expectError(res: ApiResponse, status: number, code: string, field?: string): void {
  expectErrorShape(res);
  expect(res.status, res.text).toBe(status);
  expect(res.body.error.code, res.text).toBe(code);
  if (field !== undefined) expect(res.body.error.details?.field, res.text).toBe(field);
}

const JSON_TYPE = { 'content-type': 'application/json' };

for (const dialect of DIALECTS) {
  describe(`${dialect}: bad input gets a typed 4xx, never a 500`, () => {
    let server: TestServer;
    let store: TestStore;
    let customerId: number;
    let transactionId: number;
    const raw = (method: string, path: string, body: string | undefined, headers: Record<string, string>) =>
      request(`${server.url}${path}`, method, body, { authorization: `Bearer ${store.apiKey}`, ...headers });
    const adjust = () => `/v1/customers/${customerId}/adjustments`;
    beforeAll(async () => {
      server = await startServer(dialect);
      store = await server.newStore();
      customerId = (await aCustomer(store, { balance: 50 })).id;
      transactionId = (await store.api('GET', `/v1/customers/${customerId}/transactions`)).body.data[0].id;
    });
    afterAll(async () => {
      expect((await store.api('GET', `/v1/customers/${customerId}`)).body.balance).toBe(50);
      expect((await store.api('GET', `/v1/customers/${customerId}/transactions`)).body.data).toHaveLength(1);
      await assertLedgerInvariants(server.database);
      await server.close();
    });

    it.each(['{"points": 5,', '{points: 5}', 'null x', '[1,2', '"unterminated', "{'points': 5}", '{"points": 5}}', '\u0000'])(
      'answers the malformed JSON %j with 400 invalid_json',
      async (body) => {
        expectError(await raw('POST', adjust(), body, JSON_TYPE), 400, 'invalid_json');
      },
    );

    it.each(['', ' ', '\n'])('answers an empty JSON body %j with 400 invalid_json', async (body) => {
      expectError(await raw('POST', adjust(), body, JSON_TYPE), 400, 'invalid_json');
    });

    it.each(['text/plain', 'application/x-www-form-urlencoded', 'application/xml', 'multipart/form-data; boundary=x', 'application/octet-stream'])(
      'answers the content type %s with 415 unsupported_media_type',
      async (type) => {
        expectError(await raw('POST', adjust(), 'points=5&reason=hello', { 'content-type': type }), 415, 'unsupported_media_type');
        expectError(await raw('POST', '/v1/customers', 'externalId=x', { 'content-type': type }), 415, 'unsupported_media_type');
      },
    );

    it('answers a body over 1 MiB with 413 payload_too_large', async () => {
      const body = JSON.stringify({ points: 5, reason: 'x'.repeat(1_100_000) });
      expectError(await raw('POST', adjust(), body, JSON_TYPE), 413, 'payload_too_large');
    });

    it.each([
      ['adjustments', () => `/v1/customers/${customerId}/adjustments`, { points: 5, reason: 'Unknown field', bonus: true }, 'bonus'],
      ['reset', () => `/v1/customers/${customerId}/reset`, { reason: 'Unknown field', points: 5 }, 'points'],
      ['reverse', () => `/v1/transactions/${transactionId}/reverse`, { reason: 'Unknown field', force: true }, 'force'],
      ['customers', () => '/v1/customers', { externalId: 'unknown-field', nickname: 'Bo' }, 'nickname'],
    ])('refuses an unknown field in a %s body with 422 naming it', async (_route, path, body, field) => {
      const res = await store.api('POST', path(), body);
      expectError(res, 422, 'validation_error', field);
      expect(res.body.error.message).toContain(field);
    });

    it.each([
      ['points as a string', '{"points":"10","reason":"hello"}', 'points'],
      ['points as a float', '{"points":1.5,"reason":"hello"}', 'points'],
      ['points of zero', '{"points":0,"reason":"hello"}', 'points'],
      ['points beyond the safe integers', '{"points":9007199254740993,"reason":"hello"}', 'points'],
      ['points beyond 100,000,000', '{"points":-100000001,"reason":"hello"}', 'points'],
      ['points with a huge exponent', '{"points":1e400,"reason":"hello"}', 'points'],
      ['points with a tiny exponent', '{"points":1e-400,"reason":"hello"}', 'points'],
      ['null points', '{"points":null,"reason":"hello"}', 'points'],
      ['points as an object', '{"points":{"n":1},"reason":"hello"}', 'points'],
      ['points as an array', '{"points":[1],"reason":"hello"}', 'points'],
      ['no points', '{"reason":"hello"}', 'points'],
      ['a number for reason', '{"points":1,"reason":12345}', 'reason'],
      ['a too short reason', '{"points":1,"reason":"  ab  "}', 'reason'],
      ['a string for affectsTier', '{"points":1,"reason":"hello","affectsTier":"false"}', 'affectsTier'],
      ['a number for customerMessage', '{"points":1,"reason":"hello","customerMessage":5}', 'customerMessage'],
      ['a string for expectedBalance', '{"points":1,"reason":"hello","expectedBalance":"50"}', 'expectedBalance'],
      ['a float expectedBalance', '{"points":1,"reason":"hello","expectedBalance":50.5}', 'expectedBalance'],
      ['a huge expectedBalance', '{"points":1,"reason":"hello","expectedBalance":1e300}', 'expectedBalance'],
    ])('refuses %s with 422 validation_error naming the field', async (_name, body, field) => {
      expectError(await raw('POST', adjust(), body, JSON_TYPE), 422, 'validation_error', field);
    });

    it.each([
      ['an array body', '[{"points":1,"reason":"hello"}]'],
      ['an empty array body', '[]'],
      ['a null body', 'null'],
      ['a string body', '"points"'],
      ['a number body', '5'],
    ])('refuses %s with 422 validation_error', async (_name, body) => {
      expectError(await raw('POST', adjust(), body, JSON_TYPE), 422, 'validation_error');
      expectError(await raw('POST', '/v1/customers', body, JSON_TYPE), 422, 'validation_error');
    });

    it.each([
      ['a prototype-poisoning key', '{"points":1,"reason":"hello","__proto__":{"admin":true}}'],
      ['a constructor-poisoning key', '{"points":1,"reason":"hello","constructor":{"prototype":{"admin":true}}}'],
    ])('refuses %s with a 4xx', async (_name, body) => {
      expectErrorShape(await raw('POST', adjust(), body, JSON_TYPE));
    });

    it.each([
      ['/v1/customers?limit=0', 'limit'],
      ['/v1/customers?limit=501', 'limit'],
      ['/v1/customers?limit=abc', 'limit'],
      ['/v1/customers?limit=1.5', 'limit'],
      ['/v1/customers?limit=', 'limit'],
      ['/v1/customers?limit=1&limit=2', 'limit'],
      ['/v1/customers?minbalance=5', 'minbalance'],
      ['/v1/customers?page=2', 'page'],
      ['/v1/customers?cursor=not-a-cursor', 'cursor'],
      ['/v1/customers?minBalance=-1', 'minBalance'],
      ['/v1/customers?maxBalance=1e400', 'maxBalance'],
      ['/v1/customers?lastActivityBefore=yesterday', 'lastActivityBefore'],
      ['/v1/transactions?from=2024-13-45', 'from'],
      ['/v1/transactions?from=1700000000000', 'from'],
      ['/v1/transactions?to=soon', 'to'],
      ['/v1/transactions?to=2024-01-01T25:00:00Z', 'to'],
      ['/v1/transactions?type=gift', 'type'],
      ['/v1/transactions?customerId=1.5', 'customerId'],
      ['/v1/transactions?customerId=abc', 'customerId'],
      ['/v1/transactions?limit=501', 'limit'],
      ['/v1/transactions?cursor=bm9wZQ', 'cursor'],
      ['/v1/transactions/export.csv?from=nope', 'from'],
      ['/v1/transactions/export.csv?limit=5', 'limit'],
      ['/v1/customers/1/transactions?limit=0', 'limit'],
      ['/v1/customers/1/transactions?cursor=garbage', 'cursor'],
      ['/v1/customers/1/balance?at=not-a-date', 'at'],
      ['/v1/customers/1/balance?at=', 'at'],
      ['/v1/customers/1/balance?at=2024', 'at'],
      ['/v1/customers/1/balance?when=2024-01-01', 'when'],
    ])('answers the bad query %s with 422 validation_error naming %s', async (path, field) => {
      expectError(await store.api('GET', path), 422, 'validation_error', field);
    });

    it.each([
      ['GET', '/v1/customers/abc'],
      ['GET', '/v1/customers/-1'],
      ['GET', '/v1/customers/0'],
      ['GET', '/v1/customers/1.5'],
      ['GET', '/v1/customers/99999999999999999999'],
      ['GET', '/v1/customers/%20'],
      ['GET', '/v1/customers/abc/transactions'],
      ['GET', '/v1/customers/abc/balance'],
      ['POST', '/v1/customers/abc/adjustments'],
      ['POST', '/v1/customers/1e400/reset'],
      ['POST', '/v1/transactions/abc/reverse'],
      ['POST', '/v1/transactions/-5/reverse'],
    ])('answers %s %s (a bad id) with a 4xx error body', async (method, path) => {
      const res = await store.api(method, path, method === 'POST' ? { points: 1, reason: 'Bad id' } : undefined);
      expectErrorShape(res);
    });

    it('answers an unknown route or method with a 404 error body', async () => {
      expectError(await store.api('GET', '/v1/nothing-here'), 404, 'not_found');
      expectError(await store.api('DELETE', `/v1/customers/${customerId}`), 404, 'not_found');
      expectError(await request(`${server.url}/v1/nothing-here`, 'GET'), 404, 'not_found');
    });

    it('refuses an over-long Idempotency-Key', async () => {
      const res = await store.api('POST', adjust(), { points: 1, reason: 'Key too long' }, { 'idempotency-key': 'k'.repeat(256) });
      expectError(res, 422, 'validation_error');
    });

    it.each([
      ['a reason', () => adjust(), { points: 1, reason: 'abc\u0000def' }, 'reason'],
      ['a customer message', () => adjust(), { points: 1, reason: 'hello', customerMessage: 'hi\u0000' }, 'customerMessage'],
      ['a reset reason', () => `/v1/customers/${customerId}/reset`, { reason: '\u0000reset' }, 'reason'],
      ['an external id', () => '/v1/customers', { externalId: 'a\u0000b' }, 'externalId'],
      ['a first name', () => '/v1/customers', { externalId: 'nul-name', firstName: 'A\u0000' }, 'firstName'],
    ])('refuses the NUL character in %s with 422 on every database', async (_name, path, body, field) => {
      const res = await store.api('POST', path(), body);
      expectError(res, 422, 'validation_error');
      expect(res.body.error.details.field).toContain(field);
    });

    it.each(['search=a%00b', 'externalId=a%00b', 'email=a%00b%40example.com', 'cursor=%00'])('refuses the NUL character in the query %s with 422', async (query) => {
      expectError(await store.api('GET', `/v1/customers?${query}`), 422, 'validation_error');
    });

    it.each([
      [{}, 'externalId'],
      [{ externalId: '   ' }, 'externalId'],
      [{ email: 'not-an-email' }, 'email'],
      [{ email: 'a b@example.com' }, 'email'],
      [{ externalId: 'x'.repeat(256) }, 'externalId'],
      [{ externalId: 42 }, 'externalId'],
      [{ externalId: 'a', firstName: 'x'.repeat(201) }, 'firstName'],
    ])('refuses the customer %j with 422 naming %s', async (body, field) => {
      expectError(await store.api('POST', '/v1/customers', body), 422, 'validation_error', field);
    });
  });

  describe(`${dialect}: rate limiting`, () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startServer(dialect, { rateLimitPerMinute: 5 });
    });
    afterAll(() => server.close());

    it('answers the 6th request in a minute with 429 rate_limited and Retry-After, counting each key apart', async () => {
      const a = await server.newStore('A');
      const b = await server.newStore('B');
      await insideOneMinute();
      for (let i = 0; i < 5; i++) expect((await a.api('GET', '/v1/customers')).status).toBe(200);
      const limited = await a.api('GET', '/v1/customers');
      expectError(limited, 429, 'rate_limited');
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60);
      expectError(await a.api('POST', '/v1/customers', { externalId: 'over-the-limit' }), 429, 'rate_limited');
      expect((await a.api('GET', '/v1/customers?externalId=over-the-limit')).status).toBe(429);
      expect((await b.api('GET', '/v1/customers')).status).toBe(200);
      expect((await request(`${server.url}/healthz`, 'GET')).status).toBe(200);
    });

    it('counts one key as one key however its Authorization header is spelled', async () => {
      const c = await server.newStore('C');
      for (let i = 0; i < 5; i++) expect((await c.api('GET', '/v1/customers')).status).toBe(200);
      for (const spelling of ['bearer', 'BEARER', 'Bearer ', 'Bearer\t']) {
        const res = await request(`${server.url}/v1/customers`, 'GET', undefined, { authorization: `${spelling} ${c.apiKey}` });
        expectError(res, 429, 'rate_limited');
      }
    });
  });
}
