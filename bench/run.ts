/**
 * `npm run bench` (after `npm run build`: the benchmarks drive the built `tally` CLI and server).
 * Runs each benchmark module in turn; prints every table it returns and writes them all to
 * bench/results/<time>.json and bench/results/latest.md.
 *
 * Env: DIALECTS (sqlite,postgres), BENCH_ONLY (module names, e.g. single-adjustments), and each
 * module's own settings (see its header).
 * To add a benchmark: write a module that exports a BenchModule (bench/types.ts) and list it below.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import type { Dialect } from '../src/db/migrations/helpers.js';
import { benchBulk } from './bulk.js';
import { contention } from './contention.js';
import { importsBench } from './imports.js';
import { listsBench } from './lists.js';
import { pointsReports } from './reports.js';
import { singleAdjustments } from './single-adjustments.js';
import type { BenchModule, BenchTable, Cell } from './types.js';
import { webhookDispatch } from './webhooks.js';
import { tiersExpiry } from './tiers-expiry.js';
import { webhooksBulk } from './webhooks-bulk.js';

/** Bulk jobs (bench/bulk.ts), one row per dialect. */
const bulkJobs: BenchModule = {
  name: 'bulk-jobs',
  async run(ctx) {
    const customers = Number(process.env.BENCH_CUSTOMERS ?? 1_000_000);
    const rows = [];
    for (const dialect of ctx.dialects) rows.push(await benchBulk(dialect, customers, ctx.log));
    return [
      {
        title: 'Bulk +100 adjustment (GET /v1/customers/{id} measured while it runs)',
        columns: [
          ['dialect', 'database'],
          ['customers', 'customers'],
          ['tallySeconds', 'Tally request→completed s'],
          ['rawSeconds', 'raw lower bound s'],
          ['ratio', 'ratio'],
          ['getP50Ms', 'GET p50 ms'],
          ['getP99Ms', 'GET p99 ms'],
          ['getRequests', 'GETs served'],
          ['peakRssMb', 'server peak RSS MB'],
          ['verified', 'one row each'],
        ],
        rows: rows.map((r) => ({
          ...r,
          tallySeconds: Number(r.tallySeconds.toFixed(2)),
          rawSeconds: Number(r.rawSeconds.toFixed(2)),
          ratio: `${r.ratio.toFixed(2)}×`,
        })),
      },
    ];
  },
};

const MODULES: BenchModule[] = [singleAdjustments, bulkJobs, contention, webhookDispatch, webhooksBulk, tiersExpiry, pointsReports, importsBench, listsBench];

const dialects = (process.env.DIALECTS ?? 'sqlite,postgres').split(',').filter(Boolean) as Dialect[];
const only = process.env.BENCH_ONLY?.split(',').filter(Boolean);
const log = (s: string) => process.stderr.write(`${s}\n`);

function markdown(t: BenchTable): string {
  const cell = (v: Cell) => (v === null ? '' : typeof v === 'boolean' ? (v ? 'yes' : 'NO') : String(v));
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const lines = [
    `## ${t.title}`,
    '',
    line(t.columns.map(([, heading]) => heading)),
    line(t.columns.map(() => '---')),
    ...t.rows.map((r) => line(t.columns.map(([key]) => cell(r[key] ?? null)))),
  ];
  if (t.notes?.length) lines.push('', ...t.notes.map((n) => `- ${n}`));
  return lines.join('\n');
}

const startedAt = new Date();
const machine = `${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, load average ${loadavg()[0].toFixed(2)} at the start`;
const results: { module: string; seconds: number; tables: BenchTable[] }[] = [];
for (const m of MODULES.filter((m) => !only || only.includes(m.name))) {
  const t0 = performance.now();
  const tables = await m.run({ dialects, log });
  const seconds = Math.round((performance.now() - t0) / 1000);
  log(`${m.name}: ${seconds} s`);
  results.push({ module: m.name, seconds, tables });
  process.stdout.write(`\n${tables.map(markdown).join('\n\n')}\n`);
}

const report = [
  '# Benchmark results',
  '',
  `${startedAt.toISOString()} — ${machine} — \`npm run bench\` (${results.map((r) => `${r.module} ${r.seconds} s`).join(', ')})`,
  '',
  ...results.flatMap((r) => r.tables.map((t) => `${markdown(t)}\n`)),
].join('\n');
mkdirSync('bench/results', { recursive: true });
const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
writeFileSync(`bench/results/${stamp}.json`, `${JSON.stringify({ startedAt, machine, dialects, results }, null, 2)}\n`);
writeFileSync('bench/results/latest.md', report);
log(`wrote bench/results/${stamp}.json and bench/results/latest.md`);
