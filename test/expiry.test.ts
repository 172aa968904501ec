import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createCommitter } from '../src/db/committer.js';
import { JobRunner } from '../src/jobs/runner.js';
import { DAY_MS, queueExpiry } from '../src/ledger/expiry.js';
import { previewSettings } from '../src/ledger/settings.js';
import { DIALECTS } from './support/databases.js';
import { aCustomer, assertLedgerInvariants } from './support/fixtures.js';
import { runExpiry, type TestServer, type TestStore, useServer, waitForJob } from './support/server.js';

const iso = (ms: number) => new Date(ms).toISOString();

async function adjust(store: TestStore, id: number, points: number, extra: Record<string, unknown> = {}) {
  return store.api('POST', `/v1/customers/${id}/adjustments`, { points, reason: 'Test change', ...extra });
}

/** Runs the store's expiry as of `asOf` (the test's clock) through the job workers. */
async function expire(server: TestServer, store: TestStore, asOf: number) {
  const done = await runExpiry(server, store, asOf);
  expect(done.status, JSON.stringify(done)).toBe('completed');
  return done;
}

async function lots(server: TestServer, customerId: number): Promise<number[]> {
  const r = await sql<{ remaining: number }>`SELECT remaining FROM point_lots WHERE customer_id = ${customerId} ORDER BY id`.execute(server.database.db);
  return r.rows.map((x) => Number(x.remaining));
}

async function balance(store: TestStore, id: number) {
  return (await store.api('GET', `/v1/customers/${id}`)).body;
}

