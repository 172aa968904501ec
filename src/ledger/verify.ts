import { type Kysely, sql } from 'kysely';
import type { DB } from '../db/schema.js';

export interface Violation {
  check: 'balance_matches_ledger' | 'lifetime_matches_ledger' | 'running_balance' | 'job_customer_once' | 'store_scope' | 'reversal_mirrors' | 'lots_match_balance' | 'pending_matches_credits' | 'rollup_matches_ledger';
  storeId: number;
  customerId?: number;
  transactionId?: number;
  message: string;
}

export interface VerifyReport {
  ok: boolean;
  stores: number;
  customers: number;
  transactions: number;
  violations: Violation[];
}

const LIMIT = 100;

/**
 * Checks the ledger invariants of a store (or every store): balance = Σ points and
 * lifetime = Σ tier_points per customer; each row's balance_after is the running sum and never
 * negative; a customer at most once per job (an import job: a file line at most once); rows in the customer's own store; a reversal mirrors
 * the row it reverses; what is left of the customer's point lots sums to the balance; the cached
 * pending points sum the pending credits; the reports' quarter-hour sums equal the ledger's. Read-only.
 */
export async function verifyLedger(db: Kysely<DB>, storeId?: number): Promise<VerifyReport> {
  const stores = storeId === undefined
    ? (await db.selectFrom('stores').select('id').orderBy('id').execute()).map((s) => s.id)
    : [storeId];
  const report: VerifyReport = { ok: true, stores: stores.length, customers: 0, transactions: 0, violations: [] };
  for (const id of stores) {
    const counts = await sql<{ customers: number; transactions: number }>`
      SELECT (SELECT count(*) FROM customers WHERE store_id = ${id}) AS customers,
             (SELECT count(*) FROM transactions WHERE store_id = ${id}) AS transactions`.execute(db);
    report.customers += Number(counts.rows[0].customers);
    report.transactions += Number(counts.rows[0].transactions);
    report.violations.push(...(await verifyStore(db, id)));
  }
  report.ok = report.violations.length === 0;
  return report;
}

