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

/** Trims a required reason and checks it is 3–500 characters. */
export function validReason(reason: unknown, field = 'reason'): string {
  if (typeof reason !== 'string') throw new ValidationError(`${field} is required`, field);
  const trimmed = withoutNul(reason, field).trim();
  if (trimmed.length < REASON_MIN || trimmed.length > REASON_MAX) {
    throw new ValidationError(
      `${field} must be ${REASON_MIN}–${REASON_MAX} characters after trimming (got ${trimmed.length})`,
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
  if (trimmed.length > max) {
    throw new ValidationError(`${field} must be at most ${max} characters (got ${trimmed.length})`, field);
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

/** Parses an ISO 8601 instant into epoch milliseconds. */
export function parseInstant(value: string, field: string): number {
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(ms)) {
    throw new ValidationError(`${field} must be an ISO 8601 date-time`, field);
  }
  return ms;
}

/** Lower-cases and collapses white space: the form search matches against. */
export function normalizeSearch(value: string): string {
  return value.trim().toLowerCase().replace(/\s+/g, ' ');
}
