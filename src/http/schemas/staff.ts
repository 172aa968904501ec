/** Schemas of the staff routes: setup, session, users, API keys. */
const role = { type: 'string', enum: ['owner', 'admin', 'agent', 'viewer'] } as const;

export const userSchema = {
  $id: 'User',
  type: 'object',
  properties: {
    id: { type: 'integer' },
    email: { type: 'string' },
    name: { type: 'string' },
    role,
    active: { type: 'boolean' },
    createdAt: { type: 'string', format: 'date-time' },
  },
  required: ['id', 'email', 'name', 'role', 'active', 'createdAt'],
} as const;

export const apiKeySchema = {
  $id: 'ApiKey',
  type: 'object',
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    role,
    prefix: { type: 'string' },
    createdAt: { type: 'string', format: 'date-time' },
    revokedAt: { type: ['string', 'null'], format: 'date-time' },
  },
  required: ['id', 'name', 'role', 'prefix', 'createdAt', 'revokedAt'],
} as const;

const storeRef = {
  type: 'object',
  properties: { id: { type: 'integer' }, name: { type: 'string' } },
  required: ['id', 'name'],
} as const;

export const sessionReply = {
  type: 'object',
  properties: { user: { $ref: 'User#' }, store: storeRef, csrfToken: { type: 'string' } },
  required: ['user', 'store', 'csrfToken'],
} as const;

export const setupBody = {
  type: 'object',
  properties: {
    storeName: { type: 'string', minLength: 1, maxLength: 200 },
    ownerEmail: { type: 'string', minLength: 3, maxLength: 320 },
    ownerPassword: { type: 'string', minLength: 8, maxLength: 200 },
    sampleCustomers: { type: 'integer', minimum: 0, maximum: 100_000 },
  },
  required: ['storeName', 'ownerEmail', 'ownerPassword'],
  additionalProperties: false,
} as const;

export const loginBody = {
  type: 'object',
  properties: {
    email: { type: 'string', minLength: 1, maxLength: 320 },
    password: { type: 'string', minLength: 1, maxLength: 200 },
  },
  required: ['email', 'password'],
  additionalProperties: false,
} as const;

export const newUserBody = {
  type: 'object',
  properties: {
    email: { type: 'string', minLength: 3, maxLength: 320 },
    name: { type: 'string', maxLength: 200 },
    role,
    password: { type: 'string', minLength: 8, maxLength: 200 },
  },
  required: ['email', 'role'],
  additionalProperties: false,
} as const;

export const userChangeBody = {
  type: 'object',
  properties: { role, active: { type: 'boolean' } },
  additionalProperties: false,
  minProperties: 1,
} as const;

export const newApiKeyBody = {
  type: 'object',
  properties: {
    name: { type: 'string', maxLength: 200 },
    role: { type: 'string', enum: ['admin', 'agent', 'viewer'] },
  },
  additionalProperties: false,
} as const;
