/**
 * A bulk job with and without a subscribed webhook endpoint, same run: store A's +1 adjustment of
 * N customers (default 1,000,000), request → completed, through a real `tally serve` (the built
 * CLI), first with no endpoint, then with one endpoint subscribed to `transaction.created` (so every
 * chunk also writes `transaction.batch` outbox rows, delivered to a local receiver answering 200),
 * then with the endpoint disabled again: the ratio is the middle job over the mean of the other two.
 * Meanwhile store B, which has its own endpoint, makes a single adjustment every 250 ms: each one's
 * `transaction.created` latency (POST sent → event received) shows whether A's batches stall other
 * stores' deliveries. The issue's target: the job with the endpoint takes ≤ 1.5× the job without.
 *
 * Env: BENCH_WEBHOOK_CUSTOMERS (else BENCH_CUSTOMERS, else 1000000: store A's customers).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { createCommitter } from '../src/db/committer.js';
import { migrate, openDatabase } from '../src/db/database.js';
import type { Dialect } from '../src/db/migrations/helpers.js';
import { seedCustomers } from '../src/ledger/seed.js';
import { createStore } from '../src/ledger/stores.js';
import { freshDatabase, postgresCpuMeter, sleep, startServer } from './support.js';
import type { BenchModule, BenchTable } from './types.js';

/** The bound on the slowdown a subscribed endpoint may cost a bulk job. */
const TARGET_RATIO = 1.5;
const B_EVERY_MS = 250;
const B_CUSTOMERS = 100;
const JOB_TIMEOUT_MS = 1_800_000;