async function verifyStore(db: Kysely<DB>, storeId: number): Promise<Violation[]> {
  const out: Violation[] = [];
  const totals = await sql<{ id: number; balance: number; lifetime_points: number; p: number; tp: number }>`
    SELECT c.id, c.balance, c.lifetime_points, coalesce(s.p, 0) AS p, coalesce(s.tp, 0) AS tp
    FROM customers c
    LEFT JOIN (SELECT customer_id, sum(points) AS p, sum(tier_points) AS tp
               FROM transactions WHERE store_id = ${storeId} GROUP BY customer_id) s ON s.customer_id = c.id
    WHERE c.store_id = ${storeId} AND (c.balance <> coalesce(s.p, 0) OR c.lifetime_points <> coalesce(s.tp, 0))
    LIMIT ${LIMIT}`.execute(db);
  for (const r of totals.rows) {
    if (Number(r.balance) !== Number(r.p)) {
      out.push({ check: 'balance_matches_ledger', storeId, customerId: r.id, message: `balance ${r.balance} but the ledger sums to ${r.p}` });
    }
    if (Number(r.lifetime_points) !== Number(r.tp)) {
      out.push({ check: 'lifetime_matches_ledger', storeId, customerId: r.id, message: `lifetime ${r.lifetime_points} but the ledger sums to ${r.tp}` });
    }
  }
  const running = await sql<{ id: number; customer_id: number; balance_after: number; running: number }>`
    SELECT id, customer_id, balance_after, running FROM (
      SELECT id, customer_id, balance_after,
             sum(points) OVER (PARTITION BY customer_id ORDER BY id ROWS UNBOUNDED PRECEDING) AS running
      FROM transactions WHERE store_id = ${storeId}) x
    WHERE balance_after <> running OR balance_after < 0
    LIMIT ${LIMIT}`.execute(db);
  for (const r of running.rows) {
    out.push({
      check: 'running_balance',
      storeId,
      customerId: r.customer_id,
      transactionId: r.id,
      message: `balance_after ${r.balance_after} but the running sum is ${r.running}`,
    });
  }
  const dupes = await sql<{ job_id: number; customer_id: number }>`
    SELECT job_id, customer_id FROM transactions WHERE store_id = ${storeId} AND job_id IS NOT NULL AND job_line IS NULL
    GROUP BY job_id, customer_id HAVING count(*) > 1
    UNION ALL
    SELECT job_id, min(customer_id) FROM transactions WHERE store_id = ${storeId} AND job_line IS NOT NULL
    GROUP BY job_id, job_line HAVING count(*) > 1 LIMIT ${LIMIT}`.execute(db);
  for (const r of dupes.rows) {
    out.push({ check: 'job_customer_once', storeId, customerId: r.customer_id, message: `job ${r.job_id} wrote more than one row` });
  }
  const scope = await sql<{ id: number }>`
    SELECT t.id FROM transactions t LEFT JOIN customers c ON c.id = t.customer_id
    WHERE t.store_id = ${storeId} AND (c.id IS NULL OR c.store_id <> t.store_id) LIMIT ${LIMIT}`.execute(db);
  for (const r of scope.rows) {
    out.push({ check: 'store_scope', storeId, transactionId: r.id, message: 'row belongs to no customer of its store' });
  }
  const mirrors = await sql<{ id: number }>`
    SELECT r.id FROM transactions r JOIN transactions o ON o.id = r.reverses_id
    WHERE r.store_id = ${storeId} AND (o.customer_id <> r.customer_id OR o.points <> -r.points OR o.store_id <> r.store_id)
    LIMIT ${LIMIT}`.execute(db);
  for (const r of mirrors.rows) {
    out.push({ check: 'reversal_mirrors', storeId, transactionId: r.id, message: 'reversal does not mirror its original' });
  }
  const lots = await sql<{ id: number; balance: number; lots: number }>`
    SELECT c.id, c.balance, coalesce(l.r, 0) AS lots FROM customers c
    LEFT JOIN (SELECT customer_id, sum(remaining) AS r FROM point_lots WHERE store_id = ${storeId} AND remaining > 0 GROUP BY customer_id) l
      ON l.customer_id = c.id
    WHERE c.store_id = ${storeId} AND c.balance <> coalesce(l.r, 0) LIMIT ${LIMIT}`.execute(db);
  for (const r of lots.rows) {
    out.push({ check: 'lots_match_balance', storeId, customerId: r.id, message: `balance ${r.balance} but the open point lots hold ${r.lots}` });
  }
  const pending = await sql<{ id: number; pending_points: number; p: number }>`
    SELECT c.id, c.pending_points, coalesce(p.p, 0) AS p FROM customers c
    LEFT JOIN (SELECT customer_id, sum(points) AS p FROM pending_credits WHERE store_id = ${storeId} AND status = 'pending' GROUP BY customer_id) p
      ON p.customer_id = c.id
    WHERE c.store_id = ${storeId} AND c.pending_points <> coalesce(p.p, 0) LIMIT ${LIMIT}`.execute(db);
  for (const r of pending.rows) {
    out.push({ check: 'pending_matches_credits', storeId, customerId: r.id, message: `pendingPoints ${r.pending_points} but pending credits sum to ${r.p}` });
  }
  const rollup = await sql<{ bucket: number; type: string; l: number; r: number; ln: number; rn: number }>`
    SELECT coalesce(l.bucket, r.bucket) AS bucket, coalesce(l.type, r.type) AS type, l.p AS l, r.p AS r, l.n AS ln, r.n AS rn
    FROM (SELECT (created_at / 900000) * 900000 AS bucket, type, sum(points) AS p, count(*) AS n FROM transactions
          WHERE store_id = ${storeId} GROUP BY (created_at / 900000) * 900000, type) l
    FULL OUTER JOIN (SELECT bucket, type, sum(credited + debited) AS p, sum(rows) AS n FROM ledger_rollup
          WHERE store_id = ${storeId} GROUP BY bucket, type) r ON r.bucket = l.bucket AND r.type = l.type
    WHERE l.p IS NULL OR r.p IS NULL OR l.p <> r.p OR l.n <> r.n LIMIT ${LIMIT}`.execute(db);
  for (const r of rollup.rows) {
    out.push({ check: 'rollup_matches_ledger', storeId, message: `quarter hour ${new Date(Number(r.bucket)).toISOString()} ${r.type}: ledger ${r.l ?? 0} in ${r.ln ?? 0} rows, sums ${r.r ?? 0} in ${r.rn ?? 0}` });
  }
  return out;
}
