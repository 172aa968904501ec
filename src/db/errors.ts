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

const TRANSIENT_CODES = new Set([
  // PostgreSQL: serialization failure, deadlock, lock not available, admin shutdown / crash / cannot connect now.
  '40001', '40P01', '55P03', '57P01', '57P02', '57P03',
  // Node sockets.
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND',
  // SQLite: another connection holds the write lock.
  'SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_LOCKED',
]);

/**
 * Whether a database error is worth retrying as it is: a lost or refused connection, a
 * deadlock or serialization failure, a busy SQLite file. A job chunk that fails this way is
 * retried with backoff and not counted as the job's failure.
 */
export function isTransientDatabaseError(err: unknown): boolean {
  const { code, message } = (err ?? {}) as { code?: string; message?: string };
  if (code && (TRANSIENT_CODES.has(code) || code.startsWith('08'))) return true;
  return /Connection terminated|connection timeout|Client has encountered a connection error|timeout exceeded when trying to connect/i.test(message ?? '');
}
