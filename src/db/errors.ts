/** Whether a driver error is a unique-constraint violation (either dialect). */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: string })?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/**
 * Whether a unique violation was on the named column: PostgreSQL names the violated index
 * (`customers_store_email`), SQLite the columns (`customers.store_id, customers.email`).
 */
export function violatedUniqueOn(err: unknown, column: string): boolean {
  const { constraint, message } = (err ?? {}) as { constraint?: string; message?: string };
  return isUniqueViolation(err) && (constraint ?? message ?? '').includes(column);
}

const LOST_CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', '57P01', '57P02', '57P03']);

/**
 * Whether a driver error means the database cannot be reached or cannot take writes right now
 * (retry later), not that the request was wrong: pg connection failures (refused, reset, the
 * server terminating the session, SQLSTATE class 08 and 57P01–57P03), and SQLite's full or
 * failing disk (SQLITE_FULL, SQLITE_IOERR*).
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string') {
    if (LOST_CONNECTION_CODES.has(code) || /^08[0-9A-Z]{3}$/.test(code)) return true;
    if (code === 'SQLITE_FULL' || code.startsWith('SQLITE_IOERR')) return true;
  }
  return typeof message === 'string' && /Connection terminated|connection ended unexpectedly|Client has encountered a connection error|timeout exceeded when trying to connect/i.test(message);
}

/** Conflicts that a retry of the same work resolves: serialization failure, deadlock, lock not available, a busy SQLite file. */
const CONFLICT_CODES = new Set(['40001', '40P01', '55P03', 'SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_LOCKED']);

/**
 * Whether a database error is worth retrying as it is: the database unreachable for now, or a
 * conflict with concurrent work. A job chunk that fails this way is retried with backoff and not
 * counted as the job's failure.
 */
export function isTransientDatabaseError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return isDatabaseUnavailable(err) || (typeof code === 'string' && CONFLICT_CODES.has(code));
}
