/**
 * Single adjustments over real HTTP: a real `tally serve` process under autocannon, and in the
 * same run the ceiling (bench/minimal-server.ts) on the same database and load.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import autocannon from 'autocannon';
import { createCommitter } from '../src/db/committer.js';
import { migrate, openDatabase } from '../src/db/database.js';
import type { Dialect } from '../src/db/migrations/helpers.js';
import { seedCustomers } from '../src/ledger/seed.js';
import { createStore } from '../src/ledger/stores.js';
import { verifyLedger } from '../src/ledger/verify.js';
import { freshDatabaseUrl } from '../test/support/databases.js';
import { freePort, until } from '../test/support/process.js';

export interface SingleBenchRow {
  dialect: Dialect;
  server: 'tally' | 'minimal route (ceiling)';
  connections: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
}

const CUSTOMERS = 10_000;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);

function load(port: number, apiKey: string, connections: number, duration: number): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: `http://127.0.0.1:${port}`,
        connections,
        duration,
        requests: [
          {
            method: 'POST',
            setupRequest: (req) => ({
              ...req,
              path: `/v1/customers/${1 + Math.floor(Math.random() * CUSTOMERS)}/adjustments`,
              headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
              body: JSON.stringify({ points: 1, reason: 'Benchmark adjustment' }),
            }),
          },
        ],
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
  });
}

async function start(args: string[], env: Record<string, string>, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'inherit'] });
  await until(async () => {
    const res = await fetch(`http://127.0.0.1:${port}/v1/customers/1/adjustments`, { method: 'POST' });
    return res.status > 0 ? true : undefined;
  });
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
}

export async function benchSingle(dialect: Dialect, connectionCounts: number[], log: (s: string) => void): Promise<{ rows: SingleBenchRow[]; verified: boolean }> {
  const fresh = await freshDatabaseUrl(dialect);
  const database = openDatabase(fresh.url);
  const rows: SingleBenchRow[] = [];
  try {
    await migrate(database);
    const committer = createCommitter(database);
    const created = await committer.run((trx) => createStore(trx, { name: 'Bench' }));
    await seedCustomers(database.db, committer, created.store.id, CUSTOMERS);
    const servers: { name: SingleBenchRow['server']; args: string[]; env: Record<string, string> }[] = [
      { name: 'tally', args: ['bin/tally.js', 'serve'], env: { RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'warn' } },
      { name: 'minimal route (ceiling)', args: ['--import', 'tsx', 'bench/minimal-server.ts'], env: {} },
    ];
    for (const s of servers) {
      const port = await freePort();
      const child = await start(s.args, { DATABASE_URL: fresh.url, ...s.env }, port);
      try {
        await load(port, created.apiKey, 10, 2);
        for (const connections of connectionCounts) {
          log(`${dialect}: ${s.name}, ${connections} connections, ${SECONDS} s`);
          const r = await load(port, created.apiKey, connections, SECONDS);
          rows.push({
            dialect,
            server: s.name,
            connections,
            perSecond: Math.round(r['2xx'] / SECONDS),
            p50Ms: r.latency.p50,
            p99Ms: r.latency.p99,
            non2xx: r.non2xx,
          });
        }
      } finally {
        await stop(child);
      }
    }
    const report = await verifyLedger(database.db, created.store.id);
    return { rows, verified: report.ok };
  } finally {
    await database.close();
    await fresh.drop();
  }
}
