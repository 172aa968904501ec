import { type Kysely, sql } from 'kysely';
import type { DB } from '../db/schema.js';
import { iso } from '../db/time.js';
import type { ExpiringPoints } from '../domain/rewards.js';
import { lotExpirySql } from './lots.js';

const DAY_MS = 86_400_000;

/** How far ahead customers and the storefront look for expiring points. */
export const EXPIRING_WINDOW_DAYS = 30;

/**
 * The points of one customer that expire from `now` to `days` days later, one entry per (UTC) day,
 * soonest first, `expiresAt` the earliest moment of that day at which some of them expire:
 *  - the open lots (what is left of each credit) whose expiry under the store's rule falls in the
 *    window — under per_credit every lot, under any rule a lot credited with an explicit expiry;
 *  - under `inactivity`, the balance left at the moment the customer has been inactive for
 *    `expiry_days` (since their last own activity, or since they joined), when that falls in the
 *    window — less the lots that expire on their own before it.
 * Read-only; an unknown customer (or another store's) has nothing expiring.
 *
 * @example await expiringPoints(db, storeId, 7, Date.now()) // [{ points: 120, expiresAt: '2026-12-20T09:30:00.000Z' }]
 */
export async function expiringPoints(
  db: Kysely<DB>,
  storeId: number,
  customerId: number,
  now: number,
  days = EXPIRING_WINDOW_DAYS,
): Promise<ExpiringPoints[]> {
  const until = now + days * DAY_MS;
  const { rows: lots } = await sql<{ expiry: number; remaining: number }>`
    SELECT x.expiry, x.remaining FROM (
      SELECT ${lotExpirySql()} AS expiry, l.remaining
      FROM point_lots l JOIN stores s ON s.id = l.store_id
      WHERE l.store_id = ${storeId} AND l.customer_id = ${customerId} AND l.remaining > 0) x
    WHERE x.expiry IS NOT NULL AND x.expiry <= ${until}
    ORDER BY x.expiry`.execute(db);
  const due = lots.map((l) => ({ at: Number(l.expiry), points: Number(l.remaining) }));
  const inactivity = await inactivityExpiry(db, storeId, customerId);
  const out = due.filter((l) => l.at >= now && (inactivity === undefined || l.at < inactivity.at));
  if (inactivity !== undefined && inactivity.at >= now && inactivity.at <= until) {
    // What the lots expiring on their own before that moment (even those past due, which the next
    // expiry run takes) leave of the balance.
    const before = due.filter((l) => l.at < inactivity.at).reduce((sum, l) => sum + l.points, 0);
    const left = inactivity.balance - before;
    if (left > 0) out.push({ at: inactivity.at, points: left });
  }
  return byDay(out);
}

/** Under the inactivity rule, when the customer's whole balance expires (undefined otherwise). */
async function inactivityExpiry(db: Kysely<DB>, storeId: number, customerId: number): Promise<{ at: number; balance: number } | undefined> {
  const row = await db
    .selectFrom('customers as c')
    .innerJoin('stores as s', 's.id', 'c.store_id')
    .select(['c.balance', 'c.last_activity_at', 'c.created_at', 's.expiry_mode', 's.expiry_days'])
    .where('c.store_id', '=', storeId)
    .where('c.id', '=', customerId)
    .executeTakeFirst();
  if (!row || row.expiry_mode !== 'inactivity' || row.expiry_days === null || Number(row.balance) <= 0) return undefined;
  const since = Number(row.last_activity_at ?? row.created_at);
  return { at: since + Number(row.expiry_days) * DAY_MS, balance: Number(row.balance) };
}

function byDay(entries: { at: number; points: number }[]): ExpiringPoints[] {
  const days = new Map<number, { at: number; points: number }>();
  for (const e of entries) {
    const day = Math.floor(e.at / DAY_MS);
    const seen = days.get(day);
    if (seen) {
      seen.points += e.points;
      seen.at = Math.min(seen.at, e.at);
    } else days.set(day, { ...e });
  }
  return [...days.values()].sort((a, b) => a.at - b.at).map((d) => ({ points: d.points, expiresAt: iso(d.at) }));
}
