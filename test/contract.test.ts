import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCommitter } from '../src/db/committer.js';
import { openDatabase } from '../src/db/database.js';
import { isDatabaseUnavailable } from '../src/db/errors.js';
import { buildApp } from '../src/http/app.js';
import { csvStream } from '../src/http/csv-stream.js';
import { DIALECTS } from './support/databases.js';
import { request, useServer } from './support/server.js';

const errorShape = (body: any) => {
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error.code).toMatch(/^[a-z_]+$/);
  expect(typeof body.error.message).toBe('string');
};

for (const dialect of DIALECTS) {
  describe(`${dialect}: every answer has the contract's shape`, () => {
    const ctx = useServer(dialect);

    it('answers a malformed URL with 400 invalid_url in the error shape', async () => {
      const res = await ctx.store.api('GET', '/v1/customers/%E0%A4%A');
      expect(res.status).toBe(400);
      errorShape(res.body);
      expect(res.body.error.code).toBe('invalid_url');
    });

    it('answers an unknown route, a text body and an unknown media type in the error shape', async () => {
      const missing = await ctx.store.api('GET', '/v1/nothing-here?email=someone@example.com');
      expect(missing.status).toBe(404);
      errorShape(missing.body);
      expect(missing.body.error.message).not.toContain('example.com');
      const text = await ctx.store.api('POST', '/v1/customers', 'hello', { 'content-type': 'text/plain' });
      expect(text.status).toBe(415);
      errorShape(text.body);
      expect(text.body.error.code).toBe('unsupported_media_type');
    });

    it('refuses a time without a zone and a date that does not exist with 422 naming the field', async () => {
      for (const [query, field] of [
        ['from=2025-03-01T10:00:00', 'from'],
        ['to=2025-02-31T00:00:00Z', 'to'],
      ]) {
        const res = await ctx.store.api('GET', `/v1/transactions?${query}`);
        expect(res.status).toBe(422);
        expect(res.body.error.code).toBe('validation_error');
        expect(res.body.error.details.field).toBe(field);
      }
      const ok = await ctx.store.api('GET', '/v1/transactions?from=2025-03-01T10:00:00%2B01:00');
      expect(ok.status).toBe(200);
    });

    it('counts a reason in characters (code points), the same as the schema does', async () => {
      const customer = (await ctx.store.api('POST', '/v1/customers', { externalId: 'emoji-1' })).body;
      // Three emoji are 3 characters (6 UTF-16 units): a valid reason; 501 are too many even though
      // 250 would already be 500 UTF-16 units.
      const three = await ctx.store.api('POST', `/v1/customers/${customer.id}/adjustments`, { points: 5, reason: '😀😀😀' });
      expect(three.status).toBe(201);
      const many = await ctx.store.api('POST', `/v1/customers/${customer.id}/adjustments`, { points: 5, reason: '😀'.repeat(300) });
      expect(many.status).toBe(201);
      const tooMany = await ctx.store.api('POST', `/v1/customers/${customer.id}/adjustments`, { points: 5, reason: '😀'.repeat(501) });
      expect(tooMany.status).toBe(422);
      expect(tooMany.body.error.details.field).toBe('reason');
    });

    it('declares 503 for /healthz in the OpenAPI document with the error media type', async () => {
      const doc = (await request(`${ctx.server.url}/openapi.json`, 'GET')).body;
      const healthz = doc.paths['/healthz'].get.responses;
      expect(Object.keys(healthz).sort()).toEqual(['200', '503']);
      expect(Object.keys(healthz['503'].content)).toEqual(['application/json']);
    });
  });
}

if (DIALECTS.includes('postgres')) {
  describe('postgres: a database that cannot be reached', () => {
    // A real pg pool pointed at a port nothing listens on: every connection is refused.
    const database = openDatabase('postgres://postgres@127.0.0.1:1/none');
    let url = '';
    let close = async () => undefined as unknown;
    beforeAll(async () => {
      const app = await buildApp({ database, committer: createCommitter(database) });
      await app.listen({ port: 0, host: '127.0.0.1' });
      url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      close = async () => {
        await app.close();
        await database.close();
      };
    });
    afterAll(() => close());

    it('answers /healthz with 503 database_unavailable and Retry-After', async () => {
      const res = await request(`${url}/healthz`, 'GET');
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('database_unavailable');
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    });

    it('answers an API request that needs the database with 503 database_unavailable, and keeps serving', async () => {
      for (let i = 0; i < 2; i++) {
        const res = await request(`${url}/v1/customers`, 'GET', undefined, { authorization: 'Bearer tally_made_up' });
        expect(res.status).toBe(503);
        expect(res.body.error.code).toBe('database_unavailable');
        expect(res.headers.get('retry-after')).not.toBeNull();
      }
    });
  });
}

