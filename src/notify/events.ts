/**
 * The events Tally sends out. Adding one (the tiers issue brings `customer.tier_changed` and
 * `customer.points_expiring`) is a name here and an `appendEvent` call where it happens.
 */
export const EVENT_TYPES = [
  'transaction.created',
  'transaction.batch',
  'customer.tier_changed',
  'customer.points_expiring',
  'job.completed',
  'job.failed',
  'webhook.disabled',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/** What one webhook POST carries. */
export interface WebhookEvent {
  id: string;
  type: EventType;
  createdAt: string;
  data: unknown;
}

/**
 * The subscriptions that receive an event of a type: job-written transactions reach endpoints
 * subscribed to `transaction.created` too (as batches), `transaction.batch` alone means job rows only.
 */
export function subscriptionsFor(type: string): string[] {
  return type === 'transaction.batch' ? ['transaction.batch', 'transaction.created'] : [type];
}

/** The outbox payload of a `transaction.batch` row: a range of one job's ledger rows, expanded at send time. */
export interface TransactionBatchRef {
  jobId: number;
  fromId: number;
  toId: number;
  count: number;
}

/** At most this many transactions go in one batch event. */
export const BATCH_MAX = 1000;
