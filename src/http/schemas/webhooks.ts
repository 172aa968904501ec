import { EVENT_TYPES } from '../../notify/events.js';

const dateTime = { type: 'string', format: 'date-time' } as const;
const events = { type: 'array', items: { type: 'string', enum: [...EVENT_TYPES] }, minItems: 1, maxItems: EVENT_TYPES.length } as const;
const url = { type: 'string', minLength: 1, maxLength: 2000 } as const;

export const webhookSchema = {
  $id: 'Webhook',
  type: 'object',
  properties: {
    id: { type: 'integer' },
    url: { type: 'string' },
    events: { type: 'array', items: { type: 'string' } },
    enabled: { type: 'boolean' },
    disabledReason: { type: ['string', 'null'] },
    secret: { type: 'string', description: 'Shown on creation and rotation only' },
    createdAt: dateTime,
    updatedAt: dateTime,
  },
  required: ['id', 'url', 'events', 'enabled', 'disabledReason', 'createdAt'],
} as const;

export const deliverySchema = {
  $id: 'Delivery',
  type: 'object',
  properties: {
    id: { type: 'integer' },
    eventId: { type: 'string' },
    eventType: { type: 'string' },
    attempt: { type: 'integer' },
    status: { type: 'string', enum: ['pending', 'succeeded', 'failed'] },
    responseStatus: { type: ['integer', 'null'] },
    error: { type: ['string', 'null'] },
    durationMs: { type: ['integer', 'null'] },
    nextAttemptAt: { type: ['string', 'null'], format: 'date-time' },
    createdAt: dateTime,
    updatedAt: dateTime,
  },
  required: ['id', 'eventId', 'eventType', 'attempt', 'status', 'responseStatus', 'error', 'durationMs', 'createdAt'],
} as const;

export const notificationSchema = {
  $id: 'Notification',
  type: 'object',
  properties: {
    id: { type: 'integer' },
    kind: { type: 'string' },
    to: { type: 'string' },
    subject: { type: 'string' },
    text: { type: 'string' },
    createdAt: dateTime,
    sentAt: { type: ['string', 'null'], format: 'date-time' },
    error: { type: ['string', 'null'] },
  },
  required: ['id', 'kind', 'to', 'subject', 'text', 'createdAt', 'sentAt', 'error'],
} as const;

export const createWebhookBody = {
  type: 'object',
  properties: { url, events },
  required: ['url', 'events'],
  additionalProperties: false,
} as const;

export const updateWebhookBody = {
  type: 'object',
  properties: { url, events, enabled: { type: 'boolean' } },
  additionalProperties: false,
} as const;

export const webhookReply = { type: 'object', properties: { webhook: { $ref: 'Webhook#' } }, required: ['webhook'] } as const;
export const deliveryReply = { type: 'object', properties: { delivery: { $ref: 'Delivery#' } }, required: ['delivery'] } as const;

export const deliveryParams = {
  type: 'object',
  properties: {
    id: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
    deliveryId: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
  },
  required: ['id', 'deliveryId'],
  additionalProperties: false,
} as const;
