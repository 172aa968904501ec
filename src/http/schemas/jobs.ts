import { MAX_SELECTED_IDS } from '../../domain/jobs.js';
import { MAX_POINTS } from '../../domain/validation.js';
import { actorSchema } from './common.js';
import { customerFilterProperties } from './customers.js';

export const jobSchema = {
  $id: 'Job',
  type: 'object',
  properties: {
    id: { type: 'integer' },
    kind: { type: 'string', enum: ['bulk_adjustment', 'import', 'revert', 'expiry', 'tier_evaluation'] },
    status: { type: 'string', enum: ['queued', 'running', 'completed', 'failed', 'cancelled'] },
    total: { type: 'integer' },
    processed: { type: 'integer' },
    succeeded: { type: 'integer' },
    skipped: { type: 'integer' },
    failed: { type: 'integer' },
    totalPoints: { type: 'integer' },
    cancelRequested: { type: 'boolean' },
    revertsJobId: { type: ['integer', 'null'] },
    params: { type: 'object', additionalProperties: true },
    actor: actorSchema,
    createdAt: { type: 'string', format: 'date-time' },
    startedAt: { type: ['string', 'null'], format: 'date-time' },
    finishedAt: { type: ['string', 'null'], format: 'date-time' },
    error: { type: ['string', 'null'] },
  },
  required: ['id', 'kind', 'status', 'total', 'processed', 'succeeded', 'skipped', 'failed', 'createdAt'],
} as const;

const id = { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } as const;

export const bulkAdjustmentBody = {
  type: 'object',
  properties: {
    selection: {
      type: 'object',
      properties: {
        customerIds: { type: 'array', items: id, minItems: 1, maxItems: MAX_SELECTED_IDS },
        filter: { type: 'object', properties: customerFilterProperties, additionalProperties: false },
        all: { type: 'boolean', const: true },
      },
      minProperties: 1,
      maxProperties: 1,
      additionalProperties: false,
    },
    type: { type: 'string', enum: ['adjust', 'reset'] },
    points: { type: 'integer', minimum: -MAX_POINTS, maximum: MAX_POINTS, not: { const: 0 } },
    reason: { type: 'string', maxLength: 2000 },
    customerMessage: { type: ['string', 'null'], maxLength: 2000 },
    affectsTier: { type: 'boolean' },
    dryRun: { type: 'boolean' },
    confirmation: { type: 'string', maxLength: 100 },
  },
  required: ['selection', 'type', 'reason'],
  additionalProperties: false,
} as const;

export const previewSchema = {
  type: 'object',
  properties: {
    preview: {
      type: 'object',
      properties: {
        customers: { type: 'integer' },
        totalPoints: { type: 'integer' },
        rejected: { type: 'integer' },
        tierUps: { type: 'integer' },
        tierDowns: { type: 'integer' },
      },
    },
  },
} as const;

export const revertBody = {
  type: 'object',
  properties: { reason: { type: 'string', maxLength: 2000 }, customerMessage: { type: ['string', 'null'], maxLength: 2000 } },
  required: ['reason'],
  additionalProperties: false,
} as const;
