import type { ExpiringPoints, RewardKind } from './rewards.js';
import type { TierRef } from './types.js';

/** What a customer sees of their account in the shop: never an internal reason, never a hidden row. */
export interface StorefrontView {
  balance: number;
  pendingPoints: number;
  pending: { points: number; availableAt: string }[];
  tier: TierRef | null;
  nextTier: { name: string; pointsNeeded: number } | null;
  expiring: ExpiringPoints[];
  coupons: { code: string; rewardName: string; kind: RewardKind; value: number | null; createdAt: string }[];
  /** The customer's visible ledger rows, newest first; `message` is the customer-facing comment only. */
  history: { type: string; points: number; message: string | null; createdAt: string }[];
  nextCursor: string | null;
}
