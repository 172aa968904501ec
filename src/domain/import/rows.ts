import { EMAIL_MAX, EXTERNAL_ID_MAX, MAX_POINTS, MESSAGE_MAX, NAME_MAX, REASON_MAX, parseInstant } from '../validation.js';
import { type CreditDateField, creditDateProblem, isPending } from '../credit-dates.js';
import type { ColumnMap, ImportField } from './headers.js';

export type ImportType = 'add' | 'set' | 'history';

export type RowErrorCode =
  | 'customer_not_found'
  | 'missing_identifier'
  | 'invalid_points'
  | 'invalid_date'
  | 'invalid_value'
  | 'insufficient_points'
  | 'duplicate_row'
  | 'duplicate_reference'
  | 'customer_has_history';

/** One entry of an import's error report. `line` is the row a spreadsheet shows (header = 1). */
export interface RowError {
  line: number;
  column: string | null;
  code: RowErrorCode;
  message: string;
}

/** A record that passed the row rules: what the staging table keeps of it. */
export interface ImportRow {
  line: number;
  customerId: number | null;
  externalId: string | null;
  email: string | null;
  points: number;
  tierPoints: number | null;
  type: string | null;
  reason: string | null;
  customerMessage: string | null;
  reference: string | null;
  createdAt: number | null;
  firstName: string | null;
  lastName: string | null;
  lastActivityAt: number | null;
  /** When the credit becomes spendable — kept only when in the future at upload: the row is a pending credit. */
  availableAt: number | null;
  /** The explicit expiry of the credit's points. */
  expiresAt: number | null;
}

export type RowResult = { ok: true; row: ImportRow } | { ok: false; errors: RowError[] };

const TALLY_TYPES = new Set(['adjustment', 'reset', 'import', 'redemption', 'reward', 'expiry', 'reversal', 'tier_reward']);
const INTEGER_RE = /^[+-]?\d{1,12}$/;
// Spreadsheets write 1,234 or 1 234; a decimal point is never a whole number of points.
const GROUPED_RE = /^[+-]?\d{1,3}([, \u00a0]\d{3})+$/;

/** The header a column error names: the file's own spelling, or the canonical field when it is missing. */
function column(map: ColumnMap, field: ImportField): string {
  return map[field]?.header ?? field;
}

/**
 * Checks one record against the row rules of an import type: an identifier, whole points within
 * ±100,000,000 (a balance for `set`: not negative), times with a zone, text within its limits,
 * a credit's dates (add/history) by the rule single adjustments follow (src/domain/credit-dates.ts)
 * at `now`, the upload's moment. Rules that need the database (unknown customer, duplicates,
 * going negative) run set-based on the staging table afterwards.
 */
