import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DIALECTS } from './support/databases.js';
import { assertLedgerInvariants } from './support/fixtures.js';
import { runExpiry, type TestStore, useServer, waitForJob } from './support/server.js';

/**
 * The set-based SQL of job chunks (src/domain/balance-sql.ts through src/ledger/append.ts) and the
 * single-write path (planChange / planReset / planReversal through appendLedgerRow) are twins:
 * for random customers and random bulk changes, a job must leave every customer exactly as single
 * writes applied one customer at a time do, and its dry run must predict it.
 */
interface Opening {
  /** Points given with affectsTier (they count for the tier)… */
  tierPoints: number;
  /** …and points given without (so lifetime and balance differ). */
  plainPoints: number;
}
type Change = { type: 'adjust'; points: number; affectsTier: boolean } | { type: 'reset' };

const opening = fc.record({ tierPoints: fc.integer({ min: 0, max: 300 }), plainPoints: fc.integer({ min: 0, max: 300 }) });
const change: fc.Arbitrary<Change> = fc.oneof(
  fc.record({ type: fc.constant('adjust' as const), points: fc.integer({ min: -400, max: 400 }).filter((p) => p !== 0), affectsTier: fc.boolean() }),
  fc.constant({ type: 'reset' as const }),
);

async function customersWith(store: TestStore, openings: Opening[], tag: string): Promise<number[]> {
  const ids: number[] = [];
  for (const [i, o] of openings.entries()) {
    const c = await store.api('POST', '/v1/customers', { externalId: `${tag}-${i}` });
    expect(c.status, c.text).toBe(201);
    if (o.tierPoints > 0) await store.api('POST', `/v1/customers/${c.body.id}/adjustments`, { points: o.tierPoints, reason: 'Opening' });
    if (o.plainPoints > 0) {
      await store.api('POST', `/v1/customers/${c.body.id}/adjustments`, { points: o.plainPoints, reason: 'Opening', affectsTier: false });
    }
    ids.push(c.body.id);
  }
  return ids;
}

async function state(store: TestStore, id: number) {
  const c = (await store.api('GET', `/v1/customers/${id}`)).body;
  const [last] = (await store.api('GET', `/v1/customers/${id}/transactions?limit=1`)).body.data;
  return { balance: c.balance, lifetimePoints: c.lifetimePoints, lastBalanceAfter: last?.balanceAfter ?? null };
}

/** Customer ids listed in a job's error report (the skipped ones). */
async function skippedIn(store: TestStore, jobId: number): Promise<number[]> {
  const csv = (await store.api('GET', `/v1/jobs/${jobId}/errors.csv`)).text.trim().split('\n').slice(1);
  return csv.filter(Boolean).map((line) => Number(line.split(',')[0])).sort((a, b) => a - b);
}

