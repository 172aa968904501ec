import { ValidationError } from './errors.js';
import { MAX_POINTS, NAME_MAX, codePoints, withoutNul } from './validation.js';

/** What a reward gives: an amount off, a percentage off, or free shipping. */
export type RewardKind = 'fixed_amount' | 'percentage' | 'free_shipping';
export const REWARD_KINDS: readonly RewardKind[] = ['fixed_amount', 'percentage', 'free_shipping'];

/** How a coupon came to be: points deducted, given free by staff, or a tier's entry reward. */
export type CouponSource = 'redemption' | 'free' | 'tier_entry';

/** The largest amount a fixed_amount reward takes off (in the shop's currency). */
export const MAX_REWARD_AMOUNT = 1_000_000;

/** A reward of the store's catalog. */
export interface Reward {
  id: number;
  name: string;
  pointsCost: number;
  kind: RewardKind;
  /** The amount (fixed_amount) or percentage (percentage) off; null for free_shipping. */
  value: number | null;
  active: boolean;
  createdAt: string;
}

export interface NewReward {
  name: string;
  pointsCost: number;
  kind: RewardKind;
  value?: number | null;
}

export interface RewardChange {
  name?: string;
  pointsCost?: number;
  value?: number | null;
  active?: boolean;
}

/** A coupon issued to one customer: the code the merchant enters in the shop's discount settings. */
export interface Coupon {
  id: number;
  customerId: number;
  code: string;
  rewardId: number;
  rewardName: string;
  kind: RewardKind;
  value: number | null;
  source: CouponSource;
  active: boolean;
  /** The `redemption` ledger row that paid for it (null when given free). */
  transactionId: number | null;
  disabledAt: string | null;
  createdAt: string;
}

/** Give a reward to one customer on their behalf: deducting its cost as a redemption, or free. */
export interface GiveReward {
  customerId: number;
  rewardId: number;
  deductPoints: boolean;
  reason: string;
}

/** Points of a customer that expire on one day, and the earliest moment of that day they do. */
export interface ExpiringPoints {
  points: number;
  expiresAt: string;
}

/** Trims a reward's name and checks it is 1–200 characters. It can throw: ValidationError. */
export function validRewardName(name: unknown): string {
  if (typeof name !== 'string') throw new ValidationError('name is required', 'name');
  const trimmed = withoutNul(name, 'name').trim();
  const length = codePoints(trimmed);
  if (length < 1 || length > NAME_MAX) throw new ValidationError(`name must be 1–${NAME_MAX} characters after trimming (got ${length})`, 'name');
  return trimmed;
}

/** A reward's cost: a whole number of points, 0 to 100,000,000. It can throw: ValidationError. */
export function validPointsCost(cost: unknown): number {
  if (typeof cost !== 'number' || !Number.isInteger(cost) || cost < 0 || cost > MAX_POINTS) {
    throw new ValidationError(`pointsCost must be a whole number from 0 to ${MAX_POINTS}`, 'pointsCost');
  }
  return cost;
}

/**
 * The value a reward of `kind` carries: an amount above 0 with at most two decimals
 * (fixed_amount), a percentage from 1 to 100 (percentage), none (free_shipping).
 *
 * @example validRewardValue('percentage', 15) === 15; validRewardValue('free_shipping', undefined) === null
 * It can throw: ValidationError.
 */
export function validRewardValue(kind: RewardKind, value: unknown): number | null {
  const given = value !== undefined && value !== null;
  if (kind === 'free_shipping') {
    if (given) throw new ValidationError('A free_shipping reward takes no value', 'value');
    return null;
  }
  if (!given) throw new ValidationError(`A ${kind} reward needs a value`, 'value');
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new ValidationError('value must be a number', 'value');
  if (kind === 'percentage') {
    if (value < 1 || value > 100) throw new ValidationError('A percentage must be from 1 to 100', 'value');
    return value;
  }
  if (value <= 0 || value > MAX_REWARD_AMOUNT || Math.round(value * 100) / 100 !== value) {
    throw new ValidationError(`An amount must be above 0 and at most ${MAX_REWARD_AMOUNT}, with at most two decimals`, 'value');
  }
  return value;
}
