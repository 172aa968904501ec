import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import type { Transaction } from '../src/domain/types.js';
import { pointsReport } from '../src/ledger/reports.js';
import { DIALECTS } from './support/databases.js';
import { aCustomer } from './support/fixtures.js';
import { request, type TestStore, useServer, waitForJob } from './support/server.js';

const DAY = 86_400_000;
const POINT_VALUE = 0.01;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A small seeded generator (mulberry32), so a failing run can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Flow {
  credited: number;
  debited: number;
}

interface ExpectedPeriod {
  openingBalance: number;
  closingBalance: number;
  byType: Record<string, Flow>;
  byActor: { actor: Transaction['actor']; credited: number; debited: number }[];
  liability: number;
}

/** Every ledger row of the store, read through the transaction log (keyset pages), not the report. */
async function ledgerOf(store: TestStore): Promise<Transaction[]> {
  const rows: Transaction[] = [];
  let cursor: string | null = null;
  do {
    const res: { body: { data: Transaction[]; nextCursor: string | null } } = await store.api('GET', `/v1/transactions?limit=500${cursor ? `&cursor=${cursor}` : ''}`);
    rows.push(...res.body.data);
    cursor = res.body.nextCursor;
  } while (cursor);
  return rows;
}

const flowOf = (rows: Transaction[]): Flow => ({
  credited: rows.filter((r) => r.points > 0).reduce((s, r) => s + r.points, 0),
  debited: rows.filter((r) => r.points < 0).reduce((s, r) => s + r.points, 0),
});

/** The report worked out by hand from the rows: sums in JS over half-open periods. */
function expectedReport(ledger: Transaction[], bounds: { start: number; end: number }[]): ExpectedPeriod[] {
  const at = (r: Transaction) => Date.parse(r.createdAt);
  let opening = ledger.filter((r) => at(r) < bounds[0].start).reduce((s, r) => s + r.points, 0);
  return bounds.map(({ start, end }) => {
    const rows = ledger.filter((r) => at(r) >= start && at(r) < end);
    const types = [...new Set(rows.map((r) => r.type))].sort();
    const actors = [...new Map(rows.map((r) => [JSON.stringify(r.actor), r.actor])).values()];
    const closing = opening + rows.reduce((s, r) => s + r.points, 0);
    const period: ExpectedPeriod = {
      openingBalance: opening,
      closingBalance: closing,
      byType: Object.fromEntries(types.map((t) => [t, flowOf(rows.filter((r) => r.type === t))])),
      byActor: actors.map((a) => ({ actor: a, ...flowOf(rows.filter((r) => JSON.stringify(r.actor) === JSON.stringify(a))) })),
      liability: Number((closing * POINT_VALUE).toFixed(6)),
    };
    opening = closing;
    return period;
  });
}

const byActorKey = (list: { actor: Transaction['actor'] }[]) => [...list].sort((a, b) => JSON.stringify(a.actor).localeCompare(JSON.stringify(b.actor)));

