import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCommitter } from '../src/db/committer.js';
import { type Database, migrate, openDatabase } from '../src/db/database.js';
import { createStore } from '../src/ledger/stores.js';
import { DIALECTS, freshDatabaseUrl, type TestDatabase } from './support/databases.js';
import { freePort, spawnTally, type TallyProcess, until } from './support/process.js';
import { request } from './support/server.js';
import { startSmtp } from './support/smtp-server.js';
import { startReceiver } from './support/webhook-receiver.js';

/**
 * The events settings as an operator gives them: environment variables read by src/config.ts and
 * wired by `tally serve` into its dispatcher (on SQLite a worker thread of its own).
 */
for (const dialect of DIALECTS) {
  describe(`${dialect}: tally serve sends events as its environment says`, () => {
    let fresh: TestDatabase;
    let database: Database;
    let store: { id: number; apiKey: string };
    let smtp: Awaited<ReturnType<typeof startSmtp>>;
    let receiver: Awaited<ReturnType<typeof startReceiver>>;
    let proc: TallyProcess | undefined;

    beforeAll(async () => {
      fresh = await freshDatabaseUrl(dialect);
      database = openDatabase(fresh.url);
      await migrate(database);
      const created = await createCommitter(database).run((trx) => createStore(trx, { name: 'Env store' }));
      store = { id: created.store.id, apiKey: created.apiKey };
      await database.db.updateTable('stores').set({ settings: JSON.stringify({ notifyEmail: 'ops@env.example' }) }).where('id', '=', store.id).execute();
      smtp = await startSmtp();
      receiver = await startReceiver();
    });
    afterAll(async () => {
      proc?.child.kill('SIGKILL');
      await receiver.close();
      await smtp.close();
      await database.close();
      await fresh.drop();
    });

    it('mails a job\'s end through SMTP_URL from SMTP_FROM with links to TALLY_PUBLIC_URL, and delivers to a local endpoint with TALLY_ALLOW_PRIVATE_WEBHOOKS', async () => {
      const port = await freePort();
      proc = spawnTally(['serve', '--port', String(port)], {
        DATABASE_URL: fresh.url, RATE_LIMIT_PER_MINUTE: '0', TALLY_ALLOW_PRIVATE_WEBHOOKS: 'true', DISPATCH_IDLE_MS: '50',
        SMTP_URL: `smtp://127.0.0.1:${smtp.port}`, SMTP_FROM: 'Env Tally <points@env.example>', TALLY_PUBLIC_URL: 'https://tally.env.example',
      });
      const url = `http://127.0.0.1:${port}`;
      const api = (method: string, path: string, body?: unknown) => request(`${url}${path}`, method, body, { authorization: `Bearer ${store.apiKey}` });
      await until(async () => ((await fetch(`${url}/healthz`)).ok ? true : undefined));

      const hook = await api('POST', '/v1/webhooks', { url: receiver.url, events: ['job.completed'] });
      expect(hook.status, hook.text).toBe(201);
      receiver.secrets = [hook.body.webhook.secret];
      const customer = await api('POST', '/v1/customers', { externalId: 'env-1' });
      expect(customer.status, customer.text).toBe(201);
      const job = await api('POST', '/v1/bulk-adjustments', { selection: { all: true }, type: 'adjust', points: 5, reason: 'Env test' });
      expect(job.status, job.text).toBe(202);
      const jobId = job.body.job.id as number;

      const mail = await until(async () => smtp.mails.find((m) => m.subject?.includes(`job ${jobId} `)));
      expect((mail.to as { text: string }).text).toBe('ops@env.example');
      expect(mail.from?.text).toContain('points@env.example');
      expect(mail.text).toContain(`https://tally.env.example/v1/jobs/${jobId}/errors.csv`);
      const sent = await until(async () => receiver.received.find((r) => r.status === 204));
      expect(sent.verified).toMatchObject({ type: 'job.completed', data: { id: jobId, status: 'completed' } });
      const listed = await until(async () => {
        const data = (await api('GET', '/v1/notifications')).body.data;
        return data[0]?.sentAt ? data : undefined;
      });
      expect(listed[0]).toMatchObject({ kind: 'job_finished', to: 'ops@env.example', error: null });

      proc.child.kill('SIGTERM');
      expect(await proc.exited).toBe(0);
      proc = undefined;
    }, 60_000);
  });
}
