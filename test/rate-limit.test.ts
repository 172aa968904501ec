import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_CACHE_TTL_MS } from '../src/http/auth.js';
import { revokeApiKey } from '../src/ledger/api-keys.js';
import { DIALECTS } from './support/databases.js';
import { insideOneMinute } from './support/fixtures.js';
import { request, startServer, type TestServer } from './support/server.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const dialect of DIALECTS) {
  describe(`${dialect}: rate limits after authentication, per address before it`, () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startServer(dialect, { rateLimitPerMinute: 5 });
    });
    afterAll(() => server.close());

    it('limits made-up tokens per client address, each a new token, before any lookup', async () => {
      for (let i = 0; i < 5; i++) {
        const res = await request(`${server.url}/v1/customers`, 'GET', undefined, { authorization: `Bearer made-up-${i}` });
        expect(res.status).toBe(401);
      }
      const limited = await request(`${server.url}/v1/customers`, 'GET', undefined, { authorization: 'Bearer made-up-new' });
      expect(limited.status).toBe(429);
      expect(limited.body.error.code).toBe('rate_limited');
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      const none = await request(`${server.url}/v1/customers`, 'GET');
      expect(none.status).toBe(429);
    });

    it("counts a real key apart from the made-up tokens sent from its address", async () => {
      const other = await startServer(dialect, { rateLimitPerMinute: 5 });
      try {
        const store = await other.newStore('limited');
        await insideOneMinute();
        // The key's first lookup counts against the address (1 of 5) and the key (1 of 5).
        expect((await store.api('GET', '/v1/customers')).status).toBe(200);
        for (let i = 0; i < 4; i++) {
          expect((await request(`${other.url}/v1/customers`, 'GET', undefined, { authorization: `Bearer fake-${i}` })).status).toBe(401);
        }
        expect((await request(`${other.url}/v1/customers`, 'GET', undefined, { authorization: 'Bearer fake-x' })).status).toBe(429);
        // The address is used up; the cached key still has its own four requests left.
        for (let i = 0; i < 4; i++) expect((await store.api('GET', '/v1/customers')).status).toBe(200);
        expect((await store.api('GET', '/v1/customers')).status).toBe(429);
      } finally {
        await other.close();
      }
    });
  });

  describe(`${dialect}: revoking an API key`, () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startServer(dialect);
    });
    afterAll(() => server.close());

    it('takes effect at once on the instance that forgets it, and within the cache TTL elsewhere', async () => {
      const a = await server.newStore('revoke-a');
      const b = await server.newStore('revoke-b');
      expect((await a.api('GET', '/v1/customers')).status).toBe(200);
      expect((await b.api('GET', '/v1/customers')).status).toBe(200);
      const keyOf = async (storeId: number) =>
        (await server.database.db.selectFrom('api_keys').select('id').where('store_id', '=', storeId).executeTakeFirstOrThrow()).id;
      const [keyA, keyB] = [await keyOf(a.id), await keyOf(b.id)];

      // Revoked and forgotten here (what a revoke route does): refused on the next request.
      await server.committer.run((trx) => revokeApiKey(trx, a.id, keyA));
      server.app.auth.forgetApiKey(keyA);
      const refused = await a.api('GET', '/v1/customers');
      expect(refused.status).toBe(401);
      expect(refused.body.error.code).toBe('unauthorized');

      // Revoked by another instance (only the database knows): refused once the cache entry expires.
      await server.committer.run((trx) => revokeApiKey(trx, b.id, keyB));
      await sleep(AUTH_CACHE_TTL_MS + 200);
      expect((await b.api('GET', '/v1/customers')).status).toBe(401);
    });

    it("refuses to revoke another store's key as not found", async () => {
      const a = await server.newStore('owner');
      const other = await server.newStore('other');
      const id = (await server.database.db.selectFrom('api_keys').select('id').where('store_id', '=', a.id).executeTakeFirstOrThrow()).id;
      await expect(server.committer.run((trx) => revokeApiKey(trx, other.id, id))).rejects.toMatchObject({ code: 'not_found' });
      expect((await a.api('GET', '/v1/customers')).status).toBe(200);
    });
  });
}

describe('rate-limit counters in Redis (REDIS_URL)', () => {
  it('shares one limit between two app instances on one database', async () => {
    const { Redis } = await import('ioredis');
    const { randomBytes } = await import('node:crypto');
    const { buildApp } = await import('../src/http/app.js');
    const server = await startServer(DIALECTS[0]);
    const redis = new Redis('redis://127.0.0.1:6379', { commandTimeout: 2000 });
    const prefix = `tally:test:${randomBytes(6).toString('hex')}:`;
    const [one, two] = await Promise.all(
      [0, 1].map(async () => {
        const app = await buildApp({ database: server.database, committer: server.committer }, { rateLimitPerMinute: 4, redis, redisPrefix: prefix });
        await app.listen({ port: 0, host: '127.0.0.1' });
        return { app, url: `http://127.0.0.1:${(app.server.address() as { port: number }).port}` };
      }),
    );
    try {
      const store = await server.newStore('shared');
      const call = (url: string) => request(`${url}/v1/customers`, 'GET', undefined, { authorization: `Bearer ${store.apiKey}` });
      const statuses = [];
      for (const url of [one.url, two.url, one.url, two.url, one.url, two.url]) statuses.push((await call(url)).status);
      expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
      const keys = await redis.keys(`${prefix}*`);
      expect(keys.length).toBeGreaterThan(0);
      expect(Math.max(...(await Promise.all(keys.map((k) => redis.pttl(k)))))).toBeLessThanOrEqual(61_000);
    } finally {
      await one.app.close();
      await two.app.close();
      await server.close();
      await redis.quit();
    }
  });
});