for (const dialect of DIALECTS) {
  describe(`${dialect}: the set-based write path and the single-write path are twins`, () => {
    const ctx = useServer(dialect);
    let run = 0;

    it('leaves every customer as single writes would, skipping the same customers, as the dry run predicted', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(opening, { minLength: 1, maxLength: 6 }), change, fc.boolean(), async (openings, c, spend) => {
          run += 1;
          const bulkStore = ctx.store;
          const singleStore = await ctx.server.newStore(`twin ${run}`);
          const viaJob = await customersWith(bulkStore, openings, `job-${dialect}-${run}`);
          const viaSingle = await customersWith(singleStore, openings, `single-${dialect}-${run}`);
          const body = c.type === 'reset'
            ? { selection: { customerIds: viaJob }, type: 'reset', reason: 'Twin reset' }
            : { selection: { customerIds: viaJob }, type: 'adjust', points: c.points, affectsTier: c.affectsTier, reason: 'Twin change' };

          const preview = (await bulkStore.api('POST', '/v1/bulk-adjustments', { ...body, dryRun: true })).body.preview;
          const created = await bulkStore.api('POST', '/v1/bulk-adjustments', body);
          expect(created.status, created.text).toBe(202);
          const job = await waitForJob(bulkStore, created.body.job.id);
          expect(job.status).toBe('completed');

          const skippedSingle: number[] = [];
          for (const [i, id] of viaSingle.entries()) {
            const res = c.type === 'reset'
              ? await singleStore.api('POST', `/v1/customers/${id}/reset`, { reason: 'Twin reset' })
              : await singleStore.api('POST', `/v1/customers/${id}/adjustments`, { points: c.points, affectsTier: c.affectsTier, reason: 'Twin change' });
            if (res.status === 422) skippedSingle.push(i);
            else expect(res.status, res.text).toBe(201);
          }
          // A single reset of a customer at zero still records the (zero) reset; a job leaves them alone.
          const same = async (i: number) => {
            const [a, b] = [await state(bulkStore, viaJob[i]), await state(singleStore, viaSingle[i])];
            if (c.type === 'reset' && openings[i].tierPoints + openings[i].plainPoints === 0) b.lastBalanceAfter = a.lastBalanceAfter;
            expect(a).toEqual(b);
          };
          for (const i of viaJob.keys()) await same(i);
          const skipped = await skippedIn(bulkStore, job.id);
          expect(skipped).toEqual(skippedSingle.map((i) => viaJob[i]));
          expect({ customers: preview.customers, rejected: preview.rejected, totalPoints: preview.totalPoints }).toEqual({
            customers: job.total,
            rejected: job.skipped,
            totalPoints: job.totalPoints,
          });

          // Undo: the revert job against a reversal of each of the job's rows, one at a time,
          // after some customers spent points (those reversals are refused, never clamped).
          if (spend) {
            for (const [i, id] of viaJob.entries()) {
              if (i % 2 === 1) continue;
              const { balance } = await state(bulkStore, id);
              if (balance === 0) continue;
              await bulkStore.api('POST', `/v1/customers/${id}/adjustments`, { points: -balance, reason: 'Spent' });
              await singleStore.api('POST', `/v1/customers/${viaSingle[i]}/adjustments`, { points: -balance, reason: 'Spent' });
            }
          }
          const revert = await bulkStore.api('POST', `/v1/jobs/${job.id}/revert`, { reason: 'Twin undo' });
          expect(revert.status, revert.text).toBe(202);
          const reverted = await waitForJob(bulkStore, revert.body.job.id);
          expect(reverted.status).toBe('completed');
          for (const id of viaSingle) {
            const rows = (await singleStore.api('GET', `/v1/customers/${id}/transactions?limit=5`)).body.data;
            const mine = rows.find((t: { reason: string }) => t.reason === 'Twin change' || t.reason === 'Twin reset');
            if (!mine || mine.points === 0) continue;
            await singleStore.api('POST', `/v1/transactions/${mine.id}/reverse`, { reason: 'Twin undo' });
          }
          for (const i of viaJob.keys()) await same(i);
        }),
        { numRuns: 12 },
      );
    });

    it('imports credits with availableAt and expiresAt as single adjustments with those dates do, before and after they mature', async () => {
      const now = Date.now();
      const dates = { none: undefined, past: iso(now - HOUR), future: iso(now + HOUR) } as const;
      const row = fc.record({
        points: fc.integer({ min: -200, max: 300 }).filter((p) => p !== 0),
        availableAt: fc.constantFrom('none', 'past', 'future') as fc.Arbitrary<keyof typeof dates>,
        expires: fc.boolean(),
      });
      await fc.assert(
        fc.asyncProperty(fc.array(fc.tuple(opening, row), { minLength: 1, maxLength: 5 }), async (cases) => {
          run += 1;
          const importStore = await ctx.server.newStore(`dates import ${run}`);
          const singleStore = await ctx.server.newStore(`dates single ${run}`);
          const tag = `dates-${dialect}-${run}`;
          const viaImport = await customersWith(importStore, cases.map(([o]) => o), `${tag}-i`);
          const viaSingle = await customersWith(singleStore, cases.map(([o]) => o), `${tag}-s`);
          const expiresAt = iso(now + 10 * 86_400_000);
          const lines = cases.map(([, r], i) => `${tag}-i-${i},${r.points},${dates[r.availableAt] ?? ''},${r.expires ? expiresAt : ''}`);
          const file = `externalId,points,availableAt,expiresAt\n${lines.join('\n')}\n`;
          const upload = (query: string) => importStore.api('POST', `/v1/imports?type=add&reason=Twin%20dates&${query}`, file, { 'content-type': 'text/csv' });
          const preview = (await upload('dryRun=true')).body.preview;
          const created = await upload('');
          expect(created.status, created.text).toBe(202);
          const job = await waitForJob(importStore, created.body.job.id);
          expect(job.status).toBe('completed');

          const refused: number[] = [];
          for (const [i, [, r]] of cases.entries()) {
            const body = { points: r.points, reason: 'Twin dates', availableAt: dates[r.availableAt], expiresAt: r.expires ? expiresAt : undefined };
            const res = await singleStore.api('POST', `/v1/customers/${viaSingle[i]}/adjustments`, body);
            if (res.status === 422) refused.push(i);
            else expect(res.status, res.text).toBe(201);
          }
          const errors = (await importStore.api('GET', `/v1/jobs/${job.id}/errors.csv`)).text.trim().split('\n').slice(1).filter(Boolean);
          expect(errors.map((e) => Number(e.split(',')[0]) - 2).sort((a, b) => a - b)).toEqual(refused);
          const same = async () => {
            for (const i of cases.keys()) expect(await datedState(importStore, viaImport[i])).toEqual(await datedState(singleStore, viaSingle[i]));
          };
          await same();
          const pending = cases.filter(([, r], i) => r.availableAt === 'future' && !refused.includes(i)).reduce((n, [, r]) => n + r.points, 0);
          expect({ totalPoints: preview.totalPoints, pendingPoints: preview.pendingPoints }).toEqual({ totalPoints: job.totalPoints, pendingPoints: pending });
          for (const store of [importStore, singleStore]) {
            expect((await runExpiry(ctx.server, store, now + HOUR + 1)).status).toBe('completed');
          }
          await same();
        }),
        { numRuns: 8 },
      );
      await assertLedgerInvariants(ctx.server.database);
    });
  });
}

const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** A customer's totals, pending credits and points expiring within 30 days (from their lots). */
async function datedState(store: TestStore, id: number) {
  const c = (await store.api('GET', `/v1/customers/${id}`)).body;
  const pending = (await store.api('GET', `/v1/customers/${id}/pending`)).body.data.map((p: { points: number; availableAt: string }) => [p.points, p.availableAt]);
  return { balance: c.balance, lifetimePoints: c.lifetimePoints, pendingPoints: c.pendingPoints, pending, expiring: c.expiring };
}
