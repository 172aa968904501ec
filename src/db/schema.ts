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

export interface OutboxTable {
  id: Generated<number>;
  store_id: number;
  event_type: string;
  payload: string;
  created_at: number;
}

export interface DB {
  jobs: JobsTable;
  job_targets: JobTargetsTable;
  job_errors: JobErrorsTable;
  outbox: OutboxTable;
  stores: StoresTable;
  api_keys: ApiKeysTable;
  users: UsersTable;
  tiers: TiersTable;
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
