/**
 * Points-report benchmark: `GET /v1/reports/points` over a ledger of customers × (jobs + 1) rows
 * written through the write path (the seed's opening balances, then bulk jobs of ±1 through the
 * API), answered by a real `tally serve` process (SQLite: its reader threads). Each range is timed
 * three times; the table keeps the fastest and the slowest. The check: the last period's closing
 * balance is the sum of the customers' balances.
 *
 * Env: BENCH_REPORT_CUSTOMERS (default 1,000,000), BENCH_REPORT_JOBS (default 9: 10,000,000 rows).
 * Every row is written now, so "a year" holds them all; the target is a year in ≤ 1 s.
 */
import { sql } from 'kysely';
import { openDatabase } from '../src/db/database.js';
import { freshDatabase, seededStore, startServer } from './support.js';
import type { BenchModule, BenchTable } from './types.js';

const DAY = 86_400_000;

interface Range {
  label: string;
  from: number;
  to: number;
  interval: 'day' | 'week' | 'month';
}

async function timed(url: string, auth: Record<string, string>, r: Range): Promise<{ ms: number[]; closing: number }> {
  const ms: number[] = [];
  let closing = 0;
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    const res = await fetch(`${url}/v1/reports/points?from=${new Date(r.from).toISOString()}&to=${new Date(r.to).toISOString()}&interval=${r.interval}`, { headers: auth });
    const body = (await res.json()) as { data: { closingBalance: number }[] };
    ms.push(performance.now() - started);
    if (!res.ok) throw new Error(`report answered ${res.status}`);
    closing = body.data[body.data.length - 1].closingBalance;
  }
  return { ms, closing };
}

async function fillLedger(url: string, auth: Record<string, string>, jobs: number, log: (s: string) => void): Promise<void> {
  for (let i = 0; i < jobs; i++) {
    const res = await fetch(`${url}/v1/bulk-adjustments`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ selection: { all: true }, type: 'adjust', points: i % 3 === 2 ? -1 : 1, reason: `Report bench ${i + 1}` }),
    });
    const { job } = (await res.json()) as { job: { id: number } };
    for (;;) {
      const j = (await (await fetch(`${url}/v1/jobs/${job.id}`, { headers: auth })).json()) as { status: string };
      if (j.status === 'completed') break;
      if (j.status === 'failed' || j.status === 'cancelled') throw new Error(`bench job ${job.id} ${j.status}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    log(`  bulk job ${i + 1}/${jobs} done`);
  }
}

export const pointsReports: BenchModule = {
  name: 'reports',
  async run(ctx) {
    const customers = Number(process.env.BENCH_REPORT_CUSTOMERS ?? 1_000_000);
    const jobs = Number(process.env.BENCH_REPORT_JOBS ?? 9);
    const rows = [];
    for (const dialect of ctx.dialects) {
      const fresh = await freshDatabase(dialect);
      try {
        ctx.log(`reports ${dialect}: seeding ${customers} customers`);
        const { storeId, apiKey } = await seededStore(fresh.url, customers);
        const server = await startServer(['bin/tally.js', 'serve', '--port', '{port}'], { DATABASE_URL: fresh.url, RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'warn' });
        const auth = { authorization: `Bearer ${apiKey}` };
        try {
          ctx.log(`reports ${dialect}: ${jobs} bulk jobs`);
          await fillLedger(server.url, auth, jobs, ctx.log);
          const database = openDatabase(fresh.url);
          const [count, balances] = await Promise.all([
            sql<{ n: number }>`SELECT count(*) AS n FROM transactions WHERE store_id = ${storeId}`.execute(database.db),
            sql<{ s: number }>`SELECT coalesce(sum(balance), 0) AS s FROM customers WHERE store_id = ${storeId}`.execute(database.db),
          ]);
          await database.close();
          // Ranges from a UTC midnight, as the admin app asks them (local midnights, on quarter hours):
          // the report reads the write path's quarter-hour sums. A range on no quarter hour reads the
          // ledger's rows instead (exact too, slower): the last row shows one.
          const now = Math.floor(Date.now() / DAY) * DAY;
          const ranges: Range[] = [
            { label: 'a year by month', from: now - 365 * DAY, to: now + DAY, interval: 'month' },
            { label: 'a year by week', from: now - 365 * DAY, to: now + DAY, interval: 'week' },
            { label: 'a year by day', from: now - 365 * DAY, to: now + DAY, interval: 'day' },
            { label: '30 days by day', from: now - 29 * DAY, to: now + DAY, interval: 'day' },
            { label: 'a year by month, from an odd minute (ledger rows)', from: now - 365 * DAY + 7 * 60_000 + 123, to: now + DAY, interval: 'month' },
          ];
          for (const r of ranges) {
            const { ms, closing } = await timed(server.url, auth, r);
            rows.push({
              dialect,
              ledgerRows: Number(count.rows[0].n),
              range: r.label,
              fastestMs: Math.round(Math.min(...ms)),
              slowestMs: Math.round(Math.max(...ms)),
              target: Math.min(...ms) <= 1000,
              exact: closing === Number(balances.rows[0].s),
            });
          }
        } finally {
          await server.stop();
        }
      } finally {
        await fresh.drop();
      }
    }
    const table: BenchTable = {
      title: 'GET /v1/reports/points (ranges on quarter hours read the quarter-hour sums the write path keeps; others the ledger rows)',
      columns: [
        ['dialect', 'database'],
        ['ledgerRows', 'ledger rows'],
        ['range', 'range'],
        ['fastestMs', 'fastest ms'],
        ['slowestMs', 'slowest ms'],
        ['target', '≤ 1 s'],
        ['exact', 'closing = Σ balances'],
      ],
      rows,
      notes: ['Target: a year over 10,000,000 ledger rows in ≤ 1 s.'],
    };
    return [table];
  },
};
