import { EMAIL_MAX, EXTERNAL_ID_MAX, MAX_POINTS, NAME_MAX } from '../../domain/validation.js';
import { CUSTOMER_SORT_KEYS, TRANSACTION_TYPES } from '../../domain/types.js';
import { customerSchema, pagingQuery } from './common.js';
import { expiringSchema } from './rewards.js';

const text = (maxLength: number) => ({ type: 'string', maxLength }) as const;
const instant = { type: 'string', maxLength: 64 } as const;
const count = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;
const id = { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } as const;

export const newCustomerBody = {
  type: 'object',
  properties: {
    externalId: text(EXTERNAL_ID_MAX),
    email: text(EMAIL_MAX),
    firstName: text(NAME_MAX),
    lastName: text(NAME_MAX),
  },
  additionalProperties: false,
} as const;

/** Reason length is checked after trimming by the domain; the schema only bounds the raw size. */
const reason = text(2000);

export const adjustmentBody = {
  type: 'object',
  properties: {
    points: { type: 'integer', minimum: -MAX_POINTS, maximum: MAX_POINTS, not: { const: 0 } },
    reason,
    customerMessage: { type: ['string', 'null'], maxLength: 2000 },
    affectsTier: { type: 'boolean' },
    visibleToCustomer: { type: 'boolean' },
    expectedBalance: count,
    notifyCustomer: { type: 'boolean' },
    expiresAt: instant,
    availableAt: instant,
  },
  required: ['points', 'reason'],
  additionalProperties: false,
} as const;

export const resetBody = {
  type: 'object',
  properties: { reason, customerMessage: { type: ['string', 'null'], maxLength: 2000 } },
  required: ['reason'],
  additionalProperties: false,
} as const;

export const reverseBody = resetBody;

export const customerFilterProperties = {
  tierId: id,
  minBalance: count,
  maxBalance: count,
  lastActivityBefore: instant,
  lastActivityAfter: instant,
  tierChangedAfter: instant,
  search: text(200),
} as const;

const customerLookupProperties = {
  externalId: text(EXTERNAL_ID_MAX),
  email: text(EMAIL_MAX),
  ...customerFilterProperties,
} as const;

export const customerFilterQuery = {
  type: 'object',
  properties: {
    ...customerLookupProperties,
    sort: {
      type: 'string',
      enum: CUSTOMER_SORT_KEYS,
      default: 'createdAt',
      description: 'The order of the list; customers without a value (no name, no e-mail, never active) come last',
    },
    order: { type: 'string', enum: ['asc', 'desc'], default: 'desc' },
    ...pagingQuery,
    // A sorted list's cursor carries the last row's sort value (an e-mail address can be long).
    cursor: { type: 'string', maxLength: 2000 },
  },
  additionalProperties: false,
} as const;

export const customerCountQuery = {
  type: 'object',
  properties: customerLookupProperties,
  additionalProperties: false,
} as const;

export const customerCountSchema = {
  type: 'object',
  properties: { count: { type: 'integer', description: 'How many customers match the filter' } },
  required: ['count'],
  additionalProperties: false,
} as const;

export const transactionFilterProperties = {
  customerId: id,
  type: { type: 'string', enum: TRANSACTION_TYPES },
  jobId: id,
  from: instant,
  to: instant,
} as const;

export const transactionFilterQuery = {
  type: 'object',
  properties: { ...transactionFilterProperties, ...pagingQuery },
  additionalProperties: false,
} as const;

export const transactionExportQuery = {
  type: 'object',
  properties: transactionFilterProperties,
  additionalProperties: false,
} as const;

/** One customer (GET /v1/customers/{id}): a customer and the points expiring in the next 30 days. */
export const customerDetailSchema = {
  type: 'object',
  properties: { ...customerSchema.properties, expiring: expiringSchema },
  required: [...customerSchema.required, 'expiring'],
} as const;
