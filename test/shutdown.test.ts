import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { DIALECTS, freshDatabaseUrl } from './support/databases.js';
import { freePort, spawnTally, until } from './support/process.js';

for (const dialect of DIALECTS) {
  describe(`${dialect}: tally serve shuts down within a bounded time`, () => {
    it('exits 0 on SIGTERM after the in-flight request answered, well before SHUTDOWN_TIMEOUT_MS', async () => {
      const fresh = await freshDatabaseUrl(dialect);
      const port = await freePort();
      const run = spawnTally(['serve', '--port', String(port)], { DATABASE_URL: fresh.url, SHUTDOWN_TIMEOUT_MS: '5000' });
      try {
        await until(async () => ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok ? true : undefined), 30_000);
        // A request in flight: headers sent, half of its body still to come when SIGTERM arrives.
        const body = JSON.stringify({ externalId: 'in-flight' });
        const req = request({
          port,
          host: '127.0.0.1',
          method: 'POST',
          path: '/v1/customers',
          agent: false,
          headers: { 'content-type': 'application/json', 'content-length': body.length, connection: 'close' },
        });
        const answered = new Promise<number>((resolve, reject) => {
          req.once('response', (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.once('error', reject);
        });
        req.write(body.slice(0, 5));
        await new Promise((r) => setTimeout(r, 300));
        const started = Date.now();
        run.child.kill('SIGTERM');
        await new Promise((r) => setTimeout(r, 300));
        req.end(body.slice(5));
        // Answered (401: no key) rather than cut off.
        expect(await answered).toBe(401);
        expect(await run.exited).toBe(0);
        expect(Date.now() - started).toBeLessThan(5000);
        await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
      } finally {
        run.child.kill('SIGKILL');
        await fresh.drop();
      }
    }, 60_000);
  });
}
