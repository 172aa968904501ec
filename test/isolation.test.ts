import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Transaction } from '../src/domain/types.js';
import { JobRunner } from '../src/jobs/runner.js';
import { createApiKey } from '../src/ledger/stores.js';
import { DIALECTS } from './support/databases.js';
import { aCustomer, assertLedgerInvariants } from './support/fixtures.js';
import { request, startServer, type TestServer, type TestStore } from './support/server.js';

const MISSING_ID = 987654321;

for (const dialect of DIALECTS) {
  describe(`${dialect}: store isolation and authentication`, () => {
    let server: TestServer;
    let a: TestStore;
    let b: TestStore;
    let customerId: number;
    let transactionId: number;
    let jobId: number;
    let ownOfB: number;
    const email = `iso-${dialect}@example.com`;
    beforeAll(async () => {
      server = await startServer(dialect);
      a = await server.newStore('A');
      b = await server.newStore('B');
      const c = await aCustomer(a, { balance: 100, email, externalId: `iso-ext-${dialect}`, firstName: 'Isolde', lastName: 'Apart' });
      customerId = c.id;
      transactionId = (await a.api('GET', `/v1/customers/${c.id}/transactions`)).body.data[0].id;
      jobId = (await a.api('POST', '/v1/bulk-adjustments', { selection: { customerIds: [c.id] }, type: 'adjust', points: 1, reason: 'Store A job' })).body.job.id;
      ownOfB = (await aCustomer(b, { balance: 30, email: `b-${dialect}@example.com`, firstName: 'Isolde', lastName: 'Bee' })).id;
    });
    afterAll(async () => {
      await assertLedgerInvariants(server.database);
      await server.close();
    });

    /** Every route that names one of store A's resources by id, as store B would call it. */
    const routes = (): [string, string, unknown?][] => [
      ['GET', `/v1/customers/${customerId}`],
      ['POST', `/v1/customers/${customerId}/adjustments`, { points: 1, reason: 'Cross-store' }],
      ['POST', `/v1/customers/${customerId}/adjustments`, { points: -1, reason: 'Cross-store' }],
      ['POST', `/v1/customers/${customerId}/reset`, { reason: 'Cross-store' }],
      ['GET', `/v1/customers/${customerId}/transactions`],
      ['GET', `/v1/customers/${customerId}/balance`],
      ['GET', `/v1/customers/${customerId}/balance?at=${encodeURIComponent(new Date().toISOString())}`],
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
        const missing = await b.api(method, path.replace(/\/\d+(\/|\?|$)/, `/${MISSING_ID}$1`), body);
        expect(theirs.status, `${method} ${path}`).toBe(404);
        expect(theirs.headers.get('content-type'), `${method} ${path}`).toBe(missing.headers.get('content-type'));
        expect(theirs.body, `${method} ${path}`).toEqual(missing.body);
        expect(theirs.body.error).toMatchObject({ code: 'not_found', message: expect.any(String) });
      }
    });

    it("leaves store A's customer and ledger untouched by store B's attempts, even with an Idempotency-Key (its refusal stored in its own scope only)", async () => {
      const res = await b.api('POST', `/v1/customers/${customerId}/adjustments`, { points: 5, reason: 'Reach over' }, { 'idempotency-key': 'reach-over' });
      expect(res.status).toBe(404);
      expect((await a.api('GET', `/v1/customers/${customerId}`)).body.balance).toBe(100);
      const history = (await a.api('GET', `/v1/customers/${customerId}/transactions`)).body.data as Transaction[];
      expect(history.map((t) => t.reason)).toEqual(['Opening balance']);
      const rows = await server.database.db.selectFrom('transactions').select('store_id').where('customer_id', '=', customerId).execute();
      expect(rows.every((r) => r.store_id === a.id)).toBe(true);
      // B's refusal is stored in B's scope only, as any 404 is (API.md), and says nothing of A.
      const stored = await server.database.db.selectFrom('idempotency_keys').select(['store_id', 'status_code']).where('key', '=', 'reach-over').execute();
      expect(stored).toEqual([{ store_id: b.id, status_code: 404 }]);
      const replay = await b.api('POST', `/v1/customers/${customerId}/adjustments`, { points: 5, reason: 'Reach over' }, { 'idempotency-key': 'reach-over' });
      expect(replay.status).toBe(404);
      expect(replay.body).toEqual(res.body);
    });

    it("never lists another store's customers, whatever the filter", async () => {
      const ids = async (store: TestStore, query: string) =>
        (await store.api('GET', `/v1/customers${query}`)).body.data.map((c: { id: number }) => c.id);
      expect(await ids(b, '')).toEqual([ownOfB]);
      expect(await ids(b, `?email=${encodeURIComponent(email)}`)).toEqual([]);
      expect(await ids(b, `?externalId=iso-ext-${dialect}`)).toEqual([]);
      expect(await ids(b, '?search=isolde')).toEqual([ownOfB]);
      expect(await ids(b, `?search=iso-ext-${dialect}`)).toEqual([]);
      expect(await ids(b, `?search=${encodeURIComponent(email)}`)).toEqual([]);
      expect(await ids(b, '?minBalance=100&maxBalance=101')).toEqual([]);
      expect(await ids(a, '?search=isolde')).toEqual([customerId]);
      // Sorted lists and counts are scoped the same way.
      expect(await ids(b, '?sort=balance&order=desc')).toEqual([ownOfB]);
      expect(await ids(b, '?sort=name&order=asc&search=isolde')).toEqual([ownOfB]);
      const count = async (store: TestStore, query: string) => (await store.api('GET', `/v1/customers/count${query}`)).body.count;
      expect(await count(b, '')).toBe(1);
      expect(await count(b, '?search=isolde')).toBe(1);
      expect(await count(b, '?minBalance=100&maxBalance=101')).toBe(0);
      expect(await count(a, '?minBalance=100&maxBalance=101')).toBe(1);
    });

    it("never lists or exports another store's transactions or jobs", async () => {
      const log = (await b.api('GET', '/v1/transactions?limit=500')).body.data as Transaction[];
      expect(log.length).toBeGreaterThan(0);
      expect(log.every((t) => t.customerId === ownOfB)).toBe(true);
      expect((await b.api('GET', `/v1/transactions?customerId=${customerId}`)).body.data).toEqual([]);
      expect((await b.api('GET', `/v1/transactions?jobId=${jobId}`)).body.data).toEqual([]);
      expect((await b.api('GET', '/v1/jobs')).body.data).toEqual([]);
      const csv = await b.api('GET', '/v1/transactions/export.csv');
      expect(csv.status).toBe(200);
      const rows = parse(csv.text, { columns: true }) as Record<string, string>[];
      expect(rows.length).toBe(log.length);
      expect(rows.every((r) => r.customerId === String(ownOfB))).toBe(true);
      const onlyTheirs = await b.api('GET', `/v1/transactions/export.csv?customerId=${customerId}`);
      expect(onlyTheirs.text.trim().split('\n')).toHaveLength(1);
    });

    it("cannot select another store's customers for a bulk adjustment", async () => {
      const preview = await b.api('POST', '/v1/bulk-adjustments', { selection: { customerIds: [customerId] }, type: 'adjust', points: 1, reason: 'Peek', dryRun: true });
      expect(preview.body.preview.customers).toBe(0);
      const job = await b.api('POST', '/v1/bulk-adjustments', { selection: { customerIds: [customerId] }, type: 'adjust', points: 1, reason: 'Reach over' });
      await new JobRunner(server.database.db, server.committer).runJob(job.body.job.id);
      expect((await b.api('GET', `/v1/jobs/${job.body.job.id}`)).body).toMatchObject({ status: 'completed', total: 0, failed: 1 });
      expect((await a.api('GET', `/v1/customers/${customerId}`)).body.balance).toBe(100);
    });

    it.each([
      ['no Authorization header', {}],
      ['an unknown key', { authorization: 'Bearer tally_not-a-real-key' }],
      ['another scheme', { authorization: 'Basic YWxhZGRpbjpvcGVuc2VzYW1l' }],
      ['an empty bearer', { authorization: 'Bearer ' }],
      ['a bare key without scheme', { authorization: 'tally_abc' }],
      ['two tokens', { authorization: 'Bearer tally_abc tally_def' }],
    ])('answers 401 unauthorized for %s', async (_name, headers) => {
      for (const [method, path, body] of [['GET', '/v1/customers'], ['POST', `/v1/customers/${customerId}/adjustments`, { points: 1, reason: 'No key' }]] as const) {
        const res = await request(`${server.url}${path}`, method, body, headers as Record<string, string>);
        expect(res.status).toBe(401);
        expect(res.body.error).toMatchObject({ code: 'unauthorized', message: expect.any(String) });
      }
      expect((await a.api('GET', `/v1/customers/${customerId}`)).body.balance).toBe(100);
    });

    it('answers 401 for a revoked key', async () => {
      const { id, key } = await server.committer.run((trx) => createApiKey(trx, a.id, 'Revoked key'));
      await server.database.db.updateTable('api_keys').set({ revoked_at: Date.now() }).where('id', '=', id).execute();
      const res = await request(`${server.url}/v1/customers/${customerId}`, 'GET', undefined, { authorization: `Bearer ${key}` });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('unauthorized');
    });

    it('serves /healthz and /openapi.json without a key, describing every core route', async () => {
      expect(await request(`${server.url}/healthz`, 'GET')).toMatchObject({ status: 200, body: { status: 'ok' } });
      const spec = await request(`${server.url}/openapi.json`, 'GET');
      expect(spec.status).toBe(200);
      const paths = Object.keys(spec.body.paths);
      for (const open of ['/healthz', '/openapi.json']) expect(spec.body.paths[open]?.get.security).toEqual([]);
      expect(spec.body.paths['/v1/customers'].get.security).toBeUndefined();
      expect(spec.body.security).toEqual([{ apiKey: [] }]);
      for (const path of [
        '/v1/customers',
        '/v1/customers/{id}',
        '/v1/customers/{id}/adjustments',
        '/v1/customers/{id}/reset',
        '/v1/customers/{id}/transactions',
        '/v1/customers/{id}/balance',
        '/v1/transactions',
        '/v1/transactions/export.csv',
        '/v1/transactions/{id}/reverse',
      ]) {
        expect(paths).toContain(path);
      }
    });

    it('stores API keys only as hashes', async () => {
      const rows = await server.database.db.selectFrom('api_keys').selectAll().execute();
      for (const key of [a.apiKey, b.apiKey]) {
        expect(JSON.stringify(rows)).not.toContain(key);
        expect(rows.some((r) => r.key_hash.length === 64 && key.startsWith(r.key_prefix))).toBe(true);
      }
    });

    it('answers a sorted list with a cursor of another order with a typed 422', async () => {
      const first = await b.api('GET', '/v1/customers?sort=balance&limit=1');
      await aCustomer(b, { balance: 5, email: `b2-${dialect}@example.com` });
      const next = (await b.api('GET', '/v1/customers?sort=balance&limit=1')).body.nextCursor;
      expect(first.body.nextCursor).toBeNull();
      expect((await b.api('GET', `/v1/customers?sort=balance&limit=1&cursor=${next}`)).status).toBe(200);
      for (const query of [`sort=name&cursor=${next}`, `sort=balance&order=asc&cursor=${next}`, `cursor=${next}`, 'sort=bogus']) {
        const res = await b.api('GET', `/v1/customers?${query}`);
        expect(res.status, query).toBe(422);
        expect(res.body.error, query).toMatchObject({ code: 'validation_error' });
      }
    });
  });
}
