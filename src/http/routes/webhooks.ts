import type { SchemaTypes } from '../type-provider.js';
import type { FastifyPluginAsync } from 'fastify';
import {
  checkWebhookUrl, createWebhook, deleteWebhook, getWebhook, listDeliveries, listWebhooks, redeliver,
  rotateWebhookSecret, updateWebhook,
} from '../../ledger/webhooks.js';
import { principal } from '../auth.js';
import type { AppContext } from '../context.js';
import { sendWrite } from '../idempotent.js';
import { pageRequest } from '../paging.js';
import { commonErrors, idempotencyHeader, idParams, pageSchema, pagingQuery, postErrors } from '../schemas/common.js';
import { createWebhookBody, deliveryParams, deliveryReply, updateWebhookBody, webhookReply } from '../schemas/webhooks.js';

const notFound = { 404: { $ref: 'Error#' } } as const;
const tags = ['webhooks'];

export const webhookRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  const routes = app.withTypeProvider<SchemaTypes>();
  const db = ctx.database.db;

  routes.post('/v1/webhooks', {
    schema: { tags, summary: 'Register an endpoint; the answer shows its signing secret (once)', headers: idempotencyHeader, body: createWebhookBody, response: { 201: webhookReply, ...commonErrors, ...postErrors } },
    handler: async (req, reply) => {
      await checkWebhookUrl(req.body.url, ctx.allowPrivateWebhooks === true);
      return sendWrite(ctx, req, reply, 201, (trx) => createWebhook(trx, principal(req).storeId, req.body), (webhook) => ({ webhook }));
    },
  });

  routes.get('/v1/webhooks', {
    schema: { tags, summary: "The store's endpoints (without secrets)", response: { 200: { type: 'object', properties: { data: { type: 'array', items: { $ref: 'Webhook#' } } }, required: ['data'] }, ...commonErrors } },
    handler: async (req) => ({ data: await listWebhooks(db, principal(req).storeId) }),
  });

  routes.get('/v1/webhooks/:id', {
    schema: { tags, summary: 'One endpoint', params: idParams, response: { 200: webhookReply, ...notFound, ...commonErrors } },
    handler: async (req) => ({ webhook: await getWebhook(db, principal(req).storeId, req.params.id) }),
  });

  routes.patch('/v1/webhooks/:id', {
    schema: { tags, summary: 'Change url, events or enabled', params: idParams, body: updateWebhookBody, response: { 200: webhookReply, ...notFound, ...commonErrors } },
    handler: async (req) => {
      await checkWebhookUrl(req.body.url, ctx.allowPrivateWebhooks === true);
      const webhook = await ctx.committer.run((trx) => updateWebhook(trx, principal(req).storeId, req.params.id, req.body));
      return { webhook };
    },
  });

  routes.delete('/v1/webhooks/:id', {
    schema: { tags, summary: 'Remove an endpoint and its delivery log', params: idParams, response: { 204: { type: 'null' }, ...notFound, ...commonErrors } },
    handler: async (req, reply) => {
      await ctx.committer.run((trx) => deleteWebhook(trx, principal(req).storeId, req.params.id));
      return reply.status(204).send();
    },
  });

  routes.post('/v1/webhooks/:id/rotate-secret', {
    schema: { tags, summary: 'A new secret; the old one keeps signing beside it for 24 h', params: idParams, headers: idempotencyHeader, response: { 200: webhookReply, ...notFound, ...commonErrors, ...postErrors } },
    handler: (req, reply) =>
      sendWrite(ctx, req, reply, 200, (trx) => rotateWebhookSecret(trx, principal(req).storeId, req.params.id), (webhook) => ({ webhook })),
  });

  routes.get('/v1/webhooks/:id/deliveries', {
    schema: { tags, summary: "The endpoint's delivery log, newest first", params: idParams, querystring: { type: 'object', properties: pagingQuery, additionalProperties: false }, response: { 200: pageSchema('Delivery'), ...notFound, ...commonErrors } },
    handler: (req) => listDeliveries(db, principal(req).storeId, req.params.id, pageRequest(req.query.limit, req.query.cursor)),
  });

  routes.post('/v1/webhooks/:id/deliveries/:deliveryId/redeliver', {
    schema: { tags, summary: 'Send the event again (same webhook-id)', params: deliveryParams, headers: idempotencyHeader, response: { 202: deliveryReply, ...notFound, ...commonErrors, ...postErrors } },
    handler: async (req, reply) => {
      const sent = await sendWrite(ctx, req, reply, 202, (trx) => redeliver(trx, principal(req).storeId, req.params.id, req.params.deliveryId), (delivery) => ({ delivery }));
      ctx.dispatcher?.wake();
      return sent;
    },
  });
};