export function checkRecord(type: ImportType, map: ColumnMap, record: readonly string[], line: number, now = Date.now()): RowResult {
  const errors: RowError[] = [];
  const get = (field: ImportField): string | null => {
    const at = map[field];
    if (!at) return null;
    const v = (record[at.index] ?? '').trim();
    return v === '' ? null : v;
  };
  const fail = (field: ImportField, code: RowErrorCode, message: string) => errors.push({ line, column: column(map, field), code, message });
  const text = (field: ImportField, max: number): string | null => {
    const v = get(field);
    // A string's length (UTF-16 units) is never below its count of characters: spread only a long one.
    if (v !== null && v.length > max && [...v].length > max) fail(field, 'invalid_value', `${column(map, field)} is longer than ${max} characters`);
    return v;
  };

  const rawId = get('customerId');
  let customerId: number | null = null;
  if (rawId !== null && type !== 'history') {
    if (/^\d{1,15}$/.test(rawId) && Number(rawId) > 0) customerId = Number(rawId);
    else fail('customerId', 'missing_identifier', `${column(map, 'customerId')} "${rawId.slice(0, 40)}" is not a customer id`);
  }
  const externalId = text('externalId', EXTERNAL_ID_MAX);
  const rawEmail = text('email', EMAIL_MAX);
  const email = rawEmail?.toLowerCase() ?? null;
  if (customerId === null && externalId === null && email === null && errors.length === 0) {
    const names = type === 'history' ? 'externalId or email' : 'customerId, externalId or email';
    errors.push({ line, column: null, code: 'missing_identifier', message: `The row names no customer (${names})` });
  }

  const points = integer(get('points'), (m) => fail('points', 'invalid_points', m), map, 'points', type !== 'history' || map.points !== undefined);
  if (points !== null && type === 'set' && points < 0) fail('points', 'invalid_points', 'A balance cannot be negative');
  if (points === 0 && type === 'add') fail('points', 'invalid_points', 'points must not be zero');
  const tierPoints = integer(get('tierPoints'), (m) => fail('tierPoints', 'invalid_points', m), map, 'tierPoints', false);
  const instant = (field: ImportField): number | null => {
    const v = get(field);
    if (v === null) return null;
    try {
      return parseInstant(v, field);
    } catch {
      fail(field, 'invalid_date', `${column(map, field)} "${v.slice(0, 40)}" is not a date-time with a zone, e.g. 2025-03-01T12:00:00Z`);
      return null;
    }
  };
  const createdAt = type === 'history' ? instant('createdAt') : null;
  if (type === 'history' && createdAt === null && get('createdAt') === null) {
    fail('createdAt', 'invalid_date', `${column(map, 'createdAt')} is empty; a history row needs its original date-time`);
  }
  const lastActivityAt = type === 'history' ? instant('lastActivityAt') : null;
  const dates = creditDates(type, instant, get, fail, map, points, now);
  if (type === 'history' && dates.availableAt !== null && tierPoints !== null && tierPoints !== 0 && tierPoints !== points) {
    fail('tierPoints', 'invalid_value', `A pending credit counts all its points for the tier or none: ${column(map, 'tierPoints')} must be 0 or ${points}`);
  }
  const rawType = get('type');
  const row: ImportRow = {
    line,
    customerId,
    externalId,
    email,
    points: points ?? 0,
    tierPoints,
    type: rawType !== null && TALLY_TYPES.has(rawType.toLowerCase()) ? rawType.toLowerCase() : null,
    reason: text('reason', REASON_MAX),
    customerMessage: text('customerMessage', MESSAGE_MAX),
    reference: text('reference', EXTERNAL_ID_MAX),
    createdAt,
    firstName: text('firstName', NAME_MAX),
    lastName: text('lastName', NAME_MAX),
    lastActivityAt,
    ...dates,
  };
  return errors.length > 0 ? { ok: false, errors } : { ok: true, row };
}

/**
 * A row's availableAt and expiresAt (add and history: the credit's dates; set: none), checked by
 * the credit-date rule with the file's column names; an availableAt already past is just applied.
 */
function creditDates(
  type: ImportType,
  instant: (field: ImportField) => number | null,
  get: (field: ImportField) => string | null,
  fail: (field: ImportField, code: RowErrorCode, message: string) => void,
  map: ColumnMap,
  points: number | null,
  now: number,
): { availableAt: number | null; expiresAt: number | null } {
  const none = { availableAt: null, expiresAt: null };
  if (type === 'set') {
    for (const field of ['availableAt', 'expiresAt'] as const) {
      if (get(field) !== null) fail(field, 'invalid_date', `${column(map, field)} applies to add and history imports, not to set`);
    }
    return none;
  }
  const dates = { availableAt: instant('availableAt'), expiresAt: instant('expiresAt') };
  if (points === null) return none;
  const names: Record<CreditDateField, string> = { availableAt: column(map, 'availableAt'), expiresAt: column(map, 'expiresAt') };
  const problem = creditDateProblem(points, dates, now, names);
  if (problem) {
    fail(problem.field, 'invalid_date', problem.message);
    return none;
  }
  return { availableAt: isPending(dates, now) ? dates.availableAt : null, expiresAt: dates.expiresAt };
}

function integer(raw: string | null, fail: (m: string) => void, map: ColumnMap, field: ImportField, required: boolean): number | null {
  if (raw === null) {
    if (required) fail(`${map[field]?.header ?? field} is empty`);
    return null;
  }
  const compact = GROUPED_RE.test(raw) ? raw.replace(/[, \u00a0]/g, '') : raw;
  if (!INTEGER_RE.test(compact)) {
    fail(`"${raw.slice(0, 40)}" is not a whole number`);
    return null;
  }
  const n = Number(compact);
  if (Math.abs(n) > MAX_POINTS) {
    fail(`${n} is outside ±${MAX_POINTS}`);
    return null;
  }
  return n;
}

/** Whether a file's header can serve an import type at all (a file-level refusal, not row errors). */
export function missingColumns(type: ImportType, map: ColumnMap): string[] {
  const missing: string[] = [];
  const ids: ImportField[] = type === 'history' ? ['externalId', 'email'] : ['customerId', 'externalId', 'email'];
  if (!ids.some((f) => map[f])) missing.push(ids.join(' or '));
  if (!map.points) missing.push('points');
  if (type === 'history' && !map.createdAt) missing.push('createdAt');
  return missing;
}
