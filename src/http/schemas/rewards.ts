import { REWARD_KINDS } from '../../domain/rewards.js';
import { EXTERNAL_ID_MAX, MAX_POINTS, NAME_MAX } from '../../domain/validation.js';
import { pagingQuery } from './common.js';

const dateTime = { type: 'string', format: 'date-time' } as const;
const kind = { type: 'string', enum: REWARD_KINDS } as const;
const value = { type: ['number', 'null'], description: 'The amount off (fixed_amount) or percentage 1–100 (percentage); null for free_shipping' } as const;
const pointsCost = { type: 'integer', minimum: 0, maximum: MAX_POINTS } as const;
/** Name length is checked after trimming by the domain; the schema only bounds the raw size. */
const name = { type: 'string', maxLength: NAME_MAX * 2 } as const;
const id = { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } as const;

export const rewardSchema = {
  $id: 'Reward',
  type: 'object',
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    pointsCost: { type: 'integer' },
    kind,
    value,
    active: { type: 'boolean' },
    createdAt: dateTime,
  },
  required: ['id', 'name', 'pointsCost', 'kind', 'value', 'active', 'createdAt'],
} as const;

export const couponSchema = {
  $id: 'Coupon',
  type: 'object',
  properties: {
    id: { type: 'integer' },
    customerId: { type: 'integer' },
    code: { type: 'string' },
    rewardId: { type: 'integer' },
    rewardName: { type: 'string' },
    kind,
    value,
    source: { type: 'string', enum: ['redemption', 'free', 'tier_entry'] },
    active: { type: 'boolean' },
    transactionId: { type: ['integer', 'null'] },
    disabledAt: { type: ['string', 'null'], format: 'date-time' },
    createdAt: dateTime,
  },
  required: ['id', 'customerId', 'code', 'rewardId', 'rewardName', 'kind', 'value', 'source', 'active', 'transactionId', 'disabledAt', 'createdAt'],
} as const;

export const newRewardBody = {
  type: 'object',
  properties: { name, pointsCost, kind, value },
  required: ['name', 'pointsCost', 'kind'],
  additionalProperties: false,
} as const;

export const rewardChangeBody = {
  type: 'object',
  properties: { name, pointsCost, value, active: { type: 'boolean' } },
  additionalProperties: false,
} as const;

export const rewardListQuery = {
  type: 'object',
  properties: { active: { type: 'boolean' }, ...pagingQuery },
  additionalProperties: false,
} as const;

export const giveRewardBody = {
  type: 'object',
  properties: {
    rewardId: id,
    deductPoints: { type: 'boolean' },
    reason: { type: 'string', maxLength: 2000 },
  },
  required: ['rewardId', 'deductPoints', 'reason'],
  additionalProperties: false,
} as const;

export const rewardReply = { type: 'object', properties: { reward: { $ref: 'Reward#' } }, required: ['reward'] } as const;
export const couponReply = { type: 'object', properties: { coupon: { $ref: 'Coupon#' } }, required: ['coupon'] } as const;

export const rewardGivenReply = {
  type: 'object',
  properties: {
    coupon: { $ref: 'Coupon#' },
    transaction: { anyOf: [{ $ref: 'Transaction#' }, { type: 'null' }] },
    customer: { $ref: 'Customer#' },
  },
  required: ['coupon', 'transaction', 'customer'],
} as const;

export const couponParams = {
  type: 'object',
  properties: { code: { type: 'string', minLength: 1, maxLength: 64 } },
  required: ['code'],
  additionalProperties: false,
} as const;

export const expiringSchema = {
  type: 'array',
  description: 'Points expiring in the next 30 days, one entry per day, soonest first',
  items: {
    type: 'object',
    properties: { points: { type: 'integer' }, expiresAt: dateTime },
    required: ['points', 'expiresAt'],
  },
} as const;

export const storefrontParams = {
  type: 'object',
  properties: {
    storeId: id,
    externalId: { type: 'string', minLength: 1, maxLength: EXTERNAL_ID_MAX },
  },
  required: ['storeId', 'externalId'],
  additionalProperties: false,
} as const;

export const storefrontHeaders = {
  type: 'object',
  properties: {
    'tally-customer-digest': { type: 'string', description: 'hex HMAC-SHA256 of the externalId, keyed with the store\'s storefront secret' },
  },
} as const;

export const storefrontQuery = {
  type: 'object',
  properties: { cursor: pagingQuery.cursor },
  additionalProperties: false,
} as const;

export const storefrontReply = {
  type: 'object',
  properties: {
    balance: { type: 'integer' },
    pendingPoints: { type: 'integer' },
    pending: {
      type: 'array',
      items: { type: 'object', properties: { points: { type: 'integer' }, availableAt: dateTime }, required: ['points', 'availableAt'] },
    },
    tier: {
      type: ['object', 'null'],
      properties: { id: { type: 'integer' }, name: { type: 'string' } },
      required: ['id', 'name'],
    },
    nextTier: {
      type: ['object', 'null'],
      properties: { name: { type: 'string' }, pointsNeeded: { type: 'integer' } },
      required: ['name', 'pointsNeeded'],
    },
    expiring: expiringSchema,
    coupons: {
      type: 'array',
      items: {
        type: 'object',
        properties: { code: { type: 'string' }, rewardName: { type: 'string' }, kind, value, createdAt: dateTime },
        required: ['code', 'rewardName', 'kind', 'value', 'createdAt'],
      },
    },
    history: {
      type: 'array',
      items: {
        type: 'object',
        properties: { type: { type: 'string' }, points: { type: 'integer' }, message: { type: ['string', 'null'] }, createdAt: dateTime },
        required: ['type', 'points', 'message', 'createdAt'],
      },
    },
    nextCursor: { type: ['string', 'null'] },
  },
  required: ['balance', 'pendingPoints', 'pending', 'tier', 'nextTier', 'expiring', 'coupons', 'history', 'nextCursor'],
} as const;
