/** Epoch milliseconds (as stored) to an ISO 8601 UTC string, null-safe. */
export function iso(ms: number): string;
export function iso(ms: number | null): string | null;
export function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(Number(ms)).toISOString();
}

/**
 * iso() remembering its last answer, for a formatter of many rows: rows written together (an
 * import's, a job's) share their moment, and toISOString is a good part of a CSV line's cost.
 */
export function repeatingIso(): (ms: number) => string {
  let lastMs = Number.NaN;
  let lastIso = '';
  return (ms) => {
    if (ms !== lastMs) {
      lastIso = iso(Number(ms));
      lastMs = ms;
    }
    return lastIso;
  };
}
