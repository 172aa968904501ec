/**
 * The Standard Webhooks retry schedule: after the first attempt fails, retry after 5 s, 5 min,
 * 30 min, 2 h, 5 h, 10 h and 10 h — eight attempts over about a day and a half, then give up.
 */
export const RETRY_DELAYS_MS = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000] as const;
export const MAX_ATTEMPTS = RETRY_DELAYS_MS.length + 1;

/** An endpoint failing for this long is disabled. */
export const DISABLE_AFTER_MS = 24 * 3_600_000;

/** Up to 10 % either way, so that endpoints failing together do not retry in lockstep. */
export const JITTER = 0.1;

/** The wait before the next attempt after `attempt` (1-based) failed, or null when none is left. */
export function retryDelay(attempt: number, random: () => number = Math.random): number | null {
  const base = RETRY_DELAYS_MS[attempt - 1];
  if (base === undefined) return null;
  return Math.round(base * (1 - JITTER + 2 * JITTER * random()));
}
