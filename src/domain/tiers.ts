/** A tier of a store's VIP program, as the rules see it. */
export interface TierRule {
  id: number;
  name: string;
  /** Lifetime (tier-qualifying) points from which a customer is in this tier. */
  threshold: number;
}

/**
 * The tier a customer with `lifetimePoints` qualifies for: the one with the highest threshold
 * at or below the points (ties: the later tier), or null below every threshold. A manually
 * assigned tier overrides it (the caller's concern).
 */
export function tierFor(lifetimePoints: number, tiers: readonly TierRule[]): TierRule | null {
  let best: TierRule | null = null;
  for (const t of tiers) {
    if (t.threshold > lifetimePoints) continue;
    if (!best || t.threshold > best.threshold || (t.threshold === best.threshold && t.id > best.id)) best = t;
  }
  return best;
}

/** The next tier up from `lifetimePoints` and how many points it still needs, or null at the top. */
export function nextTier(lifetimePoints: number, tiers: readonly TierRule[]): { name: string; pointsNeeded: number } | null {
  let next: TierRule | null = null;
  for (const t of tiers) {
    if (t.threshold <= lifetimePoints) continue;
    if (!next || t.threshold < next.threshold) next = t;
  }
  return next ? { name: next.name, pointsNeeded: next.threshold - lifetimePoints } : null;
}
