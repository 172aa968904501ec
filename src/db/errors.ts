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
