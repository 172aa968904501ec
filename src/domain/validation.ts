import { ValidationError } from './errors.js';

export const MAX_POINTS = 100_000_000;
export const REASON_MIN = 3;
export const REASON_MAX = 500;
export const MESSAGE_MAX = 500;
export const NAME_MAX = 200;
export const EXTERNAL_ID_MAX = 255;
export const EMAIL_MAX = 320;

/**
 * Refuses the NUL character: PostgreSQL cannot store it in text (SQLite can), so it would make
 * the same request succeed on one database and fail on the other.
 */
export function withoutNul(value: string, field: string): string {
  if (value.includes('\u0000')) throw new ValidationError(`${field} must not contain the NUL character`, field);
  return value;
}

/**
 * Characters as the contract counts them: Unicode code points, as JSON Schema's maxLength (ajv)
 * does, so "😀" is one character in the schema and in the domain (String.length says 2).
 */
export function codePoints(value: string): number {
  let n = 0;
  for (const _ of value) n++;
  return n;
}

/** Trims a required reason and checks it is 3–500 characters. */
export function validReason(reason: unknown, field = 'reason'): string {
  if (typeof reason !== 'string') throw new ValidationError(`${field} is required`, field);
  const trimmed = withoutNul(reason, field).trim();
  const length = codePoints(trimmed);
  if (length < REASON_MIN || length > REASON_MAX) {
    throw new ValidationError(
      `${field} must be ${REASON_MIN}–${REASON_MAX} characters after trimming (got ${length})`,
      field,
    );
  }
  return trimmed;
}

/** Trims an optional text; empty becomes null. */
export function optionalText(value: unknown, field: string, max: number): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new ValidationError(`${field} must be a string`, field);
  const trimmed = withoutNul(value, field).trim();
  if (trimmed.length === 0) return null;
  if (codePoints(trimmed) > max) {
    throw new ValidationError(`${field} must be at most ${max} characters (got ${codePoints(trimmed)})`, field);
  }
  return trimmed;
}

/** A non-zero whole number of points within ±100,000,000. */
export function validPoints(points: unknown, field = 'points'): number {
  if (typeof points !== 'number' || !Number.isInteger(points)) {
    throw new ValidationError(`${field} must be a whole number`, field);
  }
  if (points === 0) throw new ValidationError(`${field} must not be zero`, field);
  if (Math.abs(points) > MAX_POINTS) {
    throw new ValidationError(`${field} must be between -${MAX_POINTS} and ${MAX_POINTS}`, field);
  }
  return points;
}

const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Lower-cased, trimmed e-mail address, or null when absent. */
export function validEmail(value: unknown, field = 'email'): string | null {
  const email = optionalText(value, field, EMAIL_MAX);
  if (email === null) return null;
  if (!EMAIL_RE.test(email)) throw new ValidationError(`${field} is not a valid e-mail address`, field);
  return email.toLowerCase();
}

const INSTANT_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-](\d{2}):?(\d{2}))$/i;

/**
 * Parses an ISO 8601 instant into epoch milliseconds. It must carry a zone (`Z` or an offset:
 * without one, Date.parse reads the server's local time) and name a real moment (Date.parse
 * reads `2025-02-31` as 3 March).
 *
 * @example parseInstant('2025-03-01T12:00:00+01:00', 'from') === Date.UTC(2025, 2, 1, 11)
 * It can throw: ValidationError.
 */
export function parseInstant(value: string, field: string): number {
  // A file's dates repeat (every row of an import available on one day): each field's last answer is kept.
  const last = lastInstants.get(field);
  if (last !== undefined && value === last.value) return last.ms;
  const m = INSTANT_RE.exec(value);
  const invalid = () =>
    new ValidationError(`${field} must be an ISO 8601 date-time with a zone, e.g. 2025-03-01T12:00:00Z`, field);
  if (!m) throw invalid();
  // Checked field by field, without arrays or Dates: an import checks two dates a row (issue 13).
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) throw invalid();
  if (Number(m[4]) > 23 || Number(m[5]) > 59 || (m[6] !== undefined && Number(m[6]) > 59)) throw invalid();
  if (m[8] !== undefined && (Number(m[8]) > 23 || Number(m[9]) > 59)) throw invalid();
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw invalid();
  if (last === undefined) lastInstants.set(field, { value, ms });
  else {
    last.value = value;
    last.ms = ms;
  }
  return ms;
}

/** The last instant parsed per field name (the callers' names: a handful of constants). */
const lastInstants = new Map<string, { value: string; ms: number }>();

/** Days in a month (1–12) of a proleptic Gregorian year, as Date.UTC counts them. */
function daysInMonth(year: number, month: number): number {
  if (month !== 2) return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
}

/** Lower-cases and collapses white space: the form search matches against. */
export function normalizeSearch(value: string): string {
  return value.trim().toLowerCase().replace(/\s+/g, ' ');
}
