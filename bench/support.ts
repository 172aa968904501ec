/**
 * Helpers shared by the benchmarks: fresh databases, the built `tally` CLI, child servers.
 * Nothing here imports the test suite's support code (the benchmarks must not move with it).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import type { Dialect } from '../src/db/migrations/helpers.js';

const run = promisify(execFile);

/** Where bench PostgreSQL databases are created (CREATE DATABASE bench_…, dropped afterwards). */
export const POSTGRES_ADMIN_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface FreshDatabase {
  dialect: Dialect;
  url: string;
  drop(): Promise<void>;
}

/** An empty database: a SQLite file in a new temp directory (a real disk, real fsync), or a new PostgreSQL database. */
export async function freshDatabase(dialect: Dialect): Promise<FreshDatabase> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'tally-bench-'));
    return { dialect, url: `sqlite:${join(dir, 'tally.db')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `bench_${randomBytes(6).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return { dialect, url: url.toString(), drop: () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

async function adminQuery(text: string): Promise<void> {
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(text);
  } finally {
    await admin.end();
  }
}

/** Runs the built CLI (`node bin/tally.js …`, so `npm run build` first) against a database; returns stdout. */
export async function tally(args: string[], databaseUrl: string): Promise<string> {
  const { stdout } = await run(process.execPath, ['bin/tally.js', ...args], {
    env: { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' },
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

export interface VerifyReport {
  ok: boolean;
  customers: number;
  transactions: number;
  violations: unknown[];
}

/** `tally verify --store ID --json`; its exit code is 1 on a violation, which still carries the report. */
export async function tallyVerify(databaseUrl: string, storeId: number): Promise<VerifyReport> {
  try {
    return JSON.parse(await tally(['verify', '--store', String(storeId), '--json'], databaseUrl)) as VerifyReport;
  } catch (err) {
    const stdout = (err as { stdout?: string }).stdout;
    if (stdout?.trim().startsWith('{')) return JSON.parse(stdout) as VerifyReport;
    throw err;
  }
}

/** A store with `customers` seeded customers, made with the CLI as an operator would. */
export async function seededStore(databaseUrl: string, customers: number): Promise<{ storeId: number; apiKey: string }> {
  const created = JSON.parse(await tally(['store', 'create', '--name', 'Bench', '--json'], databaseUrl)) as {
    store: { id: number };
    apiKey: string;
  };
  await tally(['seed', '--store', String(created.store.id), '--customers', String(customers)], databaseUrl);
  return { storeId: created.store.id, apiKey: created.apiKey };
}

/** The ids of a store's customers, read straight from the database (before any server opens it). */
export async function customerIds(databaseUrl: string, storeId: number): Promise<number[]> {
  if (databaseUrl.startsWith('sqlite:')) {
    const db = new SQLite(databaseUrl.slice('sqlite:'.length), { readonly: true });
    try {
      return db.prepare('SELECT id FROM customers WHERE store_id = ? ORDER BY id').pluck().all(storeId) as number[];
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string }>('SELECT id FROM customers WHERE store_id = $1 ORDER BY id', [storeId]);
    return rows.map((r) => Number(r.id));
  } finally {
    await client.end();
  }
}

/** A free local TCP port. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface Server {
  child: ChildProcess;
  url: string;
  /** CPU seconds (user + system) the process has used so far. */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

/**
 * Starts a server process (`node …args`; BENCH_SERVER_NODE_ARGS adds node flags) on a free port (given as PORT and by the caller in args
 * via {port}) and waits until GET /healthz answers 200.
 */
export async function startServer(args: string[], env: Record<string, string>): Promise<Server> {
  const port = await freePort();
  // BENCH_SERVER_NODE_ARGS: node flags for the server, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile it.
  const nodeArgs = process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, ...args.map((a) => a.replace('{port}', String(port)))], {
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server ${args.join(' ')} exited with ${child.exitCode}`);
    const ok = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server ${args.join(' ')} did not start`);
    }
    await sleep(50);
  }
  return {
    child,
    url,
    cpuSeconds: () => processCpuSeconds(child.pid!),
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * CPU seconds used so far by the PostgreSQL server for one database, per process: its backends
 * (their process title names the database) plus the shared background processes (WAL writer,
 * checkpointer…). Backends of other databases (someone's test run) are left out. Undefined off Linux.
 */
function postgresCpuByPid(database: string): Map<number, number> | undefined {
  try {
    const byPid = new Map<number, number>();
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) !== 'postgres') continue;
        const title = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
        const background = /: (checkpointer|background writer|walwriter|autovacuum launcher|logical replication launcher)/.test(title);
        if (background || title.includes(` ${database} `)) byPid.set(Number(pid), processCpuSeconds(Number(pid)));
      } catch {
        // the process ended meanwhile
      }
    }
    return byPid;
  } catch {
    return undefined;
  }
}

/**
 * PostgreSQL CPU seconds of one database from now until stop(), sampled every 250 ms, so that a
 * backend that exits meanwhile (a pool closing an idle connection) still counts what it used
 * (up to its last sample) instead of taking its whole past off the sum. NaN off Linux.
 */
export function postgresCpuMeter(database: string): { stop(): number } {
  const first = postgresCpuByPid(database);
  if (!first) return { stop: () => Number.NaN };
  const last = new Map(first);
  const sample = () => {
    for (const [pid, cpu] of postgresCpuByPid(database) ?? []) last.set(pid, cpu);
  };
  const timer = setInterval(sample, 250);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      sample();
      let sum = 0;
      for (const [pid, cpu] of last) sum += cpu - (first.get(pid) ?? 0);
      return sum;
    },
  };
}

/**
 * Waits (up to maxMs) until the machine is quiet: under `busyPercent` of one core busy over a
 * one-second window. Other work on the machine (a test run) skews every figure. Returns the last
 * busy figure seen.
 */
export async function waitForQuiet(maxMs: number, busyPercent = 25, log?: (s: string) => void): Promise<number> {
  const deadline = Date.now() + maxMs;
  let told = false;
  for (;;) {
    const a = machineCpu();
    await sleep(1000);
    const b = machineCpu();
    if (!a || !b) return Number.NaN;
    const busy = ((b.busy - a.busy) / (b.total - a.total)) * cpus().length * 100;
    if (busy < busyPercent || Date.now() > deadline) return busy;
    if (!told) log?.(`  machine busy (${Math.round(busy)}% of a core, not ours): waiting up to ${Math.round(maxMs / 1000)} s for it to quieten`);
    told = true;
  }
}

/** utime + stime of a process, from /proc (Linux), in seconds; NaN elsewhere. */
function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command name: state is field 3, utime field 14, stime field 15 (1-based in proc(5)).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** Busy and total CPU time of the whole machine so far (Linux /proc/stat, in clock ticks); undefined elsewhere. */
export function machineCpu(): { busy: number; total: number } | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const total = fields.reduce((a, b) => a + b, 0);
    const idle = fields[3] + (fields[4] ?? 0); // idle + iowait
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