for (const dialect of DIALECTS) {
  describe(`${dialect}: point expiry and pending points`, () => {
    const ctx = useServer(dialect);

    it('consumes the soonest-expiring credits first and expires what is left of two of three lots, once', async () => {
      const { server } = ctx;
      const store = await server.newStore();
      const c = await aCustomer(store);
      const now = Date.now();
      for (const [points, days] of [[100, 10], [200, 20], [300, 100]] as const) {
        const res = await adjust(store, c.id, points, { expiresAt: iso(now + days * DAY_MS) });
        expect(res.status, res.text).toBe(201);
      }
      expect((await adjust(store, c.id, -150)).status).toBe(201);
      expect(await lots(server, c.id)).toEqual([0, 150, 300]);
      const first = await expire(server, store, now + 25 * DAY_MS);
      expect(first.totalPoints).toBe(-150);
      expect(await balance(store, c.id)).toMatchObject({ balance: 300, lifetimePoints: 450 });
      const rows = (await store.api('GET', `/v1/customers/${c.id}/transactions`)).body.data;
      expect(rows[0]).toMatchObject({ type: 'expiry', points: -150, balanceAfter: 300, actor: { type: 'system' } });
      const second = await expire(server, store, now + 25 * DAY_MS);
      expect(second.totalPoints).toBe(0);
      expect(await lots(server, c.id)).toEqual([0, 0, 300]);
      await assertLedgerInvariants(server.database, store.id);
    });

    it('expires each credit N days after it was made under per_credit, previewed before the rule is saved', async () => {
      const { server } = ctx;
      const store = await server.newStore();
      const a = await aCustomer(store, { balance: 400 });
      await aCustomer(store, { balance: 50 });
      const now = Date.now();
      const preview = await previewSettings(server.database.db, store.id, { expiry: { mode: 'per_credit', days: 30 } }, { replace: false, now: now + 31 * DAY_MS });
      expect(preview).toEqual({ preview: { customers: 2, points: 450 } });
      // The dry run over HTTP changes nothing and (as of now) would expire nothing.
      const dry = await store.api('PATCH', '/v1/settings?dryRun=true', { expiry: { mode: 'per_credit', days: 30 } });
      expect(dry.body).toEqual({ preview: { customers: 0, points: 0 } });
      expect((await store.api('GET', '/v1/settings')).body.expiry).toEqual({ mode: 'none', days: null });
      const saved = await store.api('PATCH', '/v1/settings', { expiry: { mode: 'per_credit', days: 30 }, pointValue: 0.01 });
      expect(saved.status, saved.text).toBe(200);
      expect(saved.body.settings).toMatchObject({ expiry: { mode: 'per_credit', days: 30 }, pointValue: 0.01 });
      expect((await expire(server, store, now + 29 * DAY_MS)).totalPoints).toBe(0);
      const done = await expire(server, store, now + 31 * DAY_MS);
      expect(done.totalPoints).toBe(-450);
      expect((await balance(store, a.id)).balance).toBe(0);
    });

    it('expires the whole balance after N days without the customer\'s own activity under inactivity', async () => {
      const { server } = ctx;
      const store = await server.newStore();
      const c = await aCustomer(store, { balance: 700 });
      const res = await store.api('PUT', '/v1/settings', { expiry: { mode: 'inactivity', days: 90 } });
      expect(res.status, res.text).toBe(200);
      const now = Date.now();
      expect((await expire(server, store, now + 89 * DAY_MS)).totalPoints).toBe(0);
      expect((await expire(server, store, now + 91 * DAY_MS)).totalPoints).toBe(-700);
      expect(await balance(store, c.id)).toMatchObject({ balance: 0, lifetimePoints: 700 });
      expect(await lots(server, c.id)).toEqual([0]);
    });

    it('refuses a rule without days and an expiresAt on a deduction or in the past', async () => {
      const store = await ctx.server.newStore();
      expect((await store.api('PUT', '/v1/settings', { expiry: { mode: 'per_credit' } })).status).toBe(422);
      const c = await aCustomer(store, { balance: 10 });
      expect((await adjust(store, c.id, -5, { expiresAt: iso(Date.now() + DAY_MS) })).status).toBe(422);
      expect((await adjust(store, c.id, 5, { expiresAt: iso(Date.now() - DAY_MS) })).status).toBe(422);
    });

    it('keeps pending points out of the balance until they mature, exactly once, even with two runners', async () => {
      const { server } = ctx;
      const store = await server.newStore();
      const c = await aCustomer(store, { balance: 100 });
      const at = Date.now() + 60_000;
      const res = await adjust(store, c.id, 500, { availableAt: iso(at), customerMessage: 'For your order #12' });
      expect(res.status, res.text).toBe(201);
      expect(res.body.transaction).toMatchObject({ type: 'pending', points: 0 });
      expect(res.body.customer).toMatchObject({ balance: 100, pendingPoints: 500 });
      expect(res.body.pending).toMatchObject({ points: 500, availableAt: iso(at) });
      const spend = await adjust(store, c.id, -300);
      expect(spend.status).toBe(422);
      const list = await store.api('GET', `/v1/customers/${c.id}/pending`);
      expect(list.body.data).toEqual([expect.objectContaining({ transactionId: res.body.transaction.id, points: 500 })]);
      // Not due yet: nothing matures.
      expect((await expire(server, store, Date.now())).totalPoints).toBe(0);
      // Due: two runners share the run; the credit matures once.
      const job = await server.committer.run((trx) => queueExpiry(trx, store.id, undefined, at + 1));
      const runners = [0, 1].map(() => new JobRunner(server.database.db, createCommitter(server.database), { scheduleMs: 0, chunkSize: 1 }));
      await Promise.all(runners.map((r) => r.runJob(job.id)));
      const done = await waitForJob(store, job.id);
      expect(done.status).toBe('completed');
      expect(await balance(store, c.id)).toMatchObject({ balance: 600, pendingPoints: 0, lifetimePoints: 600 });
      const matured = await sql<{ n: number }>`SELECT count(*) AS n FROM transactions WHERE customer_id = ${c.id} AND points = 500`.execute(server.database.db);
      expect(Number(matured.rows[0].n)).toBe(1);
      expect((await store.api('GET', `/v1/customers/${c.id}/pending`)).body.data).toEqual([]);
      expect((await expire(server, store, at + 2)).totalPoints).toBe(0);
      await assertLedgerInvariants(server.database, store.id);
    });

    it('cancels a pending credit before it matures, once', async () => {
      const store = await ctx.server.newStore();
      const c = await aCustomer(store);
      const res = await adjust(store, c.id, 250, { availableAt: iso(Date.now() + DAY_MS) });
      const id = res.body.transaction.id;
      const cancel = await store.api('POST', `/v1/customers/${c.id}/pending/${id}/cancel`, { reason: 'Order refunded' });
      expect(cancel.status, cancel.text).toBe(200);
      expect(cancel.body.customer).toMatchObject({ pendingPoints: 0, balance: 0 });
      expect(cancel.body.transaction).toMatchObject({ type: 'pending_cancelled', reversesId: id });
      const again = await store.api('POST', `/v1/customers/${c.id}/pending/${id}/cancel`, { reason: 'Order refunded' });
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('pending_not_cancellable');
    });

    it('never drives a balance negative when expiry races deductions', async () => {
      const { server } = ctx;
      const store = await server.newStore();
      const now = Date.now();
      const ids: number[] = [];
      for (let i = 0; i < 40; i++) {
        const c = await aCustomer(store);
        await adjust(store, c.id, 100, { expiresAt: iso(now + DAY_MS) });
        await adjust(store, c.id, 100);
        ids.push(c.id);
      }
      const job = await server.committer.run((trx) => queueExpiry(trx, store.id, undefined, now + 2 * DAY_MS));
      const spends = await Promise.all(ids.map((id) => adjust(store, id, -150)));
      expect(spends.every((r) => r.status === 201 || r.status === 422)).toBe(true);
      await waitForJob(store, job.id);
      for (const id of ids) {
        const c = await balance(store, id);
        expect(c.balance).toBeGreaterThanOrEqual(0);
        // The spend came first (taking the expiring 100 and 50 more: nothing left to expire), or the
        // expiry did (100 expired, and the spend of 150 refused).
        expect([50, 100]).toContain(c.balance);
      }
      await assertLedgerInvariants(server.database, store.id);
    });

    it('tells subscribed endpoints once per customer and day that points expire within a week', async () => {
      const { server } = ctx;
      const store = await server.newStore();
      const c = await aCustomer(store);
      const now = Date.now();
      await adjust(store, c.id, 120, { expiresAt: iso(now + 3 * DAY_MS) });
      await adjust(store, c.id, 80, { expiresAt: iso(now + 30 * DAY_MS) });
      await server.committer.run((trx) =>
        trx.insertInto('webhook_endpoints').values({
          store_id: store.id, url: 'https://hooks.example.com/tally', events: JSON.stringify(['customer.points_expiring']),
          secret: 'whsec_dGVzdHRlc3R0ZXN0dGVzdHRlc3R0ZXN0', previous_secret: null, previous_secret_until: null,
          disabled_reason: null, failing_since: null, created_at: now, updated_at: now,
        }).execute(),
      );
      const events = async () =>
        (await sql<{ payload: string }>`SELECT payload FROM outbox WHERE store_id = ${store.id} AND event_type = 'customer.points_expiring'`.execute(server.database.db)).rows.map((r) => JSON.parse(r.payload));
      await expire(server, store, now);
      await expire(server, store, now + 1000);
      const sent = await events();
      expect(sent).toHaveLength(1);
      expect(sent[0]).toMatchObject({ customerId: c.id, points: 120 });
      expect(Date.parse(sent[0].expiresAt)).toBeLessThanOrEqual(now + 3 * DAY_MS);
    });

    it('queues an hourly expiry run for a store with a rule, and one only, from the schedule', async () => {
      const { server } = ctx;
      const store = await server.newStore();
      await store.api('PUT', '/v1/settings', { expiry: { mode: 'per_credit', days: 365 } });
      const { scheduleExpiryRuns } = await import('../src/ledger/expiry.js');
      const first = await server.committer.run((trx) => scheduleExpiryRuns(trx));
      expect(first).toBeGreaterThanOrEqual(1);
      const runs = async () =>
        Number((await sql<{ n: number }>`SELECT count(*) AS n FROM jobs WHERE store_id = ${store.id} AND kind = 'expiry'`.execute(server.database.db)).rows[0].n);
      expect(await runs()).toBe(1);
      await server.committer.run((trx) => scheduleExpiryRuns(trx));
      expect(await runs()).toBe(1);
    });
  });
}
