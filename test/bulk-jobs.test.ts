import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCommitter } from '../src/db/committer.js';
import { openDatabase } from '../src/db/database.js';
import { JobRunner } from '../src/jobs/runner.js';
import { DIALECTS } from './support/databases.js';
import { aCustomer, assertLedgerInvariants } from './support/fixtures.js';
import { startServer, type TestServer, type TestStore, waitForJob } from './support/server.js';

for (const dialect of DIALECTS) {
  describe(`${dialect}: bulk adjustments and jobs`, () => {
    let server: TestServer;
    let store: TestStore;
    /** Jobs run as in production (SQLite: the worker thread); one customer a chunk, ten a second. */
    let slow: TestServer;
    beforeAll(async () => {
      // Jobs run as in production (SQLite: the worker thread), in small chunks so that every job
      // below spans several chunk transactions.
      server = await startServer(dialect, { workers: { chunkSize: 3, idleMs: 50 } });
      store = await server.newStore();
      slow = await startServer(dialect, { workers: { chunkSize: 1, ratePerStore: 10, idleMs: 50 } });
    });
    afterAll(async () => {
      await assertLedgerInvariants(server.database);
      await assertLedgerInvariants(slow.database);
      await server.close();
      await slow.close();
    });

    async function bulk(body: Record<string, unknown>, headers: Record<string, string> = {}) {
      const res = await store.api('POST', '/v1/bulk-adjustments', body, headers);
      expect(res.status, res.text).toBe(202);
      return res.body.job;
    }
    const run = (jobId: number, as = store) => waitForJob(as, jobId);
    async function jobRows(jobId: number) {
      return server.database.db.selectFrom('transactions').selectAll().where('job_id', '=', jobId).orderBy('customer_id').execute();
    }
    async function balanceOf(id: number) {
      return (await store.api('GET', `/v1/customers/${id}`)).body.balance as number;
    }

    it('previews a bulk adjustment without writing anything', async () => {
      const group = [await aCustomer(store, { balance: 10 }), await aCustomer(store, { balance: 100 }), await aCustomer(store)];
      const before = await server.database.db.selectFrom('transactions').select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow();
      const res = await store.api('POST', '/v1/bulk-adjustments', {
        selection: { customerIds: group.map((c) => c.id) },
        type: 'adjust',
        points: -50,
        reason: 'Preview a deduction',
        dryRun: true,
      });
      expect(res.status).toBe(200);
      expect(res.body.preview).toEqual({ customers: 3, totalPoints: -50, rejected: 2, tierUps: 0, tierDowns: 0 });
      const after = await server.database.db.selectFrom('transactions').select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow();
      expect(Number(after.n)).toBe(Number(before.n));
      expect((await store.api('GET', '/v1/jobs')).body.data.every((j: { params: { reason: string } }) => j.params.reason !== 'Preview a deduction')).toBe(true);
    });

    it('adjusts a hand-picked group exactly once each, reporting unknown ids', async () => {
      const group = await Promise.all([1, 2, 3, 4, 5, 6, 7].map(() => aCustomer(store, { balance: 20 })));
      const outsider = await aCustomer(store, { balance: 20 });
      const job = await bulk({
        selection: { customerIds: [...group.map((c) => c.id), 999_999_999] },
        type: 'adjust',
        points: 15,
        reason: 'Spring campaign bonus',
        customerMessage: 'Happy spring!',
      });
      expect(job).toMatchObject({ kind: 'bulk_adjustment', params: { selection: { customerIds: 8 } } });
      const done = await run(job.id);
      expect(done).toMatchObject({ status: 'completed', total: 7, processed: 7, succeeded: 7, skipped: 0, failed: 1, totalPoints: 105 });
      expect(done.startedAt).not.toBeNull();
      expect(done.finishedAt).not.toBeNull();
      const rows = await jobRows(job.id);
      expect(rows.map((r) => r.customer_id)).toEqual(group.map((c) => c.id).sort((a, b) => a - b));
      expect(rows.every((r) => r.points === 15 && r.reason === 'Spring campaign bonus' && r.customer_message === 'Happy spring!')).toBe(true);
      expect(rows.every((r) => r.actor_type === 'api_key')).toBe(true);
      for (const c of group) expect(await balanceOf(c.id)).toBe(35);
      expect(await balanceOf(outsider.id)).toBe(20);
      const errors = await store.api('GET', `/v1/jobs/${job.id}/errors.csv`);
      expect(errors.text.trim().split('\n')).toEqual(['customerId,code,message', '999999999,customer_not_found,No customer 999999999 in this store']);
    });

    it('skips and lists customers a deduction would drive negative, never clamping', async () => {
      const rich = await aCustomer(store, { balance: 500 });
      const poor = await aCustomer(store, { balance: 40 });
      const job = await bulk({ selection: { customerIds: [rich.id, poor.id] }, type: 'adjust', points: -100, reason: 'Fraud clean-up' });
      const done = await run(job.id);
      expect(done).toMatchObject({ status: 'completed', processed: 2, succeeded: 1, skipped: 1, totalPoints: -100 });
      expect(await balanceOf(rich.id)).toBe(400);
      expect(await balanceOf(poor.id)).toBe(40);
      const errors = await store.api('GET', `/v1/jobs/${job.id}/errors.csv`);
      expect(errors.text).toContain(`${poor.id},insufficient_points,balance 40 is less than 100`);
    });

    it('selects by filter at a snapshot: customers created after the request are not included', async () => {
      const other = await server.newStore('Filter store');
      const make = async (balance: number) => aCustomer(other, { balance });
      const inRange = [await make(100), await make(550), await make(1000)];
      await make(99);
      await make(1001);
      const res = await other.api('POST', '/v1/bulk-adjustments', {
        selection: { filter: { minBalance: 100, maxBalance: 1000 } },
        type: 'adjust',
        points: 200,
        reason: 'Seasonal campaign',
      });
      expect(res.status).toBe(202);
      const late = await make(500);
      expect(await run(res.body.job.id, other)).toMatchObject({ status: 'completed', total: 3 });
      const rows = await jobRows(res.body.job.id);
      expect(rows.map((r) => r.customer_id)).toEqual(inRange.map((c) => c.id));
      expect((await other.api('GET', `/v1/customers/${late.id}`)).body.balance).toBe(500);
    });

    it("fixes a filter's customers when the job starts, whatever their balances do afterwards", async () => {
      const other = await slow.newStore('Fixed filter store');
      const first = await aCustomer(other, { balance: 500 });
      const outsider = await aCustomer(other, { balance: 50 });
      const leaver = await aCustomer(other, { balance: 600 });
      const res = await other.api('POST', '/v1/bulk-adjustments', {
        selection: { filter: { minBalance: 100, maxBalance: 1000 } },
        type: 'adjust',
        points: 200,
        reason: 'Fixed at start',
      });
      // One customer a chunk, ten a second: the job is still running while the balances move.
      for (let i = 0; i < 200; i++) {
        // The selection is fixed (in bounded steps) before the first customer is changed.
        if ((await other.api('GET', `/v1/jobs/${res.body.job.id}`)).body.processed > 0) break;
        await new Promise((r) => setTimeout(r, 5));
      }
      expect((await other.api('POST', `/v1/customers/${outsider.id}/adjustments`, { points: 100, reason: 'Now in range' })).status).toBe(201);
      expect((await other.api('POST', `/v1/customers/${leaver.id}/adjustments`, { points: 5000, reason: 'Now out of range' })).status).toBe(201);
      await run(res.body.job.id, other);
      const rows = await slow.database.db.selectFrom('transactions').selectAll().where('job_id', '=', res.body.job.id).orderBy('customer_id').execute();
      expect(rows.map((r) => r.customer_id)).toEqual([first.id, leaver.id]);
      expect((await other.api('GET', `/v1/jobs/${res.body.job.id}`)).body).toMatchObject({ status: 'completed', total: 2, processed: 2 });
    });

    it('resets everyone only with the typed confirmation, keeping lifetime points', async () => {
      const other = await server.newStore('Reset store');
      const a = await aCustomer(other, { balance: 300 });
      const b = await aCustomer(other);
      const refused = await other.api('POST', '/v1/bulk-adjustments', { selection: { all: true }, type: 'reset', reason: 'Program relaunch' });
      expect(refused.status).toBe(422);
      expect(refused.body.error.code).toBe('confirmation_required');
      const preview = await other.api('POST', '/v1/bulk-adjustments', {
        selection: { all: true },
        type: 'reset',
        reason: 'Program relaunch',
        dryRun: true,
      });
      expect(preview.body.preview).toMatchObject({ customers: 2, totalPoints: -300, rejected: 0 });
      const res = await other.api('POST', '/v1/bulk-adjustments', {
        selection: { all: true },
        type: 'reset',
        reason: 'Program relaunch',
        confirmation: 'RESET ALL CUSTOMERS',
      });
      expect(res.status).toBe(202);
      await run(res.body.job.id, other);
      expect((await other.api('GET', `/v1/customers/${a.id}`)).body).toMatchObject({ balance: 0, lifetimePoints: 300 });
      expect((await other.api('GET', `/v1/customers/${b.id}`)).body.balance).toBe(0);
      const job = (await other.api('GET', `/v1/jobs/${res.body.job.id}`)).body;
      expect(job).toMatchObject({ status: 'completed', processed: 2, succeeded: 2, totalPoints: -300 });
      const rows = await jobRows(job.id);
      expect(rows.map((r) => [r.type, r.points, r.balance_after])).toEqual([['reset', -300, 0]]);
    });

    it('reverts a job once, skipping customers who spent the points since', async () => {
      const keeper = await aCustomer(store);
      const spender = await aCustomer(store);
      const job = await bulk({ selection: { customerIds: [keeper.id, spender.id] }, type: 'adjust', points: 100, reason: 'Mistaken campaign' });
      await run(job.id);
      const spend = await store.api('POST', `/v1/customers/${spender.id}/adjustments`, { points: -60, reason: 'Spent on a reward' });
      expect(spend.status).toBe(201);
      const revert = await store.api('POST', `/v1/jobs/${job.id}/revert`, { reason: 'Campaign sent by mistake' });
      expect(revert.status).toBe(202);
      expect(revert.body.job).toMatchObject({ kind: 'revert', revertsJobId: job.id });
      const again = await store.api('POST', `/v1/jobs/${job.id}/revert`, { reason: 'Twice' });
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('already_reverted');
      const done = await run(revert.body.job.id);
      expect(done).toMatchObject({ status: 'completed', total: 2, processed: 2, succeeded: 1, skipped: 1, totalPoints: -100 });
      expect(await balanceOf(keeper.id)).toBe(0);
      expect(await balanceOf(spender.id)).toBe(40);
      const rows = await jobRows(revert.body.job.id);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ type: 'reversal', customer_id: keeper.id, points: -100 });
      const errors = await store.api('GET', `/v1/jobs/${revert.body.job.id}/errors.csv`);
      expect(errors.text).toContain(`${spender.id},insufficient_points`);
      const revertRevert = await store.api('POST', `/v1/jobs/${revert.body.job.id}/revert`, { reason: 'Undo the undo' });
      expect(revertRevert.body.error.code).toBe('job_not_revertible');
    });

    it('cancels a queued job at once and refuses to cancel a finished one', async () => {
      // The store's first job keeps the worker busy: its second one stays queued (a store's jobs run in order).
      const other = await slow.newStore('Queued cancel store');
      const group = await Promise.all([1, 2, 3, 4, 5].map(() => aCustomer(other)));
      const busy = await other.api('POST', '/v1/bulk-adjustments', { selection: { all: true }, type: 'adjust', points: 1, reason: 'Keeps the worker busy' });
      const queued = await other.api('POST', '/v1/bulk-adjustments', { selection: { customerIds: [group[0].id] }, type: 'adjust', points: 5, reason: 'Will be cancelled' });
      const revertEarly = await other.api('POST', `/v1/jobs/${busy.body.job.id}/revert`, { reason: 'Not finished yet' });
      expect(revertEarly.status).toBe(409);
      expect(revertEarly.body.error.code).toBe('job_not_revertible');
      const cancelled = await other.api('POST', `/v1/jobs/${queued.body.job.id}/cancel`);
      expect(cancelled.status).toBe(200);
      expect(cancelled.body.job.status).toBe('cancelled');
      await run(busy.body.job.id, other);
      expect(await slow.database.db.selectFrom('transactions').select('id').where('job_id', '=', queued.body.job.id).execute()).toHaveLength(0);
      const again = await other.api('POST', `/v1/jobs/${queued.body.job.id}/cancel`);
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('job_not_cancellable');
    });

    it('stops a running job after its current chunk, keeping what was applied', async () => {
      const other = await slow.newStore('Cancel store');
      const group = await Promise.all(Array.from({ length: 12 }, () => aCustomer(other)));
      const res = await other.api('POST', '/v1/bulk-adjustments', { selection: { all: true }, type: 'adjust', points: 1, reason: 'Slow job' });
      // One customer a chunk at ten a second.
      for (let i = 0; i < 100; i++) {
        if ((await other.api('GET', `/v1/jobs/${res.body.job.id}`)).body.processed > 0) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      expect((await other.api('POST', `/v1/jobs/${res.body.job.id}/cancel`)).status).toBe(200);
      const job = await run(res.body.job.id, other);
      expect(job.status).toBe('cancelled');
      expect(job.processed).toBeGreaterThan(0);
      expect(job.processed).toBeLessThan(group.length);
      expect(await slow.database.db.selectFrom('transactions').select('id').where('job_id', '=', job.id).execute()).toHaveLength(job.succeeded);
    });

    it('streams progress as Server-Sent Events until the job ends', async () => {
      const other = await slow.newStore('Events store');
      const group = await Promise.all([1, 2, 3, 4].map(() => aCustomer(other)));
      const created = await other.api('POST', '/v1/bulk-adjustments', { selection: { customerIds: group.map((c) => c.id) }, type: 'adjust', points: 3, reason: 'Watch me' });
      const job = created.body.job;
      const res = await fetch(`${slow.url}/v1/jobs/${job.id}/events`, { headers: { authorization: `Bearer ${other.apiKey}` } });
      expect(res.headers.get('content-type')).toContain('text/event-stream');
      const text = await res.text();
      const events = text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)));
      expect(events[0]).toMatchObject({ id: job.id });
      expect(events.at(-1)).toMatchObject({ status: 'completed', processed: 4 });
      expect(events.length).toBeGreaterThan(2);
    });

    it('replays a bulk request with the same Idempotency-Key instead of queuing it twice', async () => {
      const c = await aCustomer(store);
      const body = { selection: { customerIds: [c.id] }, type: 'adjust', points: 7, reason: 'Retry-safe' };
      const first = await store.api('POST', '/v1/bulk-adjustments', body, { 'idempotency-key': `bulk-${dialect}` });
      const second = await store.api('POST', '/v1/bulk-adjustments', body, { 'idempotency-key': `bulk-${dialect}` });
      expect(second.status).toBe(202);
      expect(second.body.job.id).toBe(first.body.job.id);
    });

    it('lets two workers share one job without processing any customer twice', async () => {
      // A server without a worker of its own, and two runners with their own connections.
      const bare = await startServer(dialect);
      const other = await bare.newStore('Shared store');
      await Promise.all(Array.from({ length: 40 }, () => aCustomer(other, { balance: 5 })));
      const res = await other.api('POST', '/v1/bulk-adjustments', { selection: { all: true }, type: 'adjust', points: 2, reason: 'Shared' });
      const first = openDatabase(bare.database.url);
      const second = openDatabase(bare.database.url);
      try {
        const a = new JobRunner(first.db, createCommitter(first), { chunkSize: 3 });
        const b = new JobRunner(second.db, createCommitter(second), { chunkSize: 3 });
        await Promise.all([a.runJob(res.body.job.id), b.runJob(res.body.job.id)]);
      } finally {
        await first.close();
        await second.close();
      }
      const rows = await bare.database.db.selectFrom('transactions').selectAll().where('job_id', '=', res.body.job.id).execute();
      expect(rows).toHaveLength(40);
      expect(new Set(rows.map((r) => r.customer_id)).size).toBe(40);
      expect((await other.api('GET', `/v1/jobs/${res.body.job.id}`)).body).toMatchObject({ status: 'completed', processed: 40, succeeded: 40 });
      const events = await bare.database.db.selectFrom('outbox').selectAll().where('store_id', '=', other.id).execute();
      expect(events.map((e) => e.event_type)).toEqual(['job.completed']);
      await assertLedgerInvariants(bare.database);
      await bare.close();
    });

    it('marks a job failed after repeated chunk failures, with job.failed in the outbox', async () => {
      const other = await server.newStore('Failing store');
      await aCustomer(other);
      const broken = await server.database.db
        .insertInto('jobs')
        .values({ store_id: other.id, kind: 'bulk_adjustment', status: 'queued', params: '{}', actor_type: 'system', actor_id: null, actor_name: 'test', created_at: Date.now() })
        .returning('id')
        .executeTakeFirstOrThrow();
      const job = await run(broken.id, other);
      expect(job.status).toBe('failed');
      expect(job.error).toBeTruthy();
      expect(job.finishedAt).not.toBeNull();
      const events = await server.database.db.selectFrom('outbox').select(['event_type', 'payload']).where('store_id', '=', other.id).execute();
      expect(events.map((e) => e.event_type)).toEqual(['job.failed']);
      expect(JSON.parse(events[0].payload)).toMatchObject({ id: broken.id, status: 'failed' });
    });

    it('rejects malformed bulk requests with typed errors', async () => {
      const cases: [Record<string, unknown>, number, string][] = [
        [{ selection: { all: true }, type: 'adjust', reason: 'no points' }, 422, 'validation_error'],
        [{ selection: {}, type: 'adjust', points: 1, reason: 'empty selection' }, 422, 'validation_error'],
        [{ selection: { all: true, customerIds: [1] }, type: 'adjust', points: 1, reason: 'two selections' }, 422, 'validation_error'],
        [{ selection: { customerIds: [] }, type: 'adjust', points: 1, reason: 'no ids' }, 422, 'validation_error'],
        [{ selection: { filter: { lastActivityBefore: 'yesterday' } }, type: 'adjust', points: 1, reason: 'bad date' }, 422, 'validation_error'],
        [{ selection: { all: true }, type: 'reset', points: 5, reason: 'reset with points', confirmation: 'RESET ALL CUSTOMERS' }, 422, 'validation_error'],
        [{ selection: { all: true }, type: 'adjust', points: 1, reason: 'x' }, 422, 'validation_error'],
        [{ selection: { filter: {} }, type: 'reset', reason: 'Everyone, by an empty filter' }, 422, 'confirmation_required'],
        [{ selection: { filter: { search: '  ' } }, type: 'reset', reason: 'Everyone, by a blank search' }, 422, 'confirmation_required'],
      ];
      for (const [body, status, code] of cases) {
        const res = await store.api('POST', '/v1/bulk-adjustments', body);
        expect(res.status, JSON.stringify(body)).toBe(status);
        expect(res.body.error.code).toBe(code);
      }
    });
  });
}
