import { type Kysely, sql } from 'kysely';
import {
  type ActorFlow,
  DAY_MS,
  type PeriodBounds,
  type PointsFlow,
  type PointsReport,
  type ReportInterval,
  type ReportPeriod,
  pointValueOf,
  reportPeriods,
} from '../domain/report-periods.js';
import type { Actor } from '../domain/types.js';
import { parseInstant } from '../domain/validation.js';
import type { DB } from '../db/schema.js';
import { iso } from '../db/time.js';
import { BUCKET_MS } from './rollup.js';

export interface PointsReportQuery {
  from: string;
  to: string;
  interval: ReportInterval;
}

/** One group of the ledger query: a day (relative to `from`; -1 is everything before it), a type, an actor. */
interface LedgerGroup {
  day: number;
  type: string;
  actor_type: string;
  actor_id: number | null;
  actor_name: string;
  credited: number | string;
  debited: number | string;
}

/**
 * How the balance outstanding at `from` is summed, both exact: `before` adds up every row before
 * `from`; `after` takes the customers' balances (the ledger's cache, equal to Σ points per customer
 * in every committed state) less every row since `from`. One reads the history before the range,
 * the other the rows after its start and the store's customers, so a recent range is cheap either way.
 */
export type OpeningSum = 'before' | 'after';

function openingSelect(storeId: number, from: number, opening: OpeningSum) {
  return opening === 'before'
    ? sql`SELECT coalesce(sum(points), 0) FROM transactions WHERE store_id = ${storeId} AND created_at < ${from}`
    : sql`SELECT (SELECT coalesce(sum(balance), 0) FROM customers WHERE store_id = ${storeId}) - coalesce(sum(points), 0)
            FROM transactions WHERE store_id = ${storeId} AND created_at >= ${from}`;
}

/**
 * The ledger in [from, to) grouped by day since `from`, type and actor, and the balance before
 * `from` (as day -1), in one statement: one snapshot on both dialects, so the opening balance and
 * the flows agree even while rows are appended (an imported history can land rows in the past).
 */
async function ledgerGroups(db: Kysely<DB>, storeId: number, from: number, to: number, opening: OpeningSum): Promise<LedgerGroup[]> {
  const { rows } = await sql<LedgerGroup>`
    SELECT -1 AS day, '' AS type, '' AS actor_type, NULL AS actor_id, '' AS actor_name,
           (${openingSelect(storeId, from, opening)}) AS credited, 0 AS debited
    UNION ALL
    SELECT (created_at - ${from}) / ${DAY_MS} AS day, type, actor_type, actor_id, actor_name,
           sum(CASE WHEN points > 0 THEN points ELSE 0 END) AS credited,
           sum(CASE WHEN points < 0 THEN points ELSE 0 END) AS debited
      FROM transactions WHERE store_id = ${storeId} AND created_at >= ${from} AND created_at < ${to}
     GROUP BY 1, type, actor_type, actor_id, actor_name`.execute(db);
  return rows;
}

/**
 * The same groups from the quarter-hour sums the write path keeps (ledger_rollup), for a range
 * whose ends fall on quarter hours (every zone's midnight does): a year of ten million rows is a
 * few hundred thousand sums. One statement, one snapshot, exact (tally verify checks the sums).
 */
async function rollupGroups(db: Kysely<DB>, storeId: number, from: number, to: number): Promise<LedgerGroup[]> {
  const start = sql`CAST(${from} AS bigint)`;
  const { rows } = await sql<LedgerGroup>`
    SELECT -1 AS day, '' AS type, '' AS actor_type, NULL AS actor_id, '' AS actor_name,
           (SELECT coalesce(sum(credited + debited), 0) FROM ledger_rollup WHERE store_id = ${storeId} AND bucket < ${start}) AS credited, 0 AS debited
    UNION ALL
    SELECT (bucket - ${start}) / ${sql.lit(DAY_MS)} AS day, type, actor_type, CASE WHEN actor_id = -1 THEN NULL ELSE actor_id END, actor_name,
           sum(credited) AS credited, sum(debited) AS debited
      FROM ledger_rollup WHERE store_id = ${storeId} AND bucket >= ${start} AND bucket < CAST(${to} AS bigint)
     GROUP BY 1, type, actor_type, actor_id, actor_name`.execute(db);
  return rows;
}

/** Liability in the point value's unit, rounded to 6 decimals (so 1234 × 0.01 is 12.34, not 12.340000000000002). */
const liabilityOf = (balance: number, pointValue: number | null) => (pointValue === null ? null : Number((balance * pointValue).toFixed(6)));

const actorKey = (a: Actor) => `${a.type}\u0000${a.id ?? ''}\u0000${a.name}`;

function addFlow(flow: PointsFlow, credited: number, debited: number): void {
  flow.credited += credited;
  flow.debited += debited;
}

