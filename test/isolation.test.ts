import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from './support/databases.js';
import { aCustomer } from './support/fixtures.js';
import { request, startServer, type TestServer, type TestStore } from './support/server.js';

for (const dialect of DIALECTS) {
  describe(`${dialect}: store isolation and authentication`, () => {
    let server: TestServer;
    let a: TestStore;
    let b: TestStore;
    let customerId: number;
    let transactionId: number;
    let jobId: number;
    beforeAll(async () => {
      server = await startServer(dialect);
      a = await server.newStore('A');
      b = await server.newStore('B');
      const c = await aCustomer(a, { balance: 100, email: `iso-${dialect}@example.com` });
      customerId = c.id;
      transactionId = (await a.api('GET', `/v1/customers/${c.id}/transactions`)).body.data[0].id;
      jobId = (await a.api('POST', '/v1/bulk-adjustments', { selection: { customerIds: [c.id] }, type: 'adjust', points: 1, reason: 'Store A job' })).body.job.id;
    });
    afterAll(() => server.close());

    const routes = (): [string, string, unknown?][] => [
      ['GET', `/v1/customers/${customerId}`],
      ['POST', `/v1/customers/${customerId}/adjustments`, { points: 1, reason: 'Cross-store' }],
      ['POST', `/v1/customers/${customerId}/reset`, { reason: 'Cross-store' }],
      ['GET', `/v1/customers/${customerId}/transactions`],
      ['GET', `/v1/customers/${customerId}/balance`],
      ['POST', `/v1/transactions/${transactionId}/reverse`, { reason: 'Cross-store' }],
      ['GET', `/v1/jobs/${jobId}`],
      ['GET', `/v1/jobs/${jobId}/events`],
      ['GET', `/v1/jobs/${jobId}/errors.csv`],
      ['POST', `/v1/jobs/${jobId}/cancel`],
      ['POST', `/v1/jobs/${jobId}/revert`, { reason: 'Cross-store' }],
    ];

    it("answers another store's resources with 404, exactly as if they did not exist", async () => {
      for (const [method, path, body] of routes()) {
        const theirs = await b.api(method, path, body);
        const missing = await b.api(method, path.replace(/\/(\d+)(\/|$)/, '/987654321$2'), body);
        expect(theirs.status, `${method} ${path}`).toBe(404);
        expect(theirs.body, `${method} ${path}`).toEqual(missing.body);
      }
      expect((await a.api('GET', `/v1/customers/${customerId}`)).body.balance).toBe(100);
    });

    it("never lists another store's rows", async () => {
      expect((await b.api('GET', '/v1/customers')).body.data).toEqual([]);
      expect((await b.api('GET', `/v1/customers?email=iso-${dialect}@example.com`)).body.data).toEqual([]);
      expect((await b.api('GET', '/v1/customers?search=iso')).body.data).toEqual([]);
      expect((await b.api('GET', '/v1/transactions')).body.data).toEqual([]);
      expect((await b.api('GET', `/v1/transactions?customerId=${customerId}`)).body.data).toEqual([]);
      expect((await b.api('GET', '/v1/jobs')).body.data).toEqual([]);
      const csv = await b.api('GET', '/v1/transactions/export.csv');
      expect(csv.text.trim().split('\n')).toHaveLength(1);
      const preview = await b.api('POST', '/v1/bulk-adjustments', { selection: { customerIds: [customerId] }, type: 'adjust', points: 1, reason: 'Peek', dryRun: true });
      expect(preview.body.preview.customers).toBe(0);
      const job = await b.api('POST', '/v1/bulk-adjustments', { selection: { customerIds: [customerId] }, type: 'adjust', points: 1, reason: 'Reach over' });
      expect(job.body.job).toMatchObject({ total: 0, failed: 1 });
    });

    it.each([
      ['no header', {}],
      ['an unknown key', { authorization: 'Bearer tally_not-a-real-key' }],
      ['a malformed header', { authorization: 'Basic abc' }],
      ['an empty bearer', { authorization: 'Bearer ' }],
    ])('answers 401 unauthorized for %s', async (_name, headers) => {
      const res = await request(`${server.url}/v1/customers`, 'GET', undefined, headers as Record<string, string>);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('unauthorized');
    });

    it('serves /healthz and /openapi.json without a key', async () => {
      expect((await request(`${server.url}/healthz`, 'GET')).body).toEqual({ status: 'ok' });
      const spec = await request(`${server.url}/openapi.json`, 'GET');
      expect(spec.status).toBe(200);
      for (const path of ['/v1/customers', '/v1/customers/{id}/adjustments', '/v1/customers/{id}/reset', '/v1/transactions/{id}/reverse', '/v1/bulk-adjustments', '/v1/jobs/{id}/events', '/v1/transactions/export.csv', '/v1/customers/{id}/balance']) {
        expect(Object.keys(spec.body.paths)).toContain(path);
      }
    });

    it('stores API keys only as hashes', async () => {
      const rows = await server.database.db.selectFrom('api_keys').select(['key_hash', 'key_prefix']).execute();
      for (const key of [a.apiKey, b.apiKey]) {
        expect(rows.some((r) => r.key_hash === key)).toBe(false);
        expect(rows.some((r) => r.key_hash.length === 64 && key.startsWith(r.key_prefix))).toBe(true);
      }
    });
  });
}
