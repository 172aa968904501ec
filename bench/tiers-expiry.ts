/**
 * What tiers and expiry cost the write path: the same bulk +100 job over N customers (default
 * 1,000,000; BENCH_CUSTOMERS) in a store without tiers or expiry and in one with three tiers with
 * entry rewards and per_credit expiry — same run, same database, the production job runner in
 * this process — and then an expiry run over that store's N customers and their lots.
 * Each result is checked with `tally verify`'s checker (lots included).
 */
import { sql } from 'kysely';
import { createCommitter } from '../src/db/committer.js';
import { type Database, migrate, openDatabase } from '../src/db/database.js';
import type { Dialect } from '../src/db/migrations/helpers.js';
import { JobRunner } from '../src/jobs/runner.js';
import { createBulkJob } from '../src/ledger/bulk.js';
import { changeSettings } from '../src/ledger/settings.js';
import { DAY_MS, queueExpiry } from '../src/ledger/expiry.js';
import { seedCustomers } from '../src/ledger/seed.js';
import { createStore } from '../src/ledger/stores.js';
import { replaceTiers } from '../src/ledger/tiers.js';
import { verifyLedger } from '../src/ledger/verify.js';
import { SYSTEM_ACTOR } from '../src/domain/types.js';
import { freshDatabaseUrl } from '../test/support/databases.js';
import type { BenchModule } from './types.js';

async function timedJob(database: Database, jobId: number): Promise<number> {
  const runner = new JobRunner(database.db, createCommitter(database), { scheduleMs: 0 });
  const started = performance.now();
  await runner.runJob(jobId);
  const job = await database.db.selectFrom('jobs').select('status').where('id', '=', jobId).executeTakeFirstOrThrow();
  if (job.status !== 'completed') throw new Error(`job ${jobId} ended ${job.status}`);
  return (performance.now() - started) / 1000;
}

async function bulkPlus100(database: Database, storeId: number): Promise<number> {
  const job = await createCommitter(database).run((trx) =>
    createBulkJob(trx, storeId, { selection: { all: true }, type: 'adjust', points: 100, reason: 'Benchmark +100' }, SYSTEM_ACTOR),
  );
  return timedJob(database, job.id);
}

async function one(dialect: Dialect, customers: number, log: (s: string) => void) {
  const fresh = await freshDatabaseUrl(dialect);
  const database = openDatabase(fresh.url);
  try {
    await migrate(database);
    const committer = createCommitter(database);
    const plain = await committer.run((trx) => createStore(trx, { name: 'Plain' }));
    const rich = await committer.run((trx) => createStore(trx, { name: 'Tiers and expiry' }));
    await committer.run(async (trx) => {
      await replaceTiers(trx, rich.store.id, [
        { name: 'Silver', threshold: 1_000, entryReward: { points: 50 } },
        { name: 'Gold', threshold: 3_000, entryReward: { points: 150 } },
        { name: 'Platinum', threshold: 6_000, entryReward: { points: 300 } },
      ], SYSTEM_ACTOR);
      await changeSettings(trx, rich.store.id, { expiry: { mode: 'per_credit', days: 365 } }, { replace: false });
    });
    for (const s of [plain, rich]) {
      log(`${dialect}: seeding ${customers} customers in store ${s.store.name}`);
      await seedCustomers(database.db, committer, s.store.id, customers);
    }
    if (dialect === 'postgres') await sql`ANALYZE`.execute(database.db);
    log(`${dialect}: bulk +100, plain store`);
    const plainSeconds = await bulkPlus100(database, plain.store.id);
    log(`${dialect}: bulk +100, store with tiers and per_credit expiry`);
    const richSeconds = await bulkPlus100(database, rich.store.id);
    const moves = await sql<{ n: number }>`SELECT count(*) AS n FROM tier_history h JOIN jobs j ON j.id = h.job_id WHERE h.store_id = ${rich.store.id}`.execute(database.db);
    const rewards = await sql<{ n: number }>`SELECT count(*) AS n FROM transactions WHERE store_id = ${rich.store.id} AND type = 'tier_reward'`.execute(database.db);
    log(`${dialect}: expiry run over ${customers} customers`);
    const expiry = await committer.run((trx) => queueExpiry(trx, rich.store.id, SYSTEM_ACTOR, Date.now() + 366 * DAY_MS));
    const expirySeconds = await timedJob(database, expiry.id);
    const expired = await database.db.selectFrom('jobs').select('total_points').where('id', '=', expiry.id).executeTakeFirstOrThrow();
    log(`${dialect}: verifying`);
    const report = await verifyLedger(database.db);
    return {
      dialect,
      customers,
      plainSeconds: Number(plainSeconds.toFixed(2)),
      richSeconds: Number(richSeconds.toFixed(2)),
      ratio: `${(richSeconds / plainSeconds).toFixed(2)}×`,
      tierMoves: Number(moves.rows[0].n),
      entryRewards: Number(rewards.rows[0].n),
      expirySeconds: Number(expirySeconds.toFixed(2)),
      pointsExpired: -Number(expired.total_points),
      verified: report.ok,
    };
  } finally {
    await database.close();
    await fresh.drop();
  }
}

export const tiersExpiry: BenchModule = {
  name: 'tiers-expiry',
  async run(ctx) {
    const customers = Number(process.env.BENCH_CUSTOMERS ?? 1_000_000);
    const rows = [];
    for (const dialect of ctx.dialects) rows.push(await one(dialect, customers, ctx.log));
    return [
      {
        title: 'Bulk +100 with tiers and per_credit expiry vs without; then an expiry run (job runner in this process)',
        columns: [
          ['dialect', 'database'],
          ['customers', 'customers'],
          ['plainSeconds', 'plain job s'],
          ['richSeconds', 'with tiers + expiry s'],
          ['ratio', 'ratio (target ≤ 2×)'],
          ['tierMoves', 'tier moves by the job'],
          ['entryRewards', 'entry rewards (all time)'],
          ['expirySeconds', 'expiry run s'],
          ['pointsExpired', 'points expired'],
          ['verified', 'tally verify OK'],
        ],
        rows,
      },
    ];
  },
};