interface Row {
  [k: string]: string | number | boolean | null;
  dialect: Dialect;
  customers: number;
  endpoint: string;
  jobSeconds: number;
  ratio: string | null;
  batchEvents: number | null;
  drainedSeconds: number | null;
  bEvents: number;
  bDuringJob: number;
  bP50Ms: number | null;
  bMaxMs: number | null;
  serverCpuS: number;
  dbCpuS: number | null;
  receiverCpuS: number;
  verified: boolean;
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

/**
 * The receiver of both stores' endpoints: verifies every signature, answers 200, and keeps what the
 * bench measures (A's batch events and the job rows they carry; when each of B's transactions arrived).
 */
async function startReceiver() {
  const state = {
    url: '',
    secrets: new Map<string, string>(),
    batchEvents: new Set<string>(),
    batchTransactions: 0,
    customers: new Set<number>(),
    lastBatchAt: 0,
    bArrived: new Map<number, number>(),
    bad: 0,
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const secret = state.secrets.get(req.url ?? '');
      let event: { id: string; type: string; data: any } | undefined;
      try {
        event = new Webhook(secret ?? 'whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA').verify(body, req.headers as Record<string, string>) as typeof event;
      } catch {
        state.bad += 1;
      }
      if (event?.type === 'transaction.batch' && !state.batchEvents.has(event.id)) {
        state.batchEvents.add(event.id);
        state.batchTransactions += event.data.transactions.length;
        for (const t of event.data.transactions) state.customers.add(t.customerId);
        state.lastBatchAt = performance.now();
      }
      if (event?.type === 'transaction.created' && req.url === '/b') state.bArrived.set(event.data.id, performance.now());
      res.statusCode = event ? 200 : 400;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { state, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

const pct = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] : null);

async function benchDialect(dialect: Dialect, customers: number, log: (s: string) => void): Promise<Row[]> {
  const fresh = await freshDatabase(dialect);
  const receiver = await startReceiver();
  try {
    const database = openDatabase(fresh.url);
    let a: { id: number; apiKey: string };
    let b: { id: number; apiKey: string };
    try {
      await migrate(database);
      const committer = createCommitter(database);
      const createdA = await committer.run((trx) => createStore(trx, { name: 'Bench A' }));
      const createdB = await committer.run((trx) => createStore(trx, { name: 'Bench B' }));
      a = { id: createdA.store.id, apiKey: createdA.apiKey };
      b = { id: createdB.store.id, apiKey: createdB.apiKey };
      log(`webhooks-bulk ${dialect}: seeding store A (${customers}) and store B (${B_CUSTOMERS})`);
      await seedCustomers(database.db, committer, a.id, customers);
      await seedCustomers(database.db, committer, b.id, B_CUSTOMERS);
    } finally {
      await database.close();
    }
    const server = await startServer(['bin/tally.js', 'serve', '--port', '{port}'], {
      DATABASE_URL: fresh.url, RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'warn', TALLY_ALLOW_PRIVATE_WEBHOOKS: 'true',
    });
    try {
      const apiA = apiOf(server.url, a.apiKey);
      const apiB = apiOf(server.url, b.apiKey);
      const hookB = await apiB('POST', '/v1/webhooks', { url: `${receiver.state.url}/b`, events: ['transaction.created'] });
      if (hookB.status !== 201) throw new Error(`store B's endpoint: ${hookB.status} ${JSON.stringify(hookB.body)}`);
      receiver.state.secrets.set('/b', hookB.body.webhook.secret);
      const bIds = ((await apiB('GET', `/v1/customers?limit=${B_CUSTOMERS}`)).body.data as { id: number }[]).map((c) => c.id);

      /** One bulk job of store A while store B adjusts every 250 ms; B's events are awaited afterwards. */
      const dbName = dialect === 'postgres' ? new URL(fresh.url).pathname.slice(1) : '';
      const receiverCpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
      const run = async (label: string) => {
        const cpu0 = { server: server.cpuSeconds(), db: dialect === 'postgres' ? postgresCpuMeter(dbName) : null, receiver: receiverCpu() };
        const started = performance.now();
        const created = await apiA('POST', '/v1/bulk-adjustments', { selection: { all: true }, type: 'adjust', points: 1, reason: `Bench ${label}` });
        if (created.status !== 202) throw new Error(`bulk job: ${created.status} ${JSON.stringify(created.body)}`);
        const jobId = created.body.job.id as number;
        const sent = new Map<number, number>();
        let done = false;
        const bLoop = (async () => {
          for (let i = 0; !done; i++) {
            const t0 = performance.now();
            const res = await apiB('POST', `/v1/customers/${bIds[i % bIds.length]}/adjustments`, { points: 1, reason: 'Store B single write' });
            if (res.status === 201) sent.set(res.body.transaction.id, t0);
            await sleep(Math.max(0, B_EVERY_MS - (performance.now() - t0)));
          }
        })();
        let status = '';
        for (;;) {
          status = (await apiA('GET', `/v1/jobs/${jobId}`)).body.status;
          if (['completed', 'failed', 'cancelled'].includes(status)) break;
          if (performance.now() - started > JOB_TIMEOUT_MS) throw new Error(`bench job ${jobId} still ${status}`);
          await sleep(50);
        }
        const ended = performance.now();
        const jobSeconds = (ended - started) / 1000;
        const cpu = {
          server: server.cpuSeconds() - cpu0.server,
          db: cpu0.db ? cpu0.db.stop() : null,
          receiver: receiverCpu() - cpu0.receiver,
        };
        done = true;
        await bLoop;
        if (status !== 'completed') throw new Error(`bench job ended ${status}`);
        // Every B event sent during the job must arrive; its latency is from its POST.
        const deadline = performance.now() + 120_000;
        while ([...sent.keys()].some((id) => !receiver.state.bArrived.has(id)) && performance.now() < deadline) await sleep(50);
        const latencies = [...sent].filter(([id]) => receiver.state.bArrived.has(id)).map(([id, t0]) => receiver.state.bArrived.get(id)! - t0).sort((x, y) => x - y);
        const duringJob = [...sent.keys()].filter((id) => (receiver.state.bArrived.get(id) ?? Infinity) <= ended).length;
        return { jobId, started, jobSeconds, bSent: sent.size, duringJob, latencies, cpu };
      };

      // Warm-up (not measured): a small job of store A, so that neither measured job pays for the server's first one.
      const warmIds = ((await apiA('GET', '/v1/customers?limit=100')).body.data as { id: number }[]).map((c) => c.id);
      const warm = await apiA('POST', '/v1/bulk-adjustments', { selection: { customerIds: warmIds }, type: 'adjust', points: 1, reason: 'Bench warm-up' });
      if (warm.status !== 202) throw new Error(`warm-up job: ${warm.status} ${JSON.stringify(warm.body)}`);
      while (!['completed', 'failed', 'cancelled'].includes((await apiA('GET', `/v1/jobs/${warm.body.job.id}`)).body.status)) await sleep(50);
      log(`webhooks-bulk ${dialect}: bulk job, no endpoint for store A`);
      const without = await run('without endpoint');
      const hookA = await apiA('POST', '/v1/webhooks', { url: `${receiver.state.url}/a`, events: ['transaction.created'] });
      if (hookA.status !== 201) throw new Error(`store A's endpoint: ${hookA.status} ${JSON.stringify(hookA.body)}`);
      receiver.state.secrets.set('/a', hookA.body.webhook.secret);
      log(`webhooks-bulk ${dialect}: bulk job, one endpoint subscribed to transaction.created`);
      const withHook = await run('with endpoint');
      log(`webhooks-bulk ${dialect}: waiting for the batch deliveries to drain`);
      const drainDeadline = performance.now() + JOB_TIMEOUT_MS;
      while (receiver.state.batchTransactions < customers && performance.now() < drainDeadline) await sleep(100);
      const drained = receiver.state.batchTransactions >= customers;
      // The same job again without the endpoint, once every batch is delivered: the two jobs without
      // it bracket the one with it (run between them, on a ledger N rows longer than the first and
      // N shorter than the last), so the ledger's growth and the machine's drift cancel out.
      const disabled = await apiA('PATCH', `/v1/webhooks/${hookA.body.webhook.id}`, { enabled: false });
      if (disabled.status !== 200) throw new Error(`disabling store A's endpoint: ${disabled.status} ${JSON.stringify(disabled.body)}`);
      log(`webhooks-bulk ${dialect}: bulk job, no endpoint for store A again`);
      const again = await run('without endpoint, again');
      const baseline = (without.jobSeconds + again.jobSeconds) / 2;
      const row = (label: string, r: Awaited<ReturnType<typeof run>>, extra: Partial<Row>): Row => ({
        dialect, customers, endpoint: label, jobSeconds: Number(r.jobSeconds.toFixed(2)), ratio: null, batchEvents: null, drainedSeconds: null,
        bEvents: r.latencies.length, bDuringJob: r.duringJob, bP50Ms: pct(r.latencies, 0.5) === null ? null : Math.round(pct(r.latencies, 0.5)!),
        bMaxMs: r.latencies.length ? Math.round(r.latencies[r.latencies.length - 1]) : null,
        serverCpuS: Number(r.cpu.server.toFixed(1)), dbCpuS: r.cpu.db === null ? null : Number(r.cpu.db.toFixed(1)), receiverCpuS: Number(r.cpu.receiver.toFixed(1)),
        verified: r.latencies.length === r.bSent && receiver.state.bad === 0, ...extra,
      });
      return [
        row('none (before)', without, {}),
        row('one (transaction.created)', withHook, {
          ratio: `${(withHook.jobSeconds / baseline).toFixed(2)}×`,
          batchEvents: receiver.state.batchEvents.size,
          drainedSeconds: drained ? Number(((receiver.state.lastBatchAt - withHook.started) / 1000).toFixed(2)) : null,
          verified: withHook.latencies.length === withHook.bSent && receiver.state.bad === 0 && drained
            && receiver.state.batchTransactions === customers && receiver.state.customers.size === customers,
        }),
        row('none (after)', again, {}),
      ];
    } finally {
      await server.stop();
    }
  } finally {
    await receiver.close();
    await fresh.drop();
  }
}

export const webhooksBulk: BenchModule = {
  name: 'webhooks-bulk',
  async run(ctx): Promise<BenchTable[]> {
    const customers = Number(process.env.BENCH_WEBHOOK_CUSTOMERS ?? process.env.BENCH_CUSTOMERS ?? 1_000_000);
    const rows: Row[] = [];
    for (const dialect of ctx.dialects) rows.push(...(await benchDialect(dialect, customers, ctx.log)));
    const verdicts = ctx.dialects.map((d) => {
      const w = rows.find((r) => r.dialect === d && r.ratio !== null);
      const ratio = w?.ratio ? Number.parseFloat(w.ratio) : Number.NaN;
      return `${d}: ${w?.ratio ?? '?'} — target ≤ ${TARGET_RATIO}× ${ratio <= TARGET_RATIO ? 'met' : 'NOT met'}`;
    });
    return [{
      title: `Bulk +1 job of store A with and without a subscribed endpoint (same run), store B's single events meanwhile`,
      columns: [
        ['dialect', 'database'], ['customers', 'customers'], ['endpoint', "store A's endpoints"], ['jobSeconds', 'job request→completed s'],
        ['ratio', 'vs no endpoint'], ['batchEvents', 'batch events delivered'], ['drainedSeconds', 'last batch delivered at s'],
        ['bEvents', "B's events delivered"], ['bDuringJob', '… before the job ended'], ['bP50Ms', 'B latency p50 ms'], ['bMaxMs', 'B latency max ms'],
        ['serverCpuS', 'server CPU s'], ['dbCpuS', 'PostgreSQL CPU s'], ['receiverCpuS', 'bench + receiver CPU s'], ['verified', 'all delivered and verified'],
      ],
      rows,
      notes: [
        ...verdicts,
        'Three jobs in turn: without the endpoint, with it, and without it again once every batch is delivered; the ratio is the job with the endpoint over the mean of the two without (which bracket it: the ledger grows by N rows a job). "last batch delivered at" counts from that job\'s request; batches are at most 1,000 transactions each, read back from the ledger at send time.',
        'CPU seconds are used during each job (request → completed): the server process (with its job and dispatcher threads), the PostgreSQL backends of the database, and this benchmark process (which runs the receiver that verifies every signature) — all on the same machine.',
        `Store B makes one single adjustment every ${B_EVERY_MS} ms while each job runs; its latency runs from sending the POST to the receiver getting the signed transaction.created (the dispatcher polls the outbox every DISPATCH_IDLE_MS, 500 ms by default).`,
      ],
    }];
  },
};
