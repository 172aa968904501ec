/** Who made a change. Recorded on every ledger row. */
export interface Actor {
  type: 'user' | 'api_key' | 'system';
  id: number | null;
  name: string;
}

export const SYSTEM_ACTOR: Actor = { type: 'system', id: null, name: 'system' };

export type TransactionType =
  | 'adjustment'
  | 'reset'
  | 'import'
  | 'redemption'
  | 'reward'
  | 'expiry'
  | 'reversal'
  | 'tier_reward'
  /** A credit that becomes spendable later: a zero-point row recording the request. */
  | 'pending'
  /** A pending credit cancelled before it matured: a zero-point row reversing the `pending` one. */
  | 'pending_cancelled';

export const TRANSACTION_TYPES: readonly TransactionType[] = [
  'adjustment',
  'reset',
  'import',
  'redemption',
  'reward',
  'expiry',
  'reversal',
  'tier_reward',
  'pending',
  'pending_cancelled',
];

export interface Transaction {
  id: number;
  customerId: number;
  type: TransactionType;
  points: number;
  tierPoints: number;
  balanceAfter: number;
  reason: string;
  customerMessage: string | null;
  visibleToCustomer: boolean;
  actor: Actor;
  jobId: number | null;
  reversesId: number | null;
  reference: string | null;
  createdAt: string;
}

export interface TierRef {
  id: number;
  name: string;
}

export interface Customer {
  id: number;
  externalId: string | null;
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  balance: number;
  lifetimePoints: number;
  pendingPoints: number;
  tier: TierRef | null;
  tierManual: boolean;
  tierChangedAt: string | null;
  lastActivityAt: string | null;
  createdAt: string;
}

export interface NewCustomer {
  externalId?: string;
  email?: string;
  firstName?: string;
  lastName?: string;
}

/** A single manual adjustment of one customer's balance. */
export interface AdjustPoints {
  customerId: number;
  points: number;
  reason: string;
  customerMessage?: string | null;
  /** Whether lifetime (tier-qualifying) points move too. Default true. */
  affectsTier?: boolean;
  visibleToCustomer?: boolean;
  /** When set, the adjustment applies only if the balance still equals this. */
  expectedBalance?: number;
  /** E-mail the customer the customer-facing message (never the internal reason). Default false. */
  notifyCustomer?: boolean;
  /** ISO time: the credit's points expire then, whatever the store's expiry rule (credits only). */
  expiresAt?: string;
  /** ISO time in the future: the credit is pending until then (credits only). */
  availableAt?: string;
}

/** A credit waiting to become spendable. */
export interface PendingCredit {
  transactionId: number;
  points: number;
  availableAt: string;
  status: 'pending' | 'matured' | 'cancelled';
  reason: string;
  customerMessage: string | null;
  createdAt: string;
}

export interface ResetPoints {
  customerId: number;
  reason: string;
  customerMessage?: string | null;
}

export interface ReverseTransaction {
  transactionId: number;
  reason: string;
  customerMessage?: string | null;
}

/** The outcome of any single-customer write. */
export interface LedgerWrite {
  transaction: Transaction;
  customer: Customer;
}

/** The filter that selects customers, the same for lists, exports and bulk selections. */
export interface CustomerFilter {
  externalId?: string;
  email?: string;
  search?: string;
  tierId?: number;
  minBalance?: number;
  maxBalance?: number;
  lastActivityBefore?: string;
  lastActivityAfter?: string;
  tierChangedAfter?: string;
}

export interface TransactionFilter {
  customerId?: number;
  type?: TransactionType;
  jobId?: number;
  from?: string;
  to?: string;
}

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export interface PageRequest {
  limit: number;
  /** Exclusive upper bound on id (lists are newest first). */
  beforeId?: number;
}

/** What a customer list can be sorted by: `createdAt` is the default, newest first. */
export const CUSTOMER_SORT_KEYS = ['createdAt', 'name', 'email', 'balance', 'lifetimePoints', 'lastActivityAt'] as const;
export type CustomerSortKey = (typeof CUSTOMER_SORT_KEYS)[number];

export interface CustomerSort {
  by: CustomerSortKey;
  order: 'asc' | 'desc';
}

/**
 * A page of a customer list in another order than newest first: `after` is the last row of the
 * previous page, its sort value (null for the customers without one, who come last in either
 * order) and its id.
 */
export interface SortedPageRequest {
  limit: number;
  sort: CustomerSort;
  after?: { value: string | number | null; id: number };
}

export interface BalanceAt {
  customerId: number;
  at: string;
  balance: number;
  lifetimePoints: number;
}
