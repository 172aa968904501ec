import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { appendOutbox, appendTransactionEvent } from '../src/db/queries/outbox.js';
import { type Dispatcher, startDispatcher } from '../src/notify/dispatcher.js';
import { RETRY_DELAYS_MS } from '../src/notify/schedule.js';
import { DIALECTS } from './support/databases.js';
import { aCustomer } from './support/fixtures.js';
import { until } from './support/process.js';
import { type TestStore, useServer } from './support/server.js';
import { startReceiver } from './support/webhook-receiver.js';

for (const dialect of DIALECTS) {
  describe(`${dialect}: webhooks`, () => {
    const ctx = useServer(dialect);
    let receiver: Awaited<ReturnType<typeof startReceiver>>;
    let dispatcher: Dispatcher;
    let clock = Date.now();
    let store: TestStore;

    beforeAll(async () => {
      receiver = await startReceiver();
    });
    afterAll(async () => receiver.close());
    beforeEach(async () => {
      store = await ctx.server.newStore('Webhook store');
      ctx.server.context.allowPrivateWebhooks = true;
      receiver.received.length = 0;
      receiver.failures = 0;
      dispatcher = startDispatcher(ctx.server.database, {
        committer: ctx.server.committer, now: () => clock, idleMs: 20, mailer: null, random: () => 0.5, allowPrivate: true,
      });
    });
    afterEach(async () => {
      ctx.server.context.allowPrivateWebhooks = false;
      await dispatcher.stop();
    });

    async function endpoint(events: string[] = ['transaction.created', 'job.completed']) {
      const res = await store.api('POST', '/v1/webhooks', { url: receiver.url, events });
      expect(res.status, res.text).toBe(201);
      receiver.secrets = [res.body.webhook.secret];
      return res.body.webhook as { id: number; secret: string };
    }

    async function emitJobEvent(storeId = store.id, jobId = 1) {
      await ctx.server.committer.run((trx) => appendOutbox(trx, storeId, 'job.completed', { id: jobId, kind: 'bulk_adjustment', status: 'completed' }));
      dispatcher.wake();
    }

    async function deliveries(id: number) {
      const res = await store.api('GET', `/v1/webhooks/${id}/deliveries`);
      expect(res.status, res.text).toBe(200);
      return res.body.data as any[];
    }

    /**
     * The newest delivery of the endpoint once attempt `n` is recorded. A claim counts the attempt
     * before the POST, so the attempt number alone is not enough: a recorded attempt is final or
     * has its next attempt scheduled after the test's clock (a claimed one was due, at or before it).
     */
    async function recorded(id: number, n: number) {
      return until(async () => {
        const [d] = await deliveries(id);
        return d?.attempt === n && (d.status !== 'pending' || Date.parse(d.nextAttemptAt) > clock) ? d : undefined;
      });
    }

    async function advance(ms: number) {
      clock += ms;
      dispatcher.wake();
    }

    it('refuses URLs that are not http(s) or that resolve to loopback, private or link-local addresses', async () => {
      ctx.server.context.allowPrivateWebhooks = false;
      for (const url of ['http://127.0.0.1:9/x', 'http://localhost/x', 'http://10.1.2.3/', 'http://192.168.0.1/', 'http://169.254.169.254/latest', 'http://[::1]/', 'http://[::ffff:127.0.0.1]/', 'ftp://example.com/', 'not a url']) {
        const res = await store.api('POST', '/v1/webhooks', { url, events: ['transaction.created'] });
        expect(res.status, url).toBe(422);
        expect(res.body.error.code, url).toBe('webhook_url_not_allowed');
      }
      const unknownEvent = await store.api('POST', '/v1/webhooks', { url: 'https://example.com/', events: ['nope'] });
      expect(unknownEvent.status).toBe(422);
    });

    it('shows the secret at creation only, and lists, updates and deletes endpoints', async () => {
      const hook = await endpoint();
      expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
      const bytes = Buffer.from(hook.secret.slice('whsec_'.length), 'base64').length;
      expect(bytes).toBeGreaterThanOrEqual(24);
      expect(bytes).toBeLessThanOrEqual(64);
      const list = await store.api('GET', '/v1/webhooks');
      const listed = list.body.data.find((w: any) => w.id === hook.id);
      expect(listed).toMatchObject({ url: receiver.url, enabled: true });
      expect(listed.secret).toBeUndefined();
      const patched = await store.api('PATCH', `/v1/webhooks/${hook.id}`, { events: ['job.failed'], enabled: false });
      expect(patched.body.webhook).toMatchObject({ events: ['job.failed'], enabled: false });
      const other = await ctx.server.newStore('Other');
      expect((await other.api('GET', `/v1/webhooks/${hook.id}/deliveries`)).status).toBe(404);
      expect((await other.api('DELETE', `/v1/webhooks/${hook.id}`)).status).toBe(404);
      expect((await store.api('DELETE', `/v1/webhooks/${hook.id}`)).status).toBe(204);
      expect((await store.api('GET', `/v1/webhooks/${hook.id}/deliveries`)).status).toBe(404);
    });

    it('delivers an event signed per Standard Webhooks, verified by the standardwebhooks package', async () => {
      const hook = await endpoint();
      await emitJobEvent();
      const got = await until(async () => receiver.received.find((r) => r.status === 204));
      expect(got.verified).toMatchObject({ type: 'job.completed', data: { id: 1, kind: 'bulk_adjustment' } });
      const event = JSON.parse(got.body);
      expect(event.id).toBe(got.headers['webhook-id']);
      expect(Math.abs(Number(got.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(30);
      expect(got.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
      const [d] = await until(async () => ((await deliveries(hook.id))[0]?.status === 'succeeded' ? deliveries(hook.id) : undefined));
      expect(d).toMatchObject({ eventId: event.id, eventType: 'job.completed', attempt: 1, responseStatus: 204, error: null });
      expect(d.durationMs).toBeGreaterThanOrEqual(0);
      await store.api('DELETE', `/v1/webhooks/${hook.id}`);
    });

    it('retries failed deliveries on the 5 s, 5 min schedule with the same webhook-id, and logs each attempt', async () => {
      const hook = await endpoint();
      receiver.failures = 2;
      await emitJobEvent();
      let d = await recorded(hook.id, 1);
      expect(d.status).toBe('pending');
      expect(d.error).toMatch(/HTTP 500/);
      expect(Date.parse(d.nextAttemptAt) - clock).toBe(RETRY_DELAYS_MS[0]);
      // Not yet due: nothing is sent before the backoff has passed.
      await advance(RETRY_DELAYS_MS[0] - 1000);
      await new Promise((r) => setTimeout(r, 200));
      expect(receiver.received).toHaveLength(1);
      await advance(1000);
      await until(async () => (receiver.received.length === 2 ? true : undefined));
      d = await recorded(hook.id, 2);
      expect(Date.parse(d.nextAttemptAt) - clock).toBe(RETRY_DELAYS_MS[1]);
      await advance(RETRY_DELAYS_MS[1]);
      d = await recorded(hook.id, 3);
      expect(d).toMatchObject({ status: 'succeeded', attempt: 3, responseStatus: 204 });
      expect(new Set(receiver.received.map((r) => r.id)).size).toBe(1);
      await store.api('DELETE', `/v1/webhooks/${hook.id}`);
    });

    it('disables an endpoint that fails for about a day, and tells the store with an event and a notification', async () => {
      await ctx.server.database.db.updateTable('stores').set({ settings: JSON.stringify({ notifyEmail: 'ops@example.com' }) }).where('id', '=', store.id).execute();
      const watcher = await store.api('POST', '/v1/webhooks', { url: `${receiver.url}?watcher`, events: ['webhook.disabled'] });
      const hook = await endpoint(['job.completed']);
      receiver.secrets.push(watcher.body.webhook.secret);
      receiver.failures = 1000;
      await emitJobEvent();
      for (let attempt = 1; attempt <= 8; attempt++) {
        expect(await recorded(hook.id, attempt)).toMatchObject({ responseStatus: 500 });
        if (attempt < 8) await advance(RETRY_DELAYS_MS[attempt - 1]);
      }
      const [d] = await deliveries(hook.id);
      expect(d).toMatchObject({ status: 'failed', attempt: 8 });
      const got = (await store.api('GET', `/v1/webhooks/${hook.id}`)).body.webhook;
      expect(got.enabled).toBe(false);
      expect(got.disabledReason).toMatch(/failing since/);
      // The watcher's first attempt fails too; its retry is due 5 s after the clock it was recorded at.
      // Advancing before that record lands would schedule the retry after the new clock, never due.
      expect(await recorded(watcher.body.webhook.id, 1)).toMatchObject({ responseStatus: 500 });
      receiver.failures = 0;
      await advance(RETRY_DELAYS_MS[0]);
      const told = await until(async () => receiver.received.find((r) => r.status === 204 && (r.verified as any)?.type === 'webhook.disabled'));
      expect((told.verified as any).data).toMatchObject({ id: hook.id, enabled: false });
      const notes = (await store.api('GET', '/v1/notifications')).body.data;
      expect(notes.find((n: any) => n.kind === 'webhook_disabled')).toMatchObject({ to: 'ops@example.com', sentAt: null });
      await store.api('DELETE', `/v1/webhooks/${hook.id}`);
      await store.api('DELETE', `/v1/webhooks/${watcher.body.webhook.id}`);
    });

    it('signs with both the old and the new secret after a rotation', async () => {
      const hook = await endpoint();
      const rotated = await store.api('POST', `/v1/webhooks/${hook.id}/rotate-secret`);
      expect(rotated.status).toBe(200);
      expect(rotated.body.webhook.secret).not.toBe(hook.secret);
      receiver.secrets = [hook.secret];
      await emitJobEvent();
      const byOld = await until(async () => receiver.received.find((r) => r.status === 204));
      expect(byOld.headers['webhook-signature'].split(' ')).toHaveLength(2);
      receiver.secrets = [rotated.body.webhook.secret];
      const [d] = await deliveries(hook.id);
      const again = await store.api('POST', `/v1/webhooks/${hook.id}/deliveries/${d.id}/redeliver`);
      expect(again.status).toBe(202);
      expect(again.body.delivery).toMatchObject({ eventId: d.eventId, status: 'pending' });
      const byNew = await until(async () => receiver.received.filter((r) => r.status === 204)[1]);
      expect(byNew.id).toBe(byOld.id);
      expect(await deliveries(hook.id)).toHaveLength(2);
      await store.api('DELETE', `/v1/webhooks/${hook.id}`);
    });

    it('writes transaction.created only while an enabled endpoint of the store subscribes', async () => {
      const customer = await aCustomer(store, { balance: 50 });
      const tx = (await store.api('GET', `/v1/customers/${customer.id}/transactions`)).body.data[0];
      const count = async () => Number((await sql<{ n: number }>`SELECT count(*) AS n FROM outbox WHERE event_type = 'transaction.created'`.execute(ctx.server.database.db)).rows[0].n);
      const before = await count();
      expect(await ctx.server.committer.run((trx) => appendTransactionEvent(trx, store.id, tx))).toBe(false);
      const hook = await endpoint(['transaction.created']);
      const other = await ctx.server.newStore('Unsubscribed');
      expect(await ctx.server.committer.run((trx) => appendTransactionEvent(trx, other.id, tx))).toBe(false);
      expect(await ctx.server.committer.run((trx) => appendTransactionEvent(trx, store.id, tx))).toBe(true);
      expect(await count()).toBe(before + 1);
      const got = await until(async () => receiver.received.find((r) => r.status === 204));
      expect(got.verified).toMatchObject({ type: 'transaction.created', data: { id: tx.id, customerId: customer.id, points: 50 } });
      await store.api('PATCH', `/v1/webhooks/${hook.id}`, { enabled: false });
      expect(await ctx.server.committer.run((trx) => appendTransactionEvent(trx, store.id, tx))).toBe(false);
      await store.api('DELETE', `/v1/webhooks/${hook.id}`);
    });

    it('prunes outbox rows and finished deliveries after the retention period', async () => {
      const hook = await endpoint();
      await emitJobEvent();
      await until(async () => ((await deliveries(hook.id))[0]?.status === 'succeeded' ? true : undefined));
      const outboxRows = async () => Number((await sql<{ n: number }>`SELECT count(*) AS n FROM outbox`.execute(ctx.server.database.db)).rows[0].n);
      expect(await outboxRows()).toBeGreaterThan(0);
      await dispatcher.stop();
      dispatcher = startDispatcher(ctx.server.database, { committer: ctx.server.committer, now: () => clock + 8 * 86_400_000, idleMs: 20, mailer: null, allowPrivate: true });
      await until(async () => ((await outboxRows()) === 0 ? true : undefined));
      expect(await deliveries(hook.id)).toHaveLength(0);
      await store.api('DELETE', `/v1/webhooks/${hook.id}`);
    });
  });
}
