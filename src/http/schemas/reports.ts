import { REPORT_INTERVALS } from '../../domain/report-periods.js';
import { actorSchema } from './common.js';

const instant = { type: 'string', maxLength: 64, description: 'ISO 8601 date-time with a zone' } as const;
const flow = {
  type: 'object',
  properties: { credited: { type: 'integer' }, debited: { type: 'integer' } },
  required: ['credited', 'debited'],
} as const;

export const pointsReportQuery = {
  type: 'object',
  properties: {
    from: { ...instant, description: 'Start of the first period (inclusive)' },
    to: { ...instant, description: 'End of the last period (exclusive)' },
    interval: { type: 'string', enum: REPORT_INTERVALS, default: 'day' },
  },
  required: ['from', 'to'],
  additionalProperties: false,
} as const;

export const reportPeriodSchema = {
  type: 'object',
  properties: {
    periodStart: { type: 'string', format: 'date-time' },
    periodEnd: { type: 'string', format: 'date-time' },
    openingBalance: { type: 'integer' },
    closingBalance: { type: 'integer' },
    byType: { type: 'object', additionalProperties: flow },
    byActor: {
      type: 'array',
      items: { type: 'object', properties: { actor: actorSchema, credited: { type: 'integer' }, debited: { type: 'integer' } }, required: ['actor', 'credited', 'debited'] },
    },
    liability: { type: ['number', 'null'] },
  },
  required: ['periodStart', 'periodEnd', 'openingBalance', 'closingBalance', 'byType', 'byActor', 'liability'],
} as const;

export const pointsReportSchema = {
  type: 'object',
  properties: {
    data: { type: 'array', items: reportPeriodSchema },
    pointValue: { type: ['number', 'null'] },
  },
  required: ['data', 'pointValue'],
} as const;
