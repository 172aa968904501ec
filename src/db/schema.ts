import type { Generated, Insertable, Selectable } from 'kysely';
import type { Role } from '../domain/roles.js';

/**
 * Table types. Times are epoch milliseconds (bigint in PostgreSQL, integer in SQLite)
 * so that both dialects compare, index and compute them alike; flags are 0/1 integers.
 */
export interface StoresTable {
  id: Generated<number>;
  name: string;
  storefront_secret: string;
  settings: string;
  /** none, per_credit or inactivity (columns, not settings JSON: the write path reads them in SQL). */
  expiry_mode: Generated<string>;
  expiry_days: number | null;
  created_at: number;
}

export interface ApiKeysTable {
  id: Generated<number>;
  store_id: number;
  name: string;
  key_prefix: string;
  key_hash: string;
  created_at: number;
  revoked_at: number | null;
  /** null: the key acts as admin. */
  role: Role | null;
}

export interface UsersTable {
  id: Generated<number>;
  store_id: number;
  email: string;
  name: string;
  password_hash: string;
  role: Role;
  created_at: number;
  active: Generated<number>;
}

export interface SessionsTable {
  token_hash: string;
  store_id: number;
  user_id: number;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
}

export interface LoginFailuresTable {
  /** `account:<email>` or `address:<ip>`. */
  subject: string;
  at: number;
}

export interface TiersTable {
  id: Generated<number>;
  store_id: number;
  name: string;
  threshold: number;
  entry_reward_points: number | null;
  entry_reward_id: number | null;
  retired_at: number | null;
  created_at: number;
}

export interface RewardsTable {
  id: Generated<number>;
  store_id: number;
  name: string;
  points_cost: number;
  kind: string;
  value: number | null;
  active: Generated<number>;
  created_at: number;
}

export interface CouponsTable {
  id: Generated<number>;
  store_id: number;
  customer_id: number;
  reward_id: number;
  code: string;
  /** redemption (points deducted), free (given by staff), tier_entry (a tier's entry reward). */
  source: string;
  transaction_id: number | null;
  active: Generated<number>;
  disabled_at: number | null;
  created_at: number;
}

export interface TierEntriesTable {
  store_id: number;
  customer_id: number;
  tier_id: number;
  reward_pending: Generated<number>;
  created_at: number;
}

export interface TierHistoryTable {
  id: Generated<number>;
  store_id: number;
  customer_id: number;
  from_tier_id: number | null;
  to_tier_id: number | null;
  manual: number;
  reason: string | null;
  actor_type: string;
  actor_id: number | null;
  actor_name: string;
  job_id: number | null;
  created_at: number;
}

export interface PointLotsTable {
  id: Generated<number>;
  store_id: number;
  customer_id: number;
  transaction_id: number | null;
  points: number;
  remaining: number;
  /** An explicit expiry given with the credit; otherwise the store's rule applies. */
  expires_at: number | null;
  created_at: number;
}

export interface ExpiryNoticesTable {
  store_id: number;
  customer_id: number;
  expires_on: number;
  points: number;
  created_at: number;
}

export interface LedgerRollupTable {
  store_id: number;
  bucket: number;
  type: string;
  actor_type: string;
  actor_id: number;
  actor_name: string;
  shard: number;
  credited: number;
  debited: number;
  rows: number;
}

export interface PendingCreditsTable {
  id: Generated<number>;
  store_id: number;
  customer_id: number;
  transaction_id: number;
  points: number;
  affects_tier: number;
  visible_to_customer: number;
  reason: string;
  customer_message: string | null;
  expires_at: number | null;
  available_at: number;
  status: 'pending' | 'matured' | 'cancelled';
  settled_transaction_id: number | null;
  created_at: number;
}

export interface CustomersTable {
  id: Generated<number>;
  store_id: number;
  external_id: string | null;
  email: string | null;
  first_name: string | null;
  last_name: string | null;
  /** lower("first last"), for prefix search. */
  name_norm: string | null;
  /** lower(last), for prefix search on the family name. */
  last_name_norm: string | null;
  balance: Generated<number>;
  lifetime_points: Generated<number>;
  pending_points: Generated<number>;
  tier_id: number | null;
  tier_manual: Generated<number>;
  tier_changed_at: number | null;
  last_activity_at: number | null;
  created_at: number;
}

export interface TransactionsTable {
  id: Generated<number>;
  store_id: number;
  customer_id: number;
  type: string;
  points: number;
  tier_points: number;
  balance_after: number;
  reason: string;
  customer_message: string | null;
  visible_to_customer: number;
  actor_type: string;
  actor_id: number | null;
  actor_name: string;
  job_id: number | null;
  reverses_id: number | null;
  reference: string | null;
  idempotency_key: string | null;
  created_at: number;
  /** The file line an import job's row came from (null for every other row). */
  job_line: number | null;
}

export interface IdempotencyKeysTable {
  store_id: number;
  key: string;
  request_hash: string;
  status_code: number;
  response_body: string;
  created_at: number;
}

