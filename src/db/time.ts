/** Epoch milliseconds (as stored) to an ISO 8601 UTC string, null-safe. */
export function iso(ms: number): string;
export function iso(ms: number | null): string | null;
export function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(Number(ms)).toISOString();
}
