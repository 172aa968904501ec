import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { appendOutbox } from '../src/db/queries/outbox.js';
import { type Dispatcher, startDispatcher } from '../src/notify/dispatcher.js';
import { RETRY_DELAYS_MS } from '../src/notify/schedule.js';
import { RESPONSE_CAP_BYTES } from '../src/notify/send-webhook.js';
import { DIALECTS } from './support/databases.js';
import { until } from './support/process.js';
import { type TestStore, useServer } from './support/server.js';
import { startReceiver } from './support/webhook-receiver.js';

/** The per-request timeout of the timeout tests (10 s in production); the others run with a roomy one, so load never fails them. */
const TIMEOUT_MS = 300;
const ROOMY_TIMEOUT_MS = 10_000;
const HUGE_BYTES = 50 * 1024 * 1024;

/** A local HTTP server answering every request with `handle`; closed with its connections. */
async function localServer(handle: Parameters<typeof createServer>[1]): Promise<{ base: string; close(): Promise<void> }> {
  const server: Server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** What a huge-body answer managed to hand to its socket before the dispatcher hung up. */
interface Streamed { status: number; written: number; finished: boolean; closed: boolean }

for (const dialect of DIALECTS) {
  describe(`${dialect}: webhook receivers that misbehave`, () => {
    const ctx = useServer(dialect);
    let target: Awaited<ReturnType<typeof startReceiver>>;
    let redirector: Awaited<ReturnType<typeof localServer>>;
    let huge: Awaited<ReturnType<typeof localServer>>;
    const streamed: Streamed[] = [];
    let dispatcher: Dispatcher;
    let clock = Date.now();
    let store: TestStore;

    beforeAll(async () => {
      target = await startReceiver();
      // /301, /302, /307, /308: answers that status, pointing at the verifying receiver.
      redirector = await localServer((req, res) => {
        req.resume();
        req.on('end', () => {
          res.writeHead(Number(req.url?.slice(1)), { location: target.url });
          res.end();
        });
      });
      // /200, /500: that status with a 50 MB body, written as fast as the socket takes it.
      huge = await localServer((req, res) => {
        req.resume();
        req.on('end', () => {
          const s: Streamed = { status: Number(req.url?.slice(1)), written: 0, finished: false, closed: false };
          streamed.push(s);
          const chunk = Buffer.alloc(64 * 1024, 'x');
          res.on('finish', () => (s.finished = true));
          res.on('close', () => (s.closed = true));
          res.writeHead(s.status, { 'content-type': 'text/plain', 'content-length': String(HUGE_BYTES) });
          const pump = () => {
            while (!s.closed && s.written < HUGE_BYTES) {
              s.written += chunk.length;
              if (!res.write(chunk)) return void res.once('drain', pump);
            }
            if (!s.closed) res.end();
          };
          pump();
        });
      });
    });
    afterAll(async () => {
      await target.close();
      await redirector.close();
      await huge.close();
    });
    beforeEach(async () => {
      store = await ctx.server.newStore('Misbehaving receivers');
      ctx.server.context.allowPrivateWebhooks = true;
      target.received.length = 0;
      streamed.length = 0;
      dispatcher = dispatcherWith(ROOMY_TIMEOUT_MS);
    });
    afterEach(async () => {
      ctx.server.context.allowPrivateWebhooks = false;
      await dispatcher.stop();
    });

    function dispatcherWith(timeoutMs: number, leaseMs?: number): Dispatcher {
      return startDispatcher(ctx.server.database, {
        committer: ctx.server.committer, now: () => clock, idleMs: 20, mailer: null, random: () => 0.5, allowPrivate: true, timeoutMs, leaseMs,
      });
    }

    async function restart(timeoutMs: number, leaseMs?: number) {
      await dispatcher.stop();
      dispatcher = dispatcherWith(timeoutMs, leaseMs);
    }

    async function endpoint(url: string) {
      const res = await store.api('POST', '/v1/webhooks', { url, events: ['job.completed'] });
      expect(res.status, res.text).toBe(201);
      return res.body.webhook as { id: number; secret: string };
    }

    async function emitJobEvent() {
      await ctx.server.committer.run((trx) => appendOutbox(trx, store.id, 'job.completed', { id: 7, kind: 'bulk_adjustment', status: 'completed' }));
      dispatcher.wake();
    }

    async function deliveries(id: number) {
      const res = await store.api('GET', `/v1/webhooks/${id}/deliveries`);
      expect(res.status, res.text).toBe(200);
      return res.body.data as any[];
    }

    /** The newest delivery once attempt `n` is recorded (final, or its next attempt scheduled after the clock). */
    async function recorded(id: number, n: number) {
      return until(async () => {
        const [d] = await deliveries(id);
        return d?.attempt === n && (d.status !== 'pending' || Date.parse(d.nextAttemptAt) > clock) ? d : undefined;
      });
    }

    function advance(ms: number) {
      clock += ms;
      dispatcher.wake();
    }

    it('does not follow a 301, 302, 307 or 308: each attempt fails and is retried, then the delivery fails, and the Location never gets the event', async () => {
      const codes = [301, 302, 307, 308];
      const hooks = [];
      for (const code of codes) hooks.push(await endpoint(`${redirector.base}/${code}`));
      target.secrets = hooks.map((h) => h.secret);
      await emitJobEvent();
      for (let attempt = 1; attempt <= RETRY_DELAYS_MS.length + 1; attempt++) {
        for (const [i, hook] of hooks.entries()) {
          const d = await recorded(hook.id, attempt);
          expect(d).toMatchObject({ responseStatus: codes[i], error: `HTTP ${codes[i]}` });
          expect(d.status).toBe(attempt <= RETRY_DELAYS_MS.length ? 'pending' : 'failed');
          if (d.status === 'pending') expect(Date.parse(d.nextAttemptAt) - clock).toBe(RETRY_DELAYS_MS[attempt - 1]);
        }
        if (attempt <= RETRY_DELAYS_MS.length) advance(RETRY_DELAYS_MS[attempt - 1]);
      }
      expect(target.received).toHaveLength(0);
      for (const hook of hooks) {
        const got = (await store.api('GET', `/v1/webhooks/${hook.id}`)).body.webhook;
        expect(got.enabled, 'eight failed attempts over about a day and a half disable it').toBe(false);
      }
    });

    it('counts an answer later than the per-request timeout as a failed attempt, and retries it with the same webhook-id', async () => {
      await restart(TIMEOUT_MS);
      const hook = await endpoint(target.url);
      target.secrets = [hook.secret];
      target.late = 1;
      target.lateMs = TIMEOUT_MS * 10;
      await emitJobEvent();
      const first = await recorded(hook.id, 1);
      expect(first).toMatchObject({ status: 'pending', responseStatus: null, error: `timed out after ${TIMEOUT_MS} ms` });
      expect(Date.parse(first.nextAttemptAt) - clock).toBe(RETRY_DELAYS_MS[0]);
      expect(target.received).toHaveLength(1);
      expect(target.received[0].verified).not.toBeNull();
      // The late answer (a 204) arriving afterwards changes nothing.
      await new Promise((r) => setTimeout(r, TIMEOUT_MS * 11));
      expect(await recorded(hook.id, 1)).toMatchObject({ status: 'pending', error: `timed out after ${TIMEOUT_MS} ms` });
      // The retry runs with a roomy timeout, so a loaded machine cannot make a prompt answer late.
      await restart(ROOMY_TIMEOUT_MS);
      advance(RETRY_DELAYS_MS[0]);
      const second = await recorded(hook.id, 2);
      expect(second).toMatchObject({ status: 'succeeded', responseStatus: 204, error: null });
      expect(target.received.map((r) => r.id)).toEqual([first.eventId, first.eventId]);
      expect((await deliveries(hook.id))).toHaveLength(1);
    });

    it('does not send a delivery again while it is still sending it, even once its lease has run out', async () => {
      await restart(3000, 60_000);
      const hook = await endpoint(target.url);
      target.secrets = [hook.secret];
      target.late = 1;
      target.lateMs = 4000;
      await emitJobEvent();
      await until(async () => (target.received.length === 1 ? true : undefined));
      // The request hangs; the lease (on the dispatcher's clock) runs out meanwhile.
      advance(120_000);
      const d = await until(async () => {
        const [row] = await deliveries(hook.id);
        return row && Date.parse(row.nextAttemptAt) > clock ? row : undefined;
      });
      expect(d).toMatchObject({ attempt: 1, status: 'pending', error: 'timed out after 3000 ms' });
      expect(target.received).toHaveLength(1);
    });

    it('counts a 200 whose body does not end within the timeout as a failed attempt', async () => {
      const trickle = await localServer((req, res) => {
        req.resume();
        req.on('end', () => {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.write('still thinking');
        });
      });
      try {
        await restart(TIMEOUT_MS);
        const hook = await endpoint(`${trickle.base}/hook`);
        await emitJobEvent();
        expect(await recorded(hook.id, 1)).toMatchObject({ status: 'pending', error: `timed out after ${TIMEOUT_MS} ms` });
      } finally {
        await trickle.close();
      }
    });

    it(`reads a 50 MB answer only up to ${RESPONSE_CAP_BYTES} bytes and hangs up: a 200 succeeds, a 500 fails with a short error`, async () => {
      const ok = await endpoint(`${huge.base}/200`);
      const bad = await endpoint(`${huge.base}/500`);
      await emitJobEvent();
      expect(await recorded(ok.id, 1)).toMatchObject({ status: 'succeeded', responseStatus: 200, error: null });
      const failed = await recorded(bad.id, 1);
      expect(failed).toMatchObject({ status: 'pending', responseStatus: 500 });
      expect(failed.error).toMatch(/^HTTP 500: x+$/);
      expect(failed.error.length).toBeLessThanOrEqual(520);
      const answers = await until(async () => (streamed.length === 2 && streamed.every((s) => s.closed) ? streamed : undefined));
      for (const s of answers) {
        // The connection was closed under the receiver: it could hand over only what the sockets buffer.
        expect(s.finished, `the ${s.status} answer was never read to its end`).toBe(false);
        expect(s.written).toBeLessThan(HUGE_BYTES / 2);
      }
    });
  });
}