export interface JobsTable {
  id: Generated<number>;
  store_id: number;
  kind: string;
  status: string;
  /** JSON: what the job does (selection, points, reason, …). */
  params: string;
  actor_type: string;
  actor_id: number | null;
  actor_name: string;
  total: Generated<number>;
  processed: Generated<number>;
  succeeded: Generated<number>;
  skipped: Generated<number>;
  failed: Generated<number>;
  total_points: Generated<number>;
  /** Keyset position: the last customer id (bulk) or original transaction id (revert) done. */
  cursor: Generated<number>;
  /** Customers with a higher id were created after the job was requested and are not selected. */
  snapshot_max_id: Generated<number>;
  reverts_job_id: number | null;
  cancel_requested: Generated<number>;
  /** JSON: the kind's own progress between chunks (phase, position), or null before the first chunk. */
  state: string | null;
  worker: string | null;
  heartbeat_at: number | null;
  attempts: Generated<number>;
  error: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
}

export interface JobTargetsTable {
  job_id: number;
  customer_id: number;
}

/** A job's large inputs (a listed selection's ids), read only by the worker that starts the job. */
export interface JobInputsTable {
  job_id: number;
  data: string;
}

export interface JobErrorsTable {
  id: Generated<number>;
  job_id: number;
  store_id: number;
  customer_id: number | null;
  line: number | null;
  column_name: string | null;
  code: string;
  message: string;
  created_at: number;
}

/** An import upload's rows while they are validated and applied (see migration 0005). */
export interface ImportRowsTable {
  id: Generated<number>;
  job_id: number;
  store_id: number;
  line: number;
  ref_id: number | null;
  external_id: string | null;
  email: string | null;
  customer_id: number | null;
  points: number;
  tier_points: number | null;
  type: string | null;
  reason: string | null;
  customer_message: string | null;
  reference: string | null;
  at: number | null;
  last_activity_at: number | null;
  first_name: string | null;
  last_name: string | null;
  /** When the row's credit becomes spendable, if that was in the future at upload (a pending credit). */
  available_at: number | null;
  /** The explicit expiry of the row's credit. */
  expires_at: number | null;
  error: string | null;
  seq: number | null;
  leader: number | null;
  since: number | null;
  email_ok: number | null;
}

export interface OutboxTable {
  id: Generated<number>;
  store_id: number;
  event_type: string;
  payload: string;
  created_at: number;
  /** When the dispatcher turned it into deliveries and notifications (null: not yet). */
  fanned_out_at: number | null;
}

export interface WebhookEndpointsTable {
  id: Generated<number>;
  store_id: number;
  url: string;
  /** JSON array of event types. */
  events: string;
  /** `whsec_…`: kept (not hashed) because it signs every delivery. */
  secret: string;
  previous_secret: string | null;
  previous_secret_until: number | null;
  enabled: Generated<number>;
  disabled_reason: string | null;
  failing_since: number | null;
  created_at: number;
  updated_at: number;
}

export interface WebhookDeliveriesTable {
  id: Generated<number>;
  store_id: number;
  endpoint_id: number;
  event_id: string;
  event_type: string;
  /** The outbox payload: the event's data, or for transaction.batch the ledger range it stands for. */
  payload: string;
  event_created_at: number;
  status: 'pending' | 'succeeded' | 'failed';
  attempt: Generated<number>;
  next_attempt_at: number;
  lease_until: number | null;
  lease_owner: string | null;
  response_status: number | null;
  error: string | null;
  duration_ms: number | null;
  created_at: number;
  updated_at: number;
}

export interface NotificationsTable {
  id: Generated<number>;
  store_id: number;
  kind: string;
  to_address: string;
  subject: string;
  text_body: string;
  html_body: string;
  attempts: Generated<number>;
  next_attempt_at: number;
  lease_until: number | null;
  sent_at: number | null;
  error: string | null;
  created_at: number;
}

export interface DB {
  jobs: JobsTable;
  job_targets: JobTargetsTable;
  job_errors: JobErrorsTable;
  job_inputs: JobInputsTable;
  import_rows: ImportRowsTable;
  outbox: OutboxTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  notifications: NotificationsTable;
  stores: StoresTable;
  api_keys: ApiKeysTable;
  users: UsersTable;
  tiers: TiersTable;
  rewards: RewardsTable;
  coupons: CouponsTable;
  tier_entries: TierEntriesTable;
  tier_history: TierHistoryTable;
  point_lots: PointLotsTable;
  pending_credits: PendingCreditsTable;
  expiry_notices: ExpiryNoticesTable;
  ledger_rollup: LedgerRollupTable;
  customers: CustomersTable;
  transactions: TransactionsTable;
  idempotency_keys: IdempotencyKeysTable;
  sessions: SessionsTable;
  login_failures: LoginFailuresTable;
}

export type CustomerRow = Selectable<CustomersTable>;
export type TransactionRow = Selectable<TransactionsTable>;
export type NewTransactionRow = Insertable<TransactionsTable>;
export type StoreRow = Selectable<StoresTable>;
export type JobRow = Selectable<JobsTable>;