describe('database errors that mean "retry later"', () => {
  it('classifies connection loss and a full or failing disk as unavailable, and a constraint as not', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', '08006', '57P01', '57P03', 'SQLITE_FULL', 'SQLITE_IOERR_WRITE']) {
      expect(isDatabaseUnavailable(Object.assign(new Error('x'), { code }))).toBe(true);
    }
    expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    for (const code of ['23505', '23514', 'SQLITE_CONSTRAINT_UNIQUE', '22P02']) {
      expect(isDatabaseUnavailable(Object.assign(new Error('x'), { code }))).toBe(false);
    }
  });
});

describe('a CSV response whose source fails mid-way', () => {
  it('ends the response early and the process keeps serving', async () => {
    const app = Fastify();
    let served = 0;
    app.get('/csv', async (req, reply) => {
      served++;
      async function* rows() {
        for (let i = 0; i < 20_000; i++) {
          if (i === 10_000) throw new Error('the database went away mid-export');
          yield [i, `row ${i}`];
        }
      }
      return reply.header('content-type', 'text/csv').send(csvStream(req, rows()));
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/csv`;
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        const res = await fetch(url);
        expect(res.status).toBe(200);
        await expect(res.text()).rejects.toThrow();
      }
      expect(served).toBe(2);
    } finally {
      await app.close();
    }
  });
});

for (const dialect of DIALECTS) {
  describe(`${dialect}: the OpenAPI document declares what routes answer`, () => {
    const ctx = useServer(dialect);

    it('refuses a deeply nested body with 400 invalid_json, and keeps serving', async () => {
      const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
      const res = await ctx.store.api('POST', '/v1/customers', deep);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_json');
      const nested = `{"externalId":"x","a":${'{"b":'.repeat(100)}1${'}'.repeat(100)}}`;
      expect((await ctx.store.api('POST', '/v1/customers', nested)).status).toBe(400);
      expect((await ctx.store.api('POST', '/v1/customers', { externalId: 'after-deep' })).status).toBe(201);
    });

    it('declares for every /v1 route 400, 401, 422, 429 and 503; 404 where it names a resource; 409, 413, 415 for POSTs; errors as JSON', async () => {
      const doc = (await request(`${ctx.server.url}/openapi.json`, 'GET')).body;
      let routes = 0;
      for (const [path, methods] of Object.entries<any>(doc.paths)) {
        if (!path.startsWith('/v1/')) continue;
        for (const [method, op] of Object.entries<any>(methods)) {
          routes++;
          const statuses = Object.keys(op.responses);
          const expected = ['400', '422', '429', '503'];
          // Routes that need no key (first-run setup) cannot answer 401.
          if (!(Array.isArray(op.security) && op.security.length === 0 && path.startsWith('/v1/setup'))) expected.push('401');
          if (path.includes('{id}')) expected.push('404');
          if (method === 'post') expected.push('409', '413', '415');
          for (const status of expected) expect(statuses, `${method} ${path}`).toContain(status);
          for (const status of statuses.filter((s) => Number(s) >= 400)) {
            expect(Object.keys(op.responses[status].content ?? {}), `${method} ${path} ${status}`).toEqual(['application/json']);
          }
          for (const status of statuses.filter((s) => Number(s) < 300 && s !== '204')) {
            expect(Object.keys(op.responses[status].content ?? {}).length, `${method} ${path} ${status}`).toBe(1);
          }
        }
      }
      expect(routes).toBeGreaterThan(10);
    });

    it('answers the CSV export with text/csv as declared', async () => {
      const res = await ctx.store.api('GET', '/v1/transactions/export.csv');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/csv');
      const doc = (await request(`${ctx.server.url}/openapi.json`, 'GET')).body;
      expect(Object.keys(doc.paths['/v1/transactions/export.csv'].get.responses['200'].content)).toEqual(['text/csv']);
    });
  });
}