/** The flows of one period, by type and by actor, as the groups of its days add up. */
interface PeriodFlows {
  byType: Map<string, PointsFlow>;
  byActor: Map<string, ActorFlow>;
}

function addGroup(flows: PeriodFlows, g: LedgerGroup): void {
  const [credited, debited] = [Number(g.credited), Number(g.debited)];
  const type = flows.byType.get(g.type) ?? { credited: 0, debited: 0 };
  flows.byType.set(g.type, type);
  addFlow(type, credited, debited);
  const actor: Actor = { type: g.actor_type as Actor['type'], id: g.actor_id === null ? null : Number(g.actor_id), name: g.actor_name };
  const key = actorKey(actor);
  const byActor = flows.byActor.get(key) ?? { actor, credited: 0, debited: 0 };
  flows.byActor.set(key, byActor);
  addFlow(byActor, credited, debited);
}

/** Folds the day groups into the periods, then chains the balances from the opening one. */
function foldPeriods(periods: PeriodBounds[], from: number, groups: LedgerGroup[], pointValue: number | null): ReportPeriod[] {
  const firstDay = periods.map((p) => Math.round((p.start - from) / DAY_MS));
  const periodOfDay = (day: number) => {
    let i = firstDay.length - 1;
    while (firstDay[i] > day) i--;
    return i;
  };
  const flows: PeriodFlows[] = periods.map(() => ({ byType: new Map(), byActor: new Map() }));
  let opening = 0;
  for (const g of groups) {
    if (Number(g.day) < 0) opening += Number(g.credited);
    else addGroup(flows[periodOfDay(Number(g.day))], g);
  }
  return periods.map((p, i) => {
    const { byType, byActor } = flows[i];
    const closing = opening + [...byType.values()].reduce((s, f) => s + f.credited + f.debited, 0);
    const period: ReportPeriod = {
      periodStart: iso(p.start),
      periodEnd: iso(p.end),
      openingBalance: opening,
      closingBalance: closing,
      byType: Object.fromEntries([...byType.entries()].sort(([a], [b]) => a.localeCompare(b))),
      byActor: [...byActor.values()].sort((a, b) => a.actor.name.localeCompare(b.actor.name) || actorKey(a.actor).localeCompare(actorKey(b.actor))),
      liability: liabilityOf(closing, pointValue),
    };
    opening = closing;
    return period;
  });
}

interface StoreFacts {
  pointValue: number | null;
  createdAt: number;
}

async function storeFacts(db: Kysely<DB>, storeId: number): Promise<StoreFacts> {
  const row = await db.selectFrom('stores').select(['settings', 'created_at']).where('id', '=', storeId).executeTakeFirst();
  let settings: unknown = {};
  try {
    settings = JSON.parse(row?.settings ?? '{}');
  } catch {
    // Settings are written by their own API; a report never fails on them.
  }
  return { pointValue: pointValueOf(settings), createdAt: Number(row?.created_at ?? 0) };
}

/** The cheaper opening sum, guessed from time: the side of `from` with less of the store's life has fewer rows. */
const cheaperOpening = (from: number, storeCreatedAt: number, now: number): OpeningSum => (now - from < from - storeCreatedAt ? 'after' : 'before');

/**
 * Points accounting from the ledger: for each period of [from, to) the balance outstanding at its
 * start and end, the points credited and debited by type and by actor, and the liability
 * (closing balance × the store's `pointValue` setting). Exact to the ledger: a range from quarter
 * hour to quarter hour (local days, weeks and months are) reads the write path's quarter-hour sums,
 * any other range the ledger's rows; one grouped query per report either way.
 *
 * @example pointsReport(db, 1, { from: '2026-01-01T00:00:00Z', to: '2027-01-01T00:00:00Z', interval: 'month' })
 * It can throw: ValidationError (a malformed instant, `to` not after `from`, too many periods).
 * `opts.opening` chooses how the opening balance is summed (see OpeningSum; by default the cheaper).
 * Needs: a read handle (no transaction; the one statement reads one snapshot).
 */
export async function pointsReport(db: Kysely<DB>, storeId: number, q: PointsReportQuery, opts: { opening?: OpeningSum } = {}): Promise<PointsReport> {
  const from = parseInstant(q.from, 'from');
  const to = parseInstant(q.to, 'to');
  const periods = reportPeriods(from, to, q.interval);
  const store = await storeFacts(db, storeId);
  const aligned = from % BUCKET_MS === 0 && to % BUCKET_MS === 0;
  const groups = aligned && !opts.opening
    ? await rollupGroups(db, storeId, from, to)
    : await ledgerGroups(db, storeId, from, to, opts.opening ?? cheaperOpening(from, store.createdAt, Date.now()));
  return { data: foldPeriods(periods, from, groups, store.pointValue), pointValue: store.pointValue };
}
