import { customerFilterProperties } from './customers.js';

export const customerExportQuery = {
  type: 'object',
  properties: { ...customerFilterProperties, asOf: customerFilterProperties.lastActivityBefore },
  additionalProperties: false,
} as const;

export const importQuery = {
  type: 'object',
  properties: {
    type: { type: 'string', enum: ['add', 'set', 'history'] },
    reason: { type: 'string', maxLength: 2000 },
    dryRun: { type: 'boolean' },
    mode: { type: 'string', enum: ['partial', 'atomic'] },
  },
  required: ['type'],
  additionalProperties: false,
} as const;

const rowError = {
  type: 'object',
  properties: { line: { type: 'integer' }, column: { type: ['string', 'null'] }, code: { type: 'string' }, message: { type: 'string' } },
  required: ['line', 'column', 'code', 'message'],
} as const;

export const importPreviewReply = {
  type: 'object',
  properties: {
    preview: {
      type: 'object',
      properties: {
        rows: { type: 'integer' },
        valid: { type: 'integer' },
        invalid: { type: 'integer' },
        totalPoints: { type: 'integer', description: 'Net change of balances over the valid rows (pending credits not included).' },
        pendingPoints: { type: 'integer', description: 'Points of valid rows that become pending credits (availableAt in the future): not in any balance until they mature.' },
        tierUps: { type: 'integer' },
        tierDowns: { type: 'integer' },
        errors: { type: 'array', items: rowError, maxItems: 100 },
      },
      required: ['rows', 'valid', 'invalid', 'totalPoints', 'pendingPoints', 'tierUps', 'tierDowns', 'errors'],
    },
  },
  required: ['preview'],
} as const;