for (const dialect of DIALECTS) {
  describe(`${dialect}: points reports`, () => {
    const ctx = useServer(dialect);
    /** Moments between the phases of writes: every row of phase i is before boundaries[i], every later row at or after it. */
    const boundaries: number[] = [];
    let ledger: Transaction[] = [];
    let second: TestStore;

    async function report(path: string, as: TestStore = ctx.store) {
      const res = await as.api('GET', path);
      expect(res.status, res.text).toBe(200);
      return res.body;
    }

    it('writes adjustments, resets, reversals and a bulk job by two actors over several phases', async () => {
      const { store, server } = ctx;
      expect((await store.api('PATCH', '/v1/settings', { pointValue: POINT_VALUE })).status).toBe(200);
      const created = await store.api('POST', '/v1/api-keys', { name: 'Second desk' });
      expect(created.status, created.text).toBe(201);
      const key = created.body.key as string;
      second = { ...store, apiKey: key, api: (method, path, body, headers = {}) => request(`${server.url}${path}`, method, body, { authorization: `Bearer ${key}`, ...headers }) };
      const next = random(16);
      const customers = [];
      for (let i = 0; i < 6; i++) customers.push(await aCustomer(store, { balance: 100 + i * 50 }));
      const written: number[] = [];
      for (let phase = 0; phase < 3; phase++) {
        for (let op = 0; op < 14; op++) {
          const as = next() < 0.5 ? store : second;
          const customer = customers[Math.floor(next() * customers.length)];
          const roll = next();
          let res;
          if (roll < 0.6) {
            const points = Math.round((next() - 0.35) * 200) || 5;
            res = await as.api('POST', `/v1/customers/${customer.id}/adjustments`, { points, reason: `Phase ${phase} adjustment` });
          } else if (roll < 0.75) {
            res = await as.api('POST', `/v1/customers/${customer.id}/reset`, { reason: `Phase ${phase} reset` });
          } else if (written.length > 0) {
            const target = written[Math.floor(next() * written.length)];
            res = await as.api('POST', `/v1/transactions/${target}/reverse`, { reason: `Phase ${phase} reversal` });
          }
          // A deduction past the balance, a second reversal of a row or a reset of zero is refused; the rest is written.
          if (res?.status === 201) written.push(res.body.transaction.id);
          else if (res) expect([409, 422], res.text).toContain(res.status);
        }
        if (phase === 1) {
          const bulk = await second.api('POST', '/v1/bulk-adjustments', { selection: { all: true }, type: 'adjust', points: 25, reason: 'Phase 1 bulk' });
          expect(bulk.status, bulk.text).toBe(202);
          expect((await waitForJob(store, bulk.body.job.id)).status).toBe('completed');
        }
        // The boundary is strictly after every row so far (the database's clock is this machine's).
        const last = Math.max(...(await ledgerOf(store)).map((r) => Date.parse(r.createdAt)));
        while (Date.now() <= last + 1) await pause(2);
        boundaries.push(Date.now());
        await pause(3);
      }
      ledger = await ledgerOf(store);
      expect(new Set(ledger.map((r) => r.type))).toEqual(new Set(['adjustment', 'reset', 'reversal']));
      expect(new Set(ledger.map((r) => r.actor.name.split(' (')[0]))).toEqual(new Set(['Default key', 'Second desk']));
      expect(ledger.some((r) => r.jobId !== null)).toBe(true);
    });

    it('sums the ledger exactly by day around each phase boundary: opening, closing, by type, by actor, liability', async () => {
      for (const b of boundaries) {
        for (const from of [b - DAY, b]) {
          const to = from + 3 * DAY;
          const body = await report(`/v1/reports/points?from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}&interval=day`);
          expect(body.pointValue).toBe(POINT_VALUE);
          const bounds = [0, 1, 2].map((i) => ({ start: from + i * DAY, end: from + (i + 1) * DAY }));
          expect(body.data.map((p: { periodStart: string; periodEnd: string }) => [Date.parse(p.periodStart), Date.parse(p.periodEnd)])).toEqual(bounds.map((x) => [x.start, x.end]));
          const expected = expectedReport(ledger, bounds);
          expect(body.data.map((p: ExpectedPeriod) => ({ ...p, byActor: byActorKey(p.byActor) }))).toEqual(
            expected.map((p, i) => ({ ...p, byActor: byActorKey(p.byActor), periodStart: body.data[i].periodStart, periodEnd: body.data[i].periodEnd })),
          );
        }
      }
    });

    it('sums the opening balance the same from the rows before the range as from the balances less the rows since', async () => {
      for (const b of [...boundaries, boundaries[0] - DAY, Date.now() + DAY]) {
        const q = { from: new Date(b).toISOString(), to: new Date(b + 2 * DAY).toISOString(), interval: 'day' as const };
        const before = await pointsReport(ctx.server.database.read, ctx.store.id, q, { opening: 'before' });
        const after = await pointsReport(ctx.server.database.read, ctx.store.id, q, { opening: 'after' });
        expect(after).toEqual(before);
        expect(before.data[0].openingBalance).toBe(ledger.filter((r) => Date.parse(r.createdAt) < b).reduce((s, r) => s + r.points, 0));
      }
    });

    it('closes the last period on the balances the customers hold now', async () => {
      const now = Date.now();
      const body = await report(`/v1/reports/points?from=${new Date(boundaries[0] - 7 * DAY).toISOString()}&to=${new Date(now + DAY).toISOString()}&interval=week`);
      const customers = (await ctx.store.api('GET', '/v1/customers?limit=500')).body.data as { balance: number }[];
      const total = customers.reduce((s, c) => s + c.balance, 0);
      expect(body.data.at(-1).closingBalance).toBe(total);
      expect(body.data.at(-1).liability).toBe(Number((total * POINT_VALUE).toFixed(6)));
      for (let i = 1; i < body.data.length; i++) expect(body.data[i].openingBalance).toBe(body.data[i - 1].closingBalance);
    });

    it('counts months in calendar months from `from`, the last one cut at `to`', async () => {
      const body = await report('/v1/reports/points?from=2026-01-31T00:00:00Z&to=2026-04-15T00:00:00Z&interval=month');
      expect(body.data.map((p: { periodStart: string; periodEnd: string }) => [p.periodStart, p.periodEnd])).toEqual([
        ['2026-01-31T00:00:00.000Z', '2026-02-28T00:00:00.000Z'],
        ['2026-02-28T00:00:00.000Z', '2026-03-31T00:00:00.000Z'],
        ['2026-03-31T00:00:00.000Z', '2026-04-15T00:00:00.000Z'],
      ]);
      expect(body.data.every((p: ExpectedPeriod) => p.openingBalance === 0 && p.closingBalance === 0 && p.byActor.length === 0)).toBe(true);
    });

    it('serves the same report as CSV, one row per period, with a column pair per type and per actor', async () => {
      const from = boundaries[1] - DAY;
      const query = `from=${new Date(from).toISOString()}&to=${new Date(from + 2 * DAY).toISOString()}&interval=day`;
      const json = await report(`/v1/reports/points?${query}`);
      const csv = await ctx.store.api('GET', `/v1/reports/points.csv?${query}`);
      expect(csv.status).toBe(200);
      expect(csv.headers.get('content-type')).toContain('text/csv');
      const [header, ...records] = parse(csv.text) as string[][];
      expect(header.slice(0, 7)).toEqual(['periodStart', 'periodEnd', 'openingBalance', 'credited', 'debited', 'closingBalance', 'liability']);
      expect(header).toContain('reset debited');
      const desk = ledger.find((r) => r.actor.name.startsWith('Second desk'))!.actor;
      expect(header).toContain(`${desk.name} (api_key ${desk.id}) credited`);
      expect(records).toHaveLength(2);
      records.forEach((rec, i) => {
        const p = json.data[i];
        const cell = (name: string) => rec[header.indexOf(name)];
        expect(cell('periodStart')).toBe(p.periodStart);
        expect(Number(cell('openingBalance'))).toBe(p.openingBalance);
        expect(Number(cell('closingBalance'))).toBe(p.closingBalance);
        expect(Number(cell('liability'))).toBe(p.liability);
        const flows = Object.values(p.byType) as Flow[];
        expect(Number(cell('credited'))).toBe(flows.reduce((s, f) => s + f.credited, 0));
        expect(Number(cell('debited'))).toBe(flows.reduce((s, f) => s + f.debited, 0));
        for (const [type, f] of Object.entries(p.byType) as [string, Flow][]) {
          expect(Number(cell(`${type} credited`))).toBe(f.credited);
          expect(Number(cell(`${type} debited`))).toBe(f.debited);
        }
      });
    });

    it('makes an actor name that a spreadsheet would run as a formula safe in the CSV header', async () => {
      const created = await ctx.store.api('POST', '/v1/api-keys', { name: '=HYPERLINK("http://x")' });
      const customer = await aCustomer(ctx.store);
      const start = Date.now();
      await request(`${ctx.server.url}/v1/customers/${customer.id}/adjustments`, 'POST', { points: 7, reason: 'Formula' }, { authorization: `Bearer ${created.body.key}` });
      const csv = await ctx.store.api('GET', `/v1/reports/points.csv?from=${new Date(start - DAY).toISOString()}&to=${new Date(start + DAY).toISOString()}`);
      const [header] = parse(csv.text) as string[][];
      expect(header.filter((h) => h.includes('HYPERLINK')).every((h) => h.startsWith("'="))).toBe(true);
      expect(header.some((h) => h.includes('HYPERLINK'))).toBe(true);
    });

    it('lets a viewer read reports, and shows another store none of these rows', async () => {
      const viewer = await ctx.store.api('POST', '/v1/api-keys', { name: 'Accounts', role: 'viewer' });
      const query = `/v1/reports/points?from=${new Date(boundaries[0] - DAY).toISOString()}&to=${new Date(Date.now() + DAY).toISOString()}&interval=week`;
      const res = await request(`${ctx.server.url}${query}`, 'GET', undefined, { authorization: `Bearer ${viewer.body.key}` });
      expect(res.status).toBe(200);
      expect(res.body.data[0].closingBalance).toBeGreaterThan(0);
      const other = await ctx.server.newStore('Other');
      const theirs = await report(query, other);
      expect(theirs.pointValue).toBeNull();
      expect(theirs.data).toEqual([expect.objectContaining({ openingBalance: 0, closingBalance: 0, byType: {}, byActor: [], liability: null })]);
    });

    it('refuses a range that ends before it starts, a malformed instant, an unknown interval and too many periods (422)', async () => {
      for (const query of [
        'from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z',
        'from=2026-02-01&to=2026-03-01T00:00:00Z',
        'from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z&interval=year',
        'from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z&interval=day',
        'to=2026-02-01T00:00:00Z',
      ]) {
        const res = await ctx.store.api('GET', `/v1/reports/points?${query}`);
        expect(res.status, query).toBe(422);
        expect(res.body.error.code).toBe('validation_error');
        expect((await ctx.store.api('GET', `/v1/reports/points.csv?${query}`)).status).toBe(422);
      }
    });
  });
}
