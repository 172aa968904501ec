import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedCustomers } from '../src/ledger/seed.js';
import { startDispatcher } from '../src/notify/dispatcher.js';
import { DIALECTS } from './support/databases.js';
import { until } from './support/process.js';
import { useServer, waitForJob } from './support/server.js';
import { startReceiver } from './support/webhook-receiver.js';

const CUSTOMERS = 2500;

for (const dialect of DIALECTS) {
  describe(`${dialect}: transaction.batch events`, () => {
    const ctx = useServer(dialect);
    let receiver: Awaited<ReturnType<typeof startReceiver>>;
    beforeAll(async () => {
      ctx.server.context.allowPrivateWebhooks = true;
      receiver = await startReceiver();
      await seedCustomers(ctx.server.database.db, ctx.server.committer, ctx.store.id, CUSTOMERS);
    });
    afterAll(async () => receiver.close());

    async function bulkJob(): Promise<number> {
      const res = await ctx.store.api('POST', '/v1/bulk-adjustments', { selection: { all: true }, type: 'adjust', points: 7, reason: 'Batch test' });
      expect(res.status, res.text).toBe(202);
      expect(await waitForJob(ctx.store, res.body.job.id)).toMatchObject({ status: 'completed' });
      return res.body.job.id;
    }

    const batchRows = async () =>
      (await ctx.server.database.db.selectFrom('outbox').select('payload').where('store_id', '=', ctx.store.id).where('event_type', '=', 'transaction.batch').execute()).length;

    it('writes no outbox row for a job chunk when no endpoint subscribes', async () => {
      await bulkJob();
      expect(await batchRows()).toBe(0);
    });

    it('writes one outbox row per 1,000 job transactions and delivers each as one signed batch POST, expanded from the ledger', async () => {
      const hook = await ctx.store.api('POST', '/v1/webhooks', { url: receiver.url, events: ['transaction.created'] });
      receiver.secrets = [hook.body.webhook.secret];
      const jobId = await bulkJob();
      // Written by the job's chunks, in their transactions: at most 1,000 rows each, a few per chunk.
      const written = await batchRows();
      expect(written).toBeGreaterThanOrEqual(Math.ceil(CUSTOMERS / 1000));
      const dispatcher = startDispatcher(ctx.server.database, { committer: ctx.server.committer, idleMs: 20, mailer: null, allowPrivate: true });
      try {
        const got = await until(async () => (receiver.received.filter((r) => r.status === 204).length === written ? receiver.received : undefined));
        const events = got.map((r) => r.verified as { id: string; type: string; data: { jobId: number; transactions: { id: number; customerId: number; jobId: number; points: number }[] } });
        expect(new Set(events.map((e) => e.id)).size).toBe(written);
        const txs = events.flatMap((e) => {
          expect(e.type).toBe('transaction.batch');
          expect(e.data.jobId).toBe(jobId);
          expect(e.data.transactions.length).toBeLessThanOrEqual(1000);
          return e.data.transactions;
        });
        expect(txs).toHaveLength(CUSTOMERS);
        expect(new Set(txs.map((t) => t.customerId)).size).toBe(CUSTOMERS);
        expect(txs.every((t) => t.jobId === jobId && t.points === 7)).toBe(true);
        const ledger = await sql<{ n: number }>`SELECT count(*) AS n FROM transactions WHERE job_id = ${jobId}`.execute(ctx.server.database.db);
        expect(Number(ledger.rows[0].n)).toBe(txs.length);
      } finally {
        await dispatcher.stop();
      }
    });

    it('writes transaction.created for a single adjustment, in its transaction, once an endpoint subscribes', async () => {
      const [c] = (await ctx.store.api('GET', '/v1/customers?limit=1')).body.data;
      const res = await ctx.store.api('POST', `/v1/customers/${c.id}/adjustments`, { points: 3, reason: 'One event' });
      expect(res.status).toBe(201);
      const rows = await ctx.server.database.db.selectFrom('outbox').select('payload').where('store_id', '=', ctx.store.id).where('event_type', '=', 'transaction.created').execute();
      expect(rows.map((r) => JSON.parse(r.payload).id)).toContain(res.body.transaction.id);
    });
  });
}
