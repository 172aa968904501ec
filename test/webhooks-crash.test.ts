import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCommitter } from '../src/db/committer.js';
import { type Database, migrate, openDatabase } from '../src/db/database.js';
import { appendOutbox } from '../src/db/queries/outbox.js';
import { createStore } from '../src/ledger/stores.js';
import { DIALECTS, freshDatabaseUrl, type TestDatabase } from './support/databases.js';
import { freePort, spawnTally, type TallyProcess, until } from './support/process.js';
import { request } from './support/server.js';
import { startReceiver } from './support/webhook-receiver.js';

for (const dialect of DIALECTS) {
  describe(`${dialect}: the dispatcher survives SIGKILL`, () => {
    let fresh: TestDatabase;
    let database: Database;
    let store: { id: number; apiKey: string };
    let receiver: Awaited<ReturnType<typeof startReceiver>>;
    const running: TallyProcess[] = [];

    beforeAll(async () => {
      fresh = await freshDatabaseUrl(dialect);
      database = openDatabase(fresh.url);
      await migrate(database);
      const created = await createCommitter(database).run((trx) => createStore(trx, { name: 'Crash store' }));
      store = { id: created.store.id, apiKey: created.apiKey };
      receiver = await startReceiver();
    });
    afterAll(async () => {
      for (const p of running) p.child.kill('SIGKILL');
      await receiver.close();
      await database.close();
      await fresh.drop();
    });

    async function serve() {
      const port = await freePort();
      const proc = spawnTally(['serve', '--port', String(port)], {
        DATABASE_URL: fresh.url, RATE_LIMIT_PER_MINUTE: '0', TALLY_ALLOW_PRIVATE_WEBHOOKS: 'true',
        WEBHOOK_LEASE_MS: '1500', DISPATCH_IDLE_MS: '50',
      });
      running.push(proc);
      const url = `http://127.0.0.1:${port}`;
      await until(async () => ((await fetch(`${url}/healthz`)).ok ? true : undefined));
      return { proc, api: (method: string, path: string, body?: unknown) => request(`${url}${path}`, method, body, { authorization: `Bearer ${store.apiKey}` }) };
    }

    it('re-sends an event with the same webhook-id after the process is killed mid-delivery', async () => {
      const first = await serve();
      const hook = await first.api('POST', '/v1/webhooks', { url: receiver.url, events: ['job.completed'] });
      expect(hook.status, hook.text).toBe(201);
      receiver.secrets = [hook.body.webhook.secret];
      receiver.hang = true;
      await createCommitter(database).run((trx) => appendOutbox(trx, store.id, 'job.completed', { id: 42, kind: 'import', status: 'completed' }));
      const inFlight = await until(async () => receiver.received[0]);
      first.proc.child.kill('SIGKILL');
      await first.proc.exited;
      receiver.hang = false;

      const second = await serve();
      const done = await until(async () => receiver.received.find((r) => r.status === 204));
      expect(done.id).toBe(inFlight.id);
      expect(done.verified).toMatchObject({ type: 'job.completed', data: { id: 42 } });
      const log = await until(async () => {
        const res = await second.api('GET', `/v1/webhooks/${hook.body.webhook.id}/deliveries`);
        return res.body.data[0]?.status === 'succeeded' ? res.body.data : undefined;
      });
      expect(log).toHaveLength(1);
      expect(log[0]).toMatchObject({ eventId: inFlight.id, attempt: 2, responseStatus: 204 });
      second.proc.child.kill('SIGTERM');
      await second.proc.exited;
    });
  });
}
