/**
 * Webhook dispatch: how many events a second the dispatcher delivers to a local receiver that
 * verifies every signature (standardwebhooks). BENCH_WEBHOOK_EVENTS (default 5,000) job.completed
 * events are put in the outbox at once; the clock runs from starting the dispatcher (as `tally serve`
 * does: a worker thread on SQLite, in-process on PostgreSQL) until the last delivery is recorded
 * as succeeded.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { createCommitter } from '../src/db/committer.js';
import { migrate, openDatabase } from '../src/db/database.js';
import type { Dialect } from '../src/db/migrations/helpers.js';
import { appendOutbox } from '../src/db/queries/outbox.js';
import { createStore } from '../src/ledger/stores.js';
import { createWebhook } from '../src/ledger/webhooks.js';
import { startDispatcher } from '../src/notify/dispatcher.js';
import { freshDatabase, sleep } from './support.js';
import type { BenchModule } from './types.js';

interface Row { [k: string]: string | number | boolean | null; dialect: Dialect; events: number; seconds: number; perSecond: number; verified: boolean }

async function benchDispatch(dialect: Dialect, events: number, log: (s: string) => void): Promise<Row> {
  const fresh = await freshDatabase(dialect);
  const database = openDatabase(fresh.url);
  await migrate(database);
  const committer = createCommitter(database);
  let secret = '';
  let good = 0;
  let bad = 0;
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      try {
        new Webhook(secret).verify(body, req.headers as Record<string, string>);
        good += 1;
        res.statusCode = 204;
      } catch {
        bad += 1;
        res.statusCode = 400;
      }
      res.end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  try {
    const { store } = await committer.run((trx) => createStore(trx, { name: 'Webhook bench' }));
    secret = (await committer.run((trx) => createWebhook(trx, store.id, { url, events: ['job.completed'] }))).secret;
    for (let i = 0; i < events; i += 500) {
      await committer.run(async (trx) => {
        for (let j = i; j < Math.min(events, i + 500); j++) await appendOutbox(trx, store.id, 'job.completed', { id: j + 1, kind: 'bulk_adjustment', status: 'completed' });
      });
    }
    log(`webhooks ${dialect}: ${events} events queued; dispatching`);
    const t0 = performance.now();
    const dispatcher = startDispatcher(database, { idleMs: 10, mailer: null, allowPrivate: true });
    for (;;) {
      const row = await database.db.selectFrom('webhook_deliveries').select((e) => e.fn.countAll<number>().as('n')).where('status', '=', 'succeeded').executeTakeFirstOrThrow();
      if (Number(row.n) >= events) break;
      if (performance.now() - t0 > 600_000) throw new Error('webhook bench timed out');
      await sleep(20);
    }
    const seconds = (performance.now() - t0) / 1000;
    await dispatcher.stop();
    return { dialect, events, seconds: Number(seconds.toFixed(2)), perSecond: Math.round(events / seconds), verified: good >= events && bad === 0 };
  } finally {
    receiver.close();
    await database.close();
    await fresh.drop();
  }
}

export const webhookDispatch: BenchModule = {
  name: 'webhooks',
  async run(ctx) {
    const events = Number(process.env.BENCH_WEBHOOK_EVENTS ?? 5000);
    const rows: Row[] = [];
    for (const dialect of ctx.dialects) rows.push(await benchDispatch(dialect, events, ctx.log));
    return [{
      title: 'Webhook dispatch to a local verifying receiver (outbox → signed POST → recorded)',
      columns: [['dialect', 'database'], ['events', 'events'], ['seconds', 's'], ['perSecond', 'events/s'], ['verified', 'all signatures verified']],
      rows,
      notes: ['32 deliveries in flight, at most 8 per endpoint (one endpoint here): a per-endpoint bound, not the dispatcher\'s ceiling.'],
    }];
  },
};
