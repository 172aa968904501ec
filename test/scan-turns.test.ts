import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedCustomers } from '../src/ledger/seed.js';
import { DIALECTS } from './support/databases.js';
import { aCustomer } from './support/fixtures.js';
import { type ApiResponse, startServer, type TestServer, type TestStore } from './support/server.js';

const A_CUSTOMERS = 150_000;

/** Store A's costly reads, as the contention bench sends them. */
const COSTLY: [string, string, unknown?][] = [
  ['GET', '/v1/customers?search=a&limit=50'],
  ['GET', '/v1/customers?minBalance=4990&limit=50'],
  ['POST', '/v1/bulk-adjustments', { selection: { all: true }, type: 'adjust', points: 1, reason: 'Preview', dryRun: true }],
  ['GET', '/v1/jobs?limit=500'],
  ['GET', '/v1/transactions?type=reversal&limit=50'],
  ['GET', '/v1/customers/export.csv?minBalance=4000'],
];
/** Those of COSTLY that read every customer or every ledger row of the store. */
const WHOLE_STORE = [2, 4, 5];

const until = async (what: string, done: () => boolean, ms = 20_000) => {
  for (const start = Date.now(); !done(); await new Promise((r) => setTimeout(r, 1))) {
    if (Date.now() - start > ms) throw new Error(`gave up waiting for ${what}`);
  }
};

/** Samples what `probe` returns every millisecond (and at every PostgreSQL answer) until stopped; keeps the largest. */
function sampler(probe: () => number | Promise<number>): { max: () => number; stop: () => Promise<void> } {
  let max = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      max = Math.max(max, await probe());
      await new Promise((r) => setTimeout(r, 1));
    }
  })();
  return {
    max: () => max,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

for (const dialect of DIALECTS) {
  describe(`${dialect}: costly reads take per-store turns`, () => {
    let server: TestServer;
    let a: TestStore;
    let b: TestStore;
    let expected: ApiResponse[];
    const call = (store: TestStore, i: number) => store.api(COSTLY[i % COSTLY.length][0], COSTLY[i % COSTLY.length][1], COSTLY[i % COSTLY.length][2]);

    beforeAll(async () => {
      server = await startServer(dialect, { database: { scanLimits: { perStore: 1, queuePerStore: 30 } } });
      a = await server.newStore('Busy store');
      b = await server.newStore('Quiet store');
      await seedCustomers(server.database.db, server.committer, a.id, A_CUSTOMERS);
      for (let i = 0; i < 5; i++) await aCustomer(b, { firstName: `Ann${i}` });
      // Each read alone, one after the other: what the same reads must answer under load.
      expected = [];
      for (let i = 0; i < COSTLY.length; i++) expected.push(await call(a, i));
    }, 120_000);
    afterAll(async () => server.close());

    it("runs one store's scans one at a time, and another store's scan does not queue behind them", async () => {
      const scans = server.database.scans;
      expect(expected.map((r) => r.status)).toEqual(COSTLY.map(() => 200));
      const aRunning = sampler(() => scans.load(a.id).running);
      const bWaiting = sampler(() => scans.load(b.id).waiting);
      // PostgreSQL's own view: the scan pool's sessions running a statement, while only store A scans.
      const admin = dialect === 'postgres' ? new pg.Client({ connectionString: server.database.url }) : undefined;
      await admin?.connect();
      const activeInDatabase = admin
        ? sampler(async () => {
            const { rows } = await admin.query(
              "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'tally scans' AND state = 'active'",
            );
            return rows[0].n as number;
          })
        : undefined;
      try {
        // The reads that walk the whole store, so that a backlog builds up.
        const burst = Promise.all(Array.from({ length: 24 }, (_, i) => call(a, WHOLE_STORE[i % WHOLE_STORE.length])));
        await until('store A to have a backlog of scans', () => scans.load(a.id).waiting >= 6);
        // The backlog can build before the first scan's statement shows in pg_stat_activity (a busy
        // machine): sample on while store A's scans still wait, until one has been seen running.
        if (activeInDatabase) await until('a scan of store A to run in PostgreSQL', () => activeInDatabase.max() >= 1 || scans.load(a.id).waiting === 0);
        await activeInDatabase?.stop();

        const quiet = await b.api('GET', '/v1/customers?search=ann&limit=50');
        const aBehind = scans.load(a.id).waiting;
        expect(quiet.status).toBe(200);
        expect(quiet.body.data).toHaveLength(5);
        expect(aBehind, "store B's scan answered while store A's still waited for their turns").toBeGreaterThan(0);

        const answers = await burst;
        expect(answers.map((r) => r.status)).toEqual(answers.map(() => 200));
        answers.forEach((r, i) => {
          const read = WHOLE_STORE[i % WHOLE_STORE.length];
          expect(r.text, `${COSTLY[read][1]} under load`).toBe(expected[read].text);
        });
      } finally {
        await Promise.all([aRunning.stop(), bWaiting.stop(), activeInDatabase?.stop()]);
        await admin?.end();
      }
      expect(aRunning.max(), "store A's scans holding a turn at once").toBe(1);
      expect(bWaiting.max(), "store B's scans waiting for a turn").toBe(0);
      if (activeInDatabase) expect(activeInDatabase.max(), "store A's statements running at once in PostgreSQL").toBe(1);
      expect(scans.load(a.id)).toEqual({ running: 0, waiting: 0 });
    }, 120_000);

    it("refuses a store's scans beyond its queue with 429 too_many_scans and Retry-After, and serves the rest", async () => {
      const answers = await Promise.all(Array.from({ length: 45 }, (_, i) => call(a, 2 * i + 1)));
      const refused = answers.filter((r) => r.status === 429);
      // One running, 30 waiting: the others are refused at once.
      expect(answers.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(31);
      expect(refused.length).toBeGreaterThan(0);
      for (const r of refused) {
        expect(r.body).toMatchObject({ error: { code: 'too_many_scans', details: { retryAfter: 1 } } });
        expect(r.headers.get('retry-after')).toBe('1');
      }
      expect((await b.api('GET', '/v1/customers?search=ann&limit=50')).status).toBe(200);
    }, 120_000);
  });
}
