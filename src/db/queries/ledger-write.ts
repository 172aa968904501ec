import type { Trx } from '../committer.js';
import { CompiledQuery } from 'kysely';
import { dialectOf } from '../dialect-of.js';
import { PREPARED_SQL } from '../prepared.js';
import type { TransactionRow } from '../schema.js';
import { applyToCustomer } from './customers.js';
import { insertTransaction, LEDGER_COLUMNS } from './transactions.js';

export interface TotalsChange {
  points: number;
  tierPoints: number;
  activityAt: number | null;
}

const LEDGER_TYPES: Record<(typeof LEDGER_COLUMNS)[number], string> = {
  store_id: 'bigint',
  customer_id: 'bigint',
  type: 'text',
  points: 'bigint',
  tier_points: 'bigint',
  balance_after: 'bigint',
  reason: 'text',
  customer_message: 'text',
  visible_to_customer: 'integer',
  actor_type: 'text',
  actor_id: 'bigint',
  actor_name: 'text',
  job_id: 'bigint',
  reverses_id: 'bigint',
  reference: 'text',
  idempotency_key: 'text',
  created_at: 'bigint',
};

/**
 * PostgreSQL: the conditional UPDATE and the ledger INSERT as one statement (one round trip);
 * the row is written only if the guarded UPDATE matched.
 */
const APPLY_AND_APPEND_PG = `WITH applied AS (
  UPDATE customers SET balance = balance + $1, lifetime_points = lifetime_points + $2,
                       last_activity_at = coalesce($3::bigint, last_activity_at)
  WHERE store_id = $4 AND id = $5 AND balance + $1 >= 0 RETURNING id)
INSERT INTO transactions (${LEDGER_COLUMNS.join(', ')})
SELECT ${LEDGER_COLUMNS.map((c, i) => `$${i + 6}::${LEDGER_TYPES[c]}`).join(', ')} FROM applied RETURNING id`;
PREPARED_SQL.add(APPLY_AND_APPEND_PG);

/**
 * Moves a customer's cached totals by a planned change — guarded: `balance + points >= 0` — and
 * appends its ledger row, or does neither (returns undefined) if the guard fails.
 *
 * Needs: a transaction in which the customer was read with lockCustomer.
 */
export async function applyAndAppend(
  trx: Trx,
  change: TotalsChange,
  row: Omit<TransactionRow, 'id'>,
): Promise<TransactionRow | undefined> {
  if (dialectOf(trx) === 'postgres') {
    const params = [change.points, change.tierPoints, change.activityAt, row.store_id, row.customer_id, ...LEDGER_COLUMNS.map((c) => row[c])];
    const result = await trx.executeQuery<{ id: number }>(CompiledQuery.raw(APPLY_AND_APPEND_PG, params));
    return result.rows[0] ? { ...row, id: result.rows[0].id } : undefined;
  }
  if (!(await applyToCustomer(trx, row.store_id, row.customer_id, change))) return undefined;
  return insertTransaction(trx, row);
}
