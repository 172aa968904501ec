/**
 * Contention between stores: store B's single adjustments and reads, measured idle, then while
 * store A's 1,000,000-customer jobs run (everyone, then a filter), then while store A runs costly
 * reads in a loop (a one-letter search, a rare balance filter, a dry run of everyone, job lists,
 * the log filtered by a rare type). Through a real `tally serve` (the built CLI), each figure
 * beside B's idle baseline from the same run.
 *
 * Env: BENCH_CUSTOMERS (1000000: store A), BENCH_CONTENTION_SECONDS (6: each idle or read phase).
 */
import autocannon from 'autocannon';
import type { Dialect } from '../src/db/migrations/helpers.js';
import { customerIds, freshDatabase, seededStore, startServer, type Server, sleep } from './support.js';
import type { BenchContext, BenchModule, BenchTable } from './types.js';

const SECONDS = Number(process.env.BENCH_CONTENTION_SECONDS ?? 6);
const B_CUSTOMERS = 10_000;
/** The target for store B while store A works, on this 2-core machine. */
const TARGET_P99_MS = 50;

interface Row {
  dialect: Dialect;
  while: string;
  op: string;
  requests: number;
  p50: number;
  p99: number;
  idleP99: number;
  met: string;
}

type Api = (method: string, path: string, body?: unknown) => Promise<{ status: number; body: any }>;

function apiOf(url: string, key: string): Api {
  return async (method, path, body) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text };
  };
}

/** Store B's load (writes or reads) until `until` resolves; latency in ms. */
async function storeB(server: Server, key: string, ids: number[], op: 'adjust' | 'read', until: Promise<unknown>) {
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  const body = JSON.stringify({ points: 1, reason: 'Store B adjustment' });
  const pick = () => ids[Math.floor(Math.random() * ids.length)];
  let finished: (r: autocannon.Result) => void = () => undefined;
  const result = new Promise<autocannon.Result>((resolve) => (finished = resolve));
  const run = autocannon(
    {
      url: server.url,
      connections: 10,
      duration: 3600,
      requests: [
        op === 'adjust'
          ? { method: 'POST', setupRequest: (req) => ({ ...req, path: `/v1/customers/${pick()}/adjustments`, headers, body }) }
          : { method: 'GET', setupRequest: (req) => ({ ...req, path: `/v1/customers/${pick()}`, headers }) },
      ],
    },
    (_err, r) => finished(r),
  );
  await until;
  run.stop();
  const r = await result;
  return { requests: r.requests.total, p50: r.latency.p50, p99: r.latency.p99, errors: r.non2xx + r.errors };
}

async function jobDone(api: Api, id: number): Promise<void> {
  for (;;) {
    const job = (await api('GET', `/v1/jobs/${id}`)).body;
    if (['completed', 'failed', 'cancelled'].includes(job.status)) return;
    await sleep(50);
  }
}

/** Store A's costly reads, two at a time, until stopped. */
function heavyReads(api: Api): { stop: () => Promise<number> } {
  const reads: [string, string, unknown?][] = [
    ['GET', '/v1/customers?search=a&limit=50'],
    ['GET', '/v1/customers?minBalance=4990&limit=50'],
    ['POST', '/v1/bulk-adjustments', { selection: { all: true }, type: 'adjust', points: 1, reason: 'Preview', dryRun: true }],
    ['GET', '/v1/jobs?limit=500'],
    ['GET', '/v1/transactions?type=reversal&limit=50'],
  ];
  let stopped = false;
  let done = 0;
  const loops = [0, 1].map(async (offset) => {
    for (let i = offset; !stopped; i++) {
      const [method, path, body] = reads[i % reads.length];
      await api(method, path, body);
      done++;
    }
  });
  return {
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
      return done;
    },
  };
}

