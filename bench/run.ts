/**
 * `npm run bench`: every benchmark, on SQLite and PostgreSQL, each beside its lower bound measured
 * in the same run. Prints tables; writes bench/results/<time>.json and bench/results/latest.md.
 * Env: DIALECTS (sqlite,postgres), BENCH_CUSTOMERS (bulk size, 1,000,000), BENCH_SECONDS (8).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import type { Dialect } from '../src/db/migrations/helpers.js';
import { benchBulk, type BulkBenchRow } from './bulk.js';
import { benchSingle, type SingleBenchRow } from './single.js';

const dialects = (process.env.DIALECTS ?? 'sqlite,postgres').split(',') as Dialect[];
const customers = Number(process.env.BENCH_CUSTOMERS ?? 1_000_000);
const log = (s: string) => process.stderr.write(`${s}\n`);

function table(headers: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

const single: SingleBenchRow[] = [];
const verified: Record<string, boolean> = {};
const bulk: BulkBenchRow[] = [];
for (const dialect of dialects) {
  const result = await benchSingle(dialect, [10, 50, 100], log);
  single.push(...result.rows);
  verified[dialect] = result.verified;
}
for (const dialect of dialects) bulk.push(await benchBulk(dialect, customers, log));

const machine = `${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
const singleTable = table(
  ['database', 'server', 'connections', 'adjustments/s', 'p50 ms', 'p99 ms', 'non-2xx', 'vs ceiling'],
  single.map((r) => {
    const ceiling = single.find((c) => c.dialect === r.dialect && c.connections === r.connections && c.server !== 'tally');
    const ratio = r.server === 'tally' && ceiling ? `${(r.perSecond / ceiling.perSecond).toFixed(2)}×` : '';
    return [r.dialect, r.server, r.connections, r.perSecond, r.p50Ms, r.p99Ms, r.non2xx, ratio];
  }),
);
const bulkTable = table(
  ['database', 'customers', 'Tally request→completed s', 'raw lower bound s', 'ratio', 'GET p50 ms', 'GET p99 ms', 'GETs served', 'server peak RSS MB', 'one row each'],
  bulk.map((r) => [r.dialect, r.customers, r.tallySeconds.toFixed(2), r.rawSeconds.toFixed(2), `${r.ratio.toFixed(2)}×`, r.getP50Ms, r.getP99Ms, r.getRequests, r.peakRssMb, r.verified ? 'yes' : 'NO']),
);
const report = `# Benchmark results\n\n${new Date().toISOString()} — ${machine}\n\n## Single adjustments over HTTP (durable commits)\n\n${singleTable}\n\nLedger invariants after the runs: ${Object.entries(verified).map(([d, ok]) => `${d} ${ok ? 'OK' : 'FAILED'}`).join(', ')}\n\n## Bulk +100 adjustment (GET /v1/customers/{id} measured while it runs)\n\n${bulkTable}\n`;
process.stdout.write(`\n${report}`);
mkdirSync('bench/results', { recursive: true });
writeFileSync(`bench/results/${new Date().toISOString().replace(/[:.]/g, '-')}.json`, JSON.stringify({ machine, single, bulk, verified }, null, 2));
writeFileSync('bench/results/latest.md', report);
