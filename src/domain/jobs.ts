import { ConfirmationRequiredError, ValidationError } from './errors.js';
import type { CustomerFilter } from './types.js';
import { MESSAGE_MAX, optionalText, parseInstant, validPoints, validReason } from './validation.js';

export type JobKind = 'bulk_adjustment' | 'revert' | 'import' | 'expiry' | 'tier_evaluation';
export type JobStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
export const FINAL_STATUSES: ReadonlySet<JobStatus> = new Set(['completed', 'failed', 'cancelled']);

export const MAX_SELECTED_IDS = 100_000;
export const RESET_ALL_CONFIRMATION = 'RESET ALL CUSTOMERS';

export type Selection = { customerIds: number[] } | { filter: CustomerFilter } | { all: true };

/** A selection as a request gives it (exactly one of the three, checked by planBulk). */
export interface SelectionInput {
  customerIds?: number[];
  filter?: CustomerFilter;
  all?: boolean;
}

/** A request to adjust or reset many customers at once. */
export interface BulkAdjustment {
  selection: SelectionInput;
  type: 'adjust' | 'reset';
  points?: number;
  reason: string;
  customerMessage?: string | null;
  affectsTier?: boolean;
  dryRun?: boolean;
  confirmation?: string;
}

/** A BulkAdjustment after validation: what a job stores and a worker executes. */
export interface BulkPlan {
  selection: Selection;
  type: 'adjust' | 'reset';
  /** The change for `adjust`; unused for `reset` (each customer loses their own balance). */
  points: number;
  reason: string;
  customerMessage: string | null;
  affectsTier: boolean;
}

export interface RevertPlan {
  jobId: number;
  reason: string;
  customerMessage: string | null;
}

export interface BulkPreview {
  customers: number;
  totalPoints: number;
  rejected: number;
  tierUps: number;
  tierDowns: number;
}

export interface Job {
  id: number;
  kind: JobKind;
  status: JobStatus;
  total: number;
  processed: number;
  succeeded: number;
  skipped: number;
  failed: number;
  totalPoints: number;
  cancelRequested: boolean;
  revertsJobId: number | null;
  params: Record<string, unknown>;
  actor: { type: string; id: number | null; name: string };
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  error: string | null;
}

/**
 * Validates a bulk request into a plan. It can throw: ValidationError,
 * ConfirmationRequiredError (resetting every customer needs the typed phrase).
 */
export function planBulk(cmd: BulkAdjustment): BulkPlan {
  const reason = validReason(cmd.reason);
  const customerMessage = optionalText(cmd.customerMessage, 'customerMessage', MESSAGE_MAX);
  const selection = validSelection(cmd.selection);
  if (cmd.type === 'reset') {
    if (cmd.points !== undefined) throw new ValidationError('A reset takes no points', 'points');
    if ('all' in selection && cmd.confirmation !== RESET_ALL_CONFIRMATION && !cmd.dryRun) {
      throw new ConfirmationRequiredError(`Resetting every customer needs confirmation: "${RESET_ALL_CONFIRMATION}"`);
    }
    return { selection, type: 'reset', points: 0, reason, customerMessage, affectsTier: false };
  }
  if (cmd.type !== 'adjust') throw new ValidationError('type must be adjust or reset', 'type');
  const points = validPoints(cmd.points);
  return { selection, type: 'adjust', points, reason, customerMessage, affectsTier: cmd.affectsTier ?? true };
}

function validSelection(s: SelectionInput): Selection {
  const keys = Object.keys(s ?? {});
  if (keys.length !== 1) throw new ValidationError('selection needs exactly one of customerIds, filter, all', 'selection');
  if (s.customerIds !== undefined) {
    const ids = s.customerIds;
    if (ids.length === 0) throw new ValidationError('customerIds is empty', 'selection.customerIds');
    if (ids.length > MAX_SELECTED_IDS) {
      throw new ValidationError(`At most ${MAX_SELECTED_IDS} customerIds in one request; use a filter`, 'selection.customerIds');
    }
    return { customerIds: [...new Set(ids)].sort((a, b) => a - b) };
  }
  if (s.filter !== undefined) {
    const f = s.filter;
    for (const field of ['lastActivityBefore', 'lastActivityAfter', 'tierChangedAfter'] as const) {
      if (f[field] !== undefined) parseInstant(f[field], `selection.filter.${field}`);
    }
    if (f.minBalance !== undefined && f.maxBalance !== undefined && f.minBalance > f.maxBalance) {
      throw new ValidationError('minBalance is above maxBalance', 'selection.filter.minBalance');
    }
    // A filter without a condition selects everyone, and is treated exactly like `all`
    // (a reset of it needs the confirmation phrase too).
    const conditions = Object.entries(f).filter(([k, v]) => v !== undefined && !(k === 'search' && String(v).trim() === ''));
    return conditions.length === 0 ? { all: true } : { filter: f };
  }
  if (s.all !== true) throw new ValidationError('selection.all must be true', 'selection.all');
  return { all: true };
}