async function benchDialect(dialect: Dialect, customers: number, log: (s: string) => void): Promise<Row[]> {
  const db = await freshDatabase(dialect);
  try {
    log(`${dialect}: seeding store A (${customers}) and store B (${B_CUSTOMERS})`);
    const a = await seededStore(db.url, customers);
    const b = await seededStore(db.url, B_CUSTOMERS);
    const bIds = await customerIds(db.url, b.storeId);
    const server = await startServer(['bin/tally.js', 'serve', '--port', '{port}'], { DATABASE_URL: db.url, RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'warn' });
    const rows: Row[] = [];
    try {
      const apiA = apiOf(server.url, a.apiKey);
      const idle: Record<string, number> = {};
      const add = (scenario: string, op: 'adjust' | 'read', r: { requests: number; p50: number; p99: number }) => {
        if (scenario === 'nothing (idle)') idle[op] = r.p99;
        const base = idle[op] ?? Number.NaN;
        rows.push({ dialect, while: scenario, op: op === 'adjust' ? 'B adjustments' : 'B GET customer', requests: r.requests, p50: r.p50, p99: r.p99, idleP99: base, met: r.p99 <= TARGET_P99_MS ? 'yes' : 'no' });
      };
      for (const op of ['adjust', 'read'] as const) {
        log(`${dialect}: store B ${op}, idle`);
        add('nothing (idle)', op, await storeB(server, b.apiKey, bIds, op, sleep(SECONDS * 1000)));
      }
      for (const [scenario, selection] of [
        [`A's job over all ${customers}`, { all: true }],
        [`A's filter job (balance ≥ 1000)`, { filter: { minBalance: 1000 } }],
      ] as const) {
        log(`${dialect}: store B adjustments while ${scenario}`);
        const started = performance.now();
        const created = await apiA('POST', '/v1/bulk-adjustments', { selection, type: 'adjust', points: 1, reason: 'Store A job' });
        // Timed when the job is done, not once store B's load generator has stopped (its next tick).
        let took = Number.NaN;
        const done = jobDone(apiA, created.body.job.id).then(() => (took = (performance.now() - started) / 1000));
        const r = await storeB(server, b.apiKey, bIds, 'adjust', done);
        add(`${scenario}, done in ${took.toFixed(1)} s`, 'adjust', r);
      }
      log(`${dialect}: store B reads while store A reads heavily`);
      const heavy = heavyReads(apiA);
      const r = await storeB(server, b.apiKey, bIds, 'read', sleep(SECONDS * 1000));
      const aReads = await heavy.stop();
      add(`A's costly reads (${aReads} done)`, 'read', r);
      log(`${dialect}: store B adjustments while store A reads heavily`);
      const heavy2 = heavyReads(apiA);
      const w = await storeB(server, b.apiKey, bIds, 'adjust', sleep(SECONDS * 1000));
      add(`A's costly reads (${await heavy2.stop()} done)`, 'adjust', w);
    } finally {
      await server.stop();
    }
    return rows;
  } finally {
    await db.drop();
  }
}

export const contention: BenchModule = {
  name: 'contention',
  async run(ctx: BenchContext): Promise<BenchTable[]> {
    const customers = Number(process.env.BENCH_CUSTOMERS ?? 1_000_000);
    const rows: Row[] = [];
    for (const dialect of ctx.dialects) rows.push(...(await benchDialect(dialect, customers, ctx.log)));
    return [
      {
        title: `Store B while store A works (10 connections; target p99 ≤ ${TARGET_P99_MS} ms)`,
        columns: [
          ['dialect', 'database'],
          ['while', 'while store A runs'],
          ['op', "store B's requests"],
          ['requests', 'requests'],
          ['p50', 'p50 ms'],
          ['p99', 'p99 ms'],
          ['idleP99', 'idle p99 ms (same run)'],
          ['met', `p99 ≤ ${TARGET_P99_MS} ms`],
        ],
        rows: rows as unknown as Record<string, string | number>[],
      },
    ];
  },
};
