import { describe, expect, it } from 'vitest';
import { DIALECTS } from './support/databases.js';
import { request, useServer } from './support/server.js';

// tally serve answers the admin app at / (built into web/dist by the suite's globalSetup).
for (const dialect of DIALECTS) {
  describe(`${dialect}: the admin app's static files`, () => {
    const ctx = useServer(dialect);

    it('serves index.html at / and for the app own paths, with no key', async () => {
      for (const path of ['/', '/customers/12', '/jobs']) {
        const res = await request(`${ctx.server.url}${path}`, 'GET');
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
        expect(res.text).toContain('<div id="root">');
      }
    });

    it('serves the built assets with their media type', async () => {
      const index = (await request(`${ctx.server.url}/`, 'GET')).text;
      const script = index.match(/src="(\/assets\/[^"]+\.js)"/)?.[1];
      expect(script).toBeDefined();
      const res = await request(`${ctx.server.url}${script}`, 'GET');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    });

    it('never serves a file outside web/dist', async () => {
      for (const path of ['/..%2f..%2fpackage.json', '/%2e%2e/%2e%2e/package.json', '/assets/..%2f..%2f..%2fpackage.json']) {
        const res = await request(`${ctx.server.url}${path}`, 'GET');
        expect(res.text).not.toContain('"name": "tally"');
      }
    });

    it('leaves /v1 to the API: an unknown /v1 path is the JSON 404, and API routes still need a key', async () => {
      const missing = await request(`${ctx.server.url}/v1/nothing-here`, 'GET');
      expect(missing.status).toBe(404);
      expect(missing.body.error.code).toBe('not_found');
      expect((await request(`${ctx.server.url}/v1/customers`, 'GET')).status).toBe(401);
    });
  });
}
