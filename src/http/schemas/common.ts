/** JSON schemas shared by routes: validation, serialization and OpenAPI come from these. */

export const errorSchema = {
  $id: 'Error',
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        details: { type: 'object', additionalProperties: true },
      },
      required: ['code', 'message'],
    },
  },
  required: ['error'],
} as const;

const nullableString = { type: ['string', 'null'] } as const;
const dateTime = { type: 'string', format: 'date-time' } as const;
const nullableDateTime = { type: ['string', 'null'], format: 'date-time' } as const;

export const actorSchema = {
  type: 'object',
  properties: {
    type: { type: 'string', enum: ['user', 'api_key', 'system'] },
    id: { type: ['integer', 'null'] },
    name: { type: 'string' },
  },
  required: ['type', 'id', 'name'],
} as const;

export const customerSchema = {
  $id: 'Customer',
  type: 'object',
  properties: {
    id: { type: 'integer' },
    externalId: nullableString,
    email: nullableString,
    firstName: nullableString,
    lastName: nullableString,
    balance: { type: 'integer' },
    lifetimePoints: { type: 'integer' },
    pendingPoints: { type: 'integer' },
    tier: {
      type: ['object', 'null'],
      properties: { id: { type: 'integer' }, name: { type: 'string' } },
      required: ['id', 'name'],
    },
    /** The tier was assigned by hand and holds until cleared (PUT /v1/customers/{id}/tier). */
    tierManual: { type: 'boolean' },
    tierChangedAt: nullableDateTime,
    lastActivityAt: nullableDateTime,
    createdAt: dateTime,
  },
  required: ['id', 'externalId', 'email', 'balance', 'lifetimePoints', 'pendingPoints', 'tier', 'createdAt'],
} as const;

export const transactionSchema = {
  $id: 'Transaction',
  type: 'object',
  properties: {
    id: { type: 'integer' },
    customerId: { type: 'integer' },
    type: { type: 'string' },
    points: { type: 'integer' },
    tierPoints: { type: 'integer' },
    balanceAfter: { type: 'integer' },
    reason: { type: 'string' },
    customerMessage: nullableString,
    visibleToCustomer: { type: 'boolean' },
    actor: actorSchema,
    jobId: { type: ['integer', 'null'] },
    reversesId: { type: ['integer', 'null'] },
    reference: nullableString,
    createdAt: dateTime,
  },
  required: ['id', 'customerId', 'type', 'points', 'tierPoints', 'balanceAfter', 'reason', 'actor', 'createdAt'],
} as const;

export const pendingCreditSchema = {
  $id: 'PendingCredit',
  type: 'object',
  properties: {
    transactionId: { type: 'integer' },
    points: { type: 'integer' },
    availableAt: dateTime,
    status: { type: 'string', enum: ['pending', 'matured', 'cancelled'] },
    reason: { type: 'string' },
    customerMessage: nullableString,
    createdAt: dateTime,
  },
  required: ['transactionId', 'points', 'availableAt', 'status'],
} as const;

export const ledgerWriteSchema = {
  type: 'object',
  // `pending`: the credit, when the adjustment's availableAt made it pending (the transaction is its zero-point `pending` row).
  properties: { transaction: { $ref: 'Transaction#' }, customer: { $ref: 'Customer#' }, pending: { $ref: 'PendingCredit#' } },
  required: ['transaction', 'customer'],
} as const;

export function pageSchema(item: string) {
  return {
    type: 'object',
    properties: { data: { type: 'array', items: { $ref: `${item}#` } }, nextCursor: nullableString },
    required: ['data', 'nextCursor'],
  } as const;
}

export const pagingQuery = {
  limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
  cursor: { type: 'string', maxLength: 200 },
} as const;

export const idParams = {
  type: 'object',
  properties: { id: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } },
  required: ['id'],
  additionalProperties: false,
} as const;

/**
 * The errors every authenticated route can answer with: a malformed URL, no or a bad key,
 * a validation failure, the rate limit, the database out of reach.
 */
export const commonErrors = {
  400: { $ref: 'Error#' },
  401: { $ref: 'Error#' },
  403: { $ref: 'Error#' },
  422: { $ref: 'Error#' },
  429: { $ref: 'Error#' },
  503: { $ref: 'Error#' },
} as const;

/** The errors a route that needs no key can answer (the first-run setup). */
export const openErrors = {
  400: { $ref: 'Error#' },
  422: { $ref: 'Error#' },
  429: { $ref: 'Error#' },
  503: { $ref: 'Error#' },
} as const;

/**
 * What every POST can also answer: its Idempotency-Key reused or still in progress (409), a
 * body too large or of a type other than JSON.
 */
export const postErrors = {
  409: { $ref: 'Error#' },
  413: { $ref: 'Error#' },
  415: { $ref: 'Error#' },
} as const;

export const idempotencyHeader = {
  type: 'object',
  properties: { 'idempotency-key': { type: 'string', minLength: 1, maxLength: 255 } },
} as const;

/** A 200 answer in another media type than JSON (CSV, Server-Sent Events), as OpenAPI declares it. */
export function textAnswer(mediaType: string, description: string) {
  return { description, content: { [mediaType]: { schema: { type: 'string' } } } } as const;
}
