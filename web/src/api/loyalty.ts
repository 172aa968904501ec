import type { components } from './schema';

// Types of the tiers, rewards and settings API (GET/PUT /v1/tiers, /v1/rewards, /v1/settings …).
export type Tier = components['schemas']['Tier'];
export type Reward = components['schemas']['Reward'];
export type Coupon = components['schemas']['Coupon'];
export type Settings = components['schemas']['Settings'];
export type PendingCredit = components['schemas']['PendingCredit'];
export type RewardKind = Reward['kind'];

export const REWARD_KIND_LABELS: Record<RewardKind, string> = {
  fixed_amount: 'Amount off',
  percentage: 'Percentage off',
  free_shipping: 'Free shipping',
};

/** What a reward gives, in words: "5.00 off", "10 % off", "Free shipping". */
export function rewardValueText(r: { kind: RewardKind; value: number | null }): string {
  if (r.kind === 'free_shipping') return 'Free shipping';
  if (r.kind === 'percentage') return `${new Intl.NumberFormat(undefined).format(r.value ?? 0)} % off`;
  return `${new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(r.value ?? 0)} off`;
}

/** The signed-in staff member's role, from the session query (set by App). */
export type Role = 'owner' | 'admin' | 'agent' | 'viewer';
export const canManage = (role: string | undefined) => role === 'owner' || role === 'admin';
export const canWriteCustomer = (role: string | undefined) => canManage(role) || role === 'agent';
