import { MAX_EXPIRY_DAYS } from '../../ledger/settings.js';
import { MAX_TIERS } from '../../ledger/tiers.js';

const MAX_POINTS = 100_000_000;
const reason = { type: 'string', minLength: 1, maxLength: 2000 } as const;

export const tierSchema = {
  $id: 'Tier',
  type: 'object',
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    threshold: { type: 'integer' },
    entryReward: {
      type: ['object', 'null'],
      properties: { points: { type: ['integer', 'null'] }, rewardId: { type: ['integer', 'null'] } },
    },
  },
  required: ['id', 'name', 'threshold', 'entryReward'],
} as const;

export const tiersBody = {
  type: 'array',
  maxItems: MAX_TIERS,
  items: {
    type: 'object',
    properties: {
      name: { type: 'string', minLength: 1, maxLength: 100 },
      threshold: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
      entryReward: {
        type: ['object', 'null'],
        properties: {
          points: { type: 'integer', minimum: 1, maximum: MAX_POINTS },
          rewardId: { type: 'integer', minimum: 1 },
        },
        additionalProperties: false,
      },
    },
    required: ['name', 'threshold'],
    additionalProperties: false,
  },
} as const;

export const tiersAnswer = {
  type: 'object',
  properties: { data: { type: 'array', items: { $ref: 'Tier#' } }, job: { anyOf: [{ $ref: 'Job#' }, { type: 'null' }] } },
  required: ['data'],
} as const;

export const assignTierBody = {
  type: 'object',
  properties: { tierId: { type: ['integer', 'null'], minimum: 1 }, reason },
  required: ['tierId', 'reason'],
  additionalProperties: false,
} as const;

const tierRef = { type: ['object', 'null'], properties: { id: { type: 'integer' }, name: { type: 'string' } } } as const;

export const tierHistoryAnswer = {
  type: 'object',
  properties: {
    data: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          id: { type: 'integer' },
          fromTier: tierRef,
          toTier: tierRef,
          manual: { type: 'boolean' },
          reason: { type: ['string', 'null'] },
          actor: { type: 'object', properties: { type: { type: 'string' }, id: { type: ['integer', 'null'] }, name: { type: 'string' } } },
          jobId: { type: ['integer', 'null'] },
          createdAt: { type: 'string', format: 'date-time' },
        },
        required: ['id', 'fromTier', 'toTier', 'manual', 'actor', 'createdAt'],
      },
    },
  },
  required: ['data'],
} as const;

const expiry = {
  type: 'object',
  properties: {
    mode: { type: 'string', enum: ['none', 'per_credit', 'inactivity'] },
    days: { type: ['integer', 'null'], minimum: 1, maximum: MAX_EXPIRY_DAYS },
  },
  required: ['mode'],
  additionalProperties: false,
} as const;

const settingsProperties = {
  expiry,
  defaultCustomerMessage: { type: ['string', 'null'], maxLength: 2000 },
  notifyEmail: { type: ['string', 'null'], maxLength: 320 },
  pointValue: { type: ['number', 'null'], minimum: 0 },
  agentPointLimit: { type: ['integer', 'null'], minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
} as const;

export const settingsBody = { type: 'object', properties: settingsProperties, additionalProperties: false } as const;

export const settingsSchema = {
  $id: 'Settings',
  type: 'object',
  properties: settingsProperties,
  required: ['expiry', 'defaultCustomerMessage', 'notifyEmail', 'pointValue', 'agentPointLimit'],
} as const;

export const settingsQuery = {
  type: 'object',
  properties: { dryRun: { type: 'boolean', default: false } },
  additionalProperties: false,
} as const;

export const settingsAnswer = {
  type: 'object',
  properties: {
    settings: { $ref: 'Settings#' },
    preview: { type: 'object', properties: { customers: { type: 'integer' }, points: { type: 'integer' } }, required: ['customers', 'points'] },
  },
} as const;
