import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from './support/databases.js';
import { assertLedgerInvariants } from './support/fixtures.js';
import { request, startServer, type TestServer } from './support/server.js';

/** A browser-like client: keeps the session cookie and sends the CSRF token it was given. */
function browser(url: string) {
  let cookie = '';
  let csrf = '';
  return {
    get csrf() {
      return csrf;
    },
    async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
      const res = await request(`${url}${path}`, method, body, {
        ...(cookie ? { cookie } : {}),
        ...(csrf && method !== 'GET' ? { 'x-csrf-token': csrf } : {}),
        ...headers,
      });
      const set = res.headers.get('set-cookie');
      if (set) cookie = set.split(';')[0];
      if (res.body?.csrfToken) csrf = res.body.csrfToken;
      return res;
    },
    setCookieHeader: () => cookie,
  };
}

for (const dialect of DIALECTS) {
  describe(`${dialect}: setup, sessions, roles, users and API keys`, () => {
    let server: TestServer;
    let serial = 0;
    let ownerApp: ReturnType<typeof browser>;
    let storeId: number;
    beforeAll(async () => {
      server = await startServer(dialect);
      ownerApp = browser(server.url);
    });
    afterAll(async () => {
      await assertLedgerInvariants(server.database);
      await server.close();
    });

    async function newCustomer(): Promise<{ id: number }> {
      serial += 1;
      const res = await ownerApp.call('POST', '/v1/customers', { externalId: `staff-${serial}` });
      expect(res.status, res.text).toBe(201);
      return res.body;
    }

    async function login(email: string, password: string) {
      const app = browser(server.url);
      const res = await app.call('POST', '/v1/session', { email, password });
      expect(res.status, res.text).toBe(200);
      return app;
    }

    it('reports setup as needed on an empty database, then creates the store, its owner (logged in) and sample customers', async () => {
      expect((await request(`${server.url}/v1/setup`, 'GET')).body).toEqual({ needed: true });
      const res = await ownerApp.call('POST', '/v1/setup', {
        storeName: 'Corner Shop',
        ownerEmail: 'Owner@Example.com',
        ownerPassword: 'correct horse',
        sampleCustomers: 30,
      });
      expect(res.status, res.text).toBe(201);
      expect(res.body.user).toMatchObject({ email: 'owner@example.com', role: 'owner', active: true });
      storeId = res.body.store.id;
      const cookie = res.headers.get('set-cookie') ?? '';
      expect(cookie).toMatch(/HttpOnly/i);
      expect(cookie).toMatch(/SameSite=Lax/i);
      expect(cookie).not.toMatch(/Secure/i);
      const list = await ownerApp.call('GET', '/v1/customers?limit=500');
      expect(list.status).toBe(200);
      expect(list.body.data).toHaveLength(30);
      expect((await request(`${server.url}/v1/setup`, 'GET')).body).toEqual({ needed: false });
    });

    it('answers 409 already_set_up once a store exists', async () => {
      const res = await request(`${server.url}/v1/setup`, 'POST', { storeName: 'B', ownerEmail: 'b@example.com', ownerPassword: 'password1' });
      expect(res.status).toBe(409);
      expect(res.body.error.code).toBe('already_set_up');
    });

    it('marks the session cookie Secure behind an HTTPS proxy', async () => {
      const res = await request(`${server.url}/v1/session`, 'POST', { email: 'owner@example.com', password: 'correct horse' }, { 'x-forwarded-proto': 'https' });
      expect(res.status).toBe(200);
      expect(res.headers.get('set-cookie')).toMatch(/Secure/i);
    });

    it('records the staff user as the actor of an adjustment made in the app', async () => {
      const customer = await newCustomer();
      const res = await ownerApp.call('POST', `/v1/customers/${customer.id}/adjustments`, { points: 50, reason: 'Goodwill' });
      expect(res.status, res.text).toBe(201);
      expect(res.body.transaction.actor).toMatchObject({ type: 'user', name: 'owner@example.com' });
      expect(res.body.transaction.actor.id).toBeGreaterThan(0);
    });

    it('refuses a state-changing request with the cookie but without (or with a wrong) CSRF token, and accepts it with one', async () => {
      const customer = await newCustomer();
      const path = `/v1/customers/${customer.id}/adjustments`;
      const body = { points: 5, reason: 'No token' };
      const none = await request(`${server.url}${path}`, 'POST', body, { cookie: ownerApp.setCookieHeader() });
      expect(none.status).toBe(403);
      expect(none.body.error.code).toBe('csrf_invalid');
      const wrong = await ownerApp.call('POST', path, body, { 'x-csrf-token': 'x'.repeat(43) });
      expect(wrong.body.error.code).toBe('csrf_invalid');
      expect((await ownerApp.call('GET', `/v1/customers/${customer.id}`)).body.balance).toBe(0);
      expect((await ownerApp.call('POST', path, body)).status).toBe(201);
    });

    it('GET /v1/session answers the current session; logging out revokes it server-side', async () => {
      const app = await login('owner@example.com', 'correct horse');
      const me = await app.call('GET', '/v1/session');
      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({ user: { role: 'owner' }, store: { id: storeId, name: 'Corner Shop' }, csrfToken: app.csrf });
      const stolen = app.setCookieHeader();
      expect((await app.call('DELETE', '/v1/session')).status).toBe(204);
      const after = await request(`${server.url}/v1/customers`, 'GET', undefined, { cookie: stolen });
      expect(after.status).toBe(401);
      expect((await request(`${server.url}/v1/session`, 'GET', undefined, { cookie: stolen })).status).toBe(401);
    });

    it('stores sessions hashed and passwords with scrypt', async () => {
      const token = decodeURIComponent(ownerApp.setCookieHeader().split('=')[1]);
      const rows = await server.database.db.selectFrom('sessions').select('token_hash').execute();
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.map((r) => r.token_hash)).not.toContain(token);
      const user = await server.database.db.selectFrom('users').select('password_hash').executeTakeFirstOrThrow();
      expect(user.password_hash).toMatch(/^scrypt\$/);
    });

    it('throttles failed logins per account with 429 and Retry-After, even for the right password', async () => {
      const created = await ownerApp.call('POST', '/v1/users', { email: 'target@example.com', role: 'viewer', password: 'rightpassword' });
      expect(created.status, created.text).toBe(201);
      for (let i = 0; i < 5; i++) {
        const res = await request(`${server.url}/v1/session`, 'POST', { email: 'target@example.com', password: `wrong${i}` });
        expect(res.status).toBe(401);
      }
      const blocked = await request(`${server.url}/v1/session`, 'POST', { email: 'target@example.com', password: 'rightpassword' });
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    });

    it('throttles failed logins per address across accounts', async () => {
      // The address has 5 failures from the previous test; 15 more spread over new e-mails reach 20.
      for (let i = 0; i < 15; i++) {
        const res = await request(`${server.url}/v1/session`, 'POST', { email: `nobody${i}@example.com`, password: 'guess-guess' });
        expect(res.status).toBe(401);
      }
      const res = await request(`${server.url}/v1/session`, 'POST', { email: 'owner@example.com', password: 'correct horse' });
      expect(res.status).toBe(429);
      await server.database.db.deleteFrom('login_failures').execute();
    });

    describe('roles', () => {
      let agent: ReturnType<typeof browser>;
      let viewer: ReturnType<typeof browser>;
      beforeAll(async () => {
        const a = await ownerApp.call('POST', '/v1/users', { email: 'agent@example.com', role: 'agent', name: 'Ann Agent' });
        expect(a.status, a.text).toBe(201);
        expect(a.body.oneTimePassword).toMatch(/^\S{12,}$/);
        agent = await login('agent@example.com', a.body.oneTimePassword);
        const v = await ownerApp.call('POST', '/v1/users', { email: 'viewer@example.com', role: 'viewer', password: 'viewerpass' });
        viewer = await login('viewer@example.com', v.body.user && 'viewerpass');
      });

      it('lets an agent adjust one customer within the limit, as themselves', async () => {
        const customer = await newCustomer();
        const res = await agent.call('POST', `/v1/customers/${customer.id}/adjustments`, { points: 1000, reason: 'Within limit' });
        expect(res.status, res.text).toBe(201);
        expect(res.body.transaction.actor).toMatchObject({ type: 'user', name: 'Ann Agent' });
      });

      it("refuses an agent's adjustment above the store's per-adjustment limit", async () => {
        const customer = await newCustomer();
        const res = await agent.call('POST', `/v1/customers/${customer.id}/adjustments`, { points: 1001, reason: 'Too much' });
        expect(res.status).toBe(403);
        expect(res.body.error).toMatchObject({ code: 'forbidden', details: { limit: 1000 } });
        await server.database.db.updateTable('stores').set({ settings: JSON.stringify({ agentPointLimit: 5000 }) }).where('id', '=', storeId).execute();
        expect((await agent.call('POST', `/v1/customers/${customer.id}/adjustments`, { points: 1001, reason: 'Now fine' })).status).toBe(201);
        await server.database.db.updateTable('stores').set({ settings: '{}' }).where('id', '=', storeId).execute();
      });

      it('refuses an agent bulk adjustments, job reverts, staff and key management', async () => {
        for (const [method, path, body] of [
          ['POST', '/v1/bulk-adjustments', { selection: { all: true }, type: 'adjust', points: 1, reason: 'Bulk', dryRun: true }],
          ['POST', '/v1/jobs/1/revert', { reason: 'Undo it' }],
          ['POST', '/v1/users', { email: 'x@example.com', role: 'viewer' }],
          ['POST', '/v1/api-keys', { name: 'k' }],
          ['GET', '/v1/users', undefined],
        ] as const) {
          const res = await agent.call(method, path, body);
          expect(res.status, `${method} ${path}`).toBe(403);
          expect(res.body.error.code).toBe('forbidden');
        }
      });

      it('lets a viewer read but not write', async () => {
        const customer = await newCustomer();
        expect((await viewer.call('GET', `/v1/customers/${customer.id}`)).status).toBe(200);
        const res = await viewer.call('POST', `/v1/customers/${customer.id}/adjustments`, { points: 1, reason: 'Viewer' });
        expect(res.status).toBe(403);
        expect(res.body.error.code).toBe('forbidden');
      });

      it('a deactivated user loses their sessions at once and cannot log in', async () => {
        const users = (await ownerApp.call('GET', '/v1/users')).body.data as { id: number; email: string }[];
        const v = users.find((u) => u.email === 'viewer@example.com')!;
        const res = await ownerApp.call('PATCH', `/v1/users/${v.id}`, { active: false });
        expect(res.status, res.text).toBe(200);
        expect(res.body.user.active).toBe(false);
        expect((await viewer.call('GET', '/v1/customers')).status).toBe(401);
        expect((await request(`${server.url}/v1/session`, 'POST', { email: 'viewer@example.com', password: 'viewerpass' })).status).toBe(401);
      });

      it('keeps the last active owner, and only an owner grants the owner role', async () => {
        const users = (await ownerApp.call('GET', '/v1/users')).body.data as { id: number; role: string }[];
        const theOwner = users.find((u) => u.role === 'owner')!;
        const res = await ownerApp.call('PATCH', `/v1/users/${theOwner.id}`, { role: 'admin' });
        expect(res.status).toBe(409);
        expect(res.body.error.code).toBe('last_owner');
        const admin = await ownerApp.call('POST', '/v1/users', { email: 'admin@example.com', role: 'admin', password: 'adminpass1' });
        const adminApp = await login('admin@example.com', 'adminpass1');
        const promote = await adminApp.call('PATCH', `/v1/users/${admin.body.user.id}`, { role: 'owner' });
        expect(promote.status).toBe(403);
        expect((await adminApp.call('POST', '/v1/users', { email: 'agent2@example.com', role: 'agent' })).status).toBe(201);
      });
    });

    describe('API keys', () => {
      it('creates a key shown once (acting as admin), lists only its prefix, and revoking it takes effect at once', async () => {
        const res = await ownerApp.call('POST', '/v1/api-keys', { name: 'Storefront' });
        expect(res.status, res.text).toBe(201);
        expect(res.body.key).toMatch(/^tally_/);
        expect(res.body.apiKey).toMatchObject({ name: 'Storefront', role: 'admin', revokedAt: null });
        const key = res.body.key as string;
        const listed = await ownerApp.call('GET', '/v1/api-keys');
        expect(listed.text).not.toContain(key);
        expect(listed.body.data.map((k: { prefix: string }) => k.prefix)).toContain(key.slice(0, 12));
        const asKey = (path: string, body?: unknown) => request(`${server.url}${path}`, body ? 'POST' : 'GET', body, { authorization: `Bearer ${key}` });
        expect((await asKey('/v1/customers')).status).toBe(200);
        const customer = await newCustomer();
        const viaKey = await asKey(`/v1/customers/${customer.id}/adjustments`, { points: 3, reason: 'By key' });
        expect(viaKey.status).toBe(201);
        expect(viaKey.body.transaction.actor.type).toBe('api_key');
        const revoked = await ownerApp.call('POST', `/v1/api-keys/${res.body.apiKey.id}/revoke`);
        expect(revoked.status).toBe(200);
        expect(revoked.body.apiKey.revokedAt).not.toBeNull();
        expect((await asKey('/v1/customers')).status).toBe(401);
      });

      it('a key created with the viewer role cannot write', async () => {
        const res = await ownerApp.call('POST', '/v1/api-keys', { name: 'Reports', role: 'viewer' });
        const customer = await newCustomer();
        const write = await request(`${server.url}/v1/customers/${customer.id}/adjustments`, 'POST', { points: 1, reason: 'Viewer key' }, { authorization: `Bearer ${res.body.key}` });
        expect(write.status).toBe(403);
      });
    });
  });
}
