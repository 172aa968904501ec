import type { SchemaTypes } from '../type-provider.js';
import type { FastifyPluginAsync } from 'fastify';
import { issueApiKey, listApiKeys, revokeApiKey } from '../../ledger/api-keys.js';
import { principal } from '../auth.js';
import type { AppContext } from '../context.js';
import { sendWrite } from '../idempotent.js';
import { commonErrors, idempotencyHeader, idParams, postErrors } from '../schemas/common.js';
import { newApiKeyBody } from '../schemas/staff.js';

const errors = commonErrors;
const keyReply = { type: 'object', properties: { apiKey: { $ref: 'ApiKey#' } }, required: ['apiKey'] } as const;

/** API keys (owner and admin). A new key is shown once; revoking takes effect at once. */
export const apiKeyRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  const routes = app.withTypeProvider<SchemaTypes>();
  routes.get('/v1/api-keys', {
    schema: {
      tags: ['staff'],
      summary: "The store's API keys (prefixes only)",
      response: { 200: { type: 'object', properties: { data: { type: 'array', items: { $ref: 'ApiKey#' } } }, required: ['data'] }, ...errors },
    },
    handler: async (req) => ({ data: await listApiKeys(ctx.database.db, principal(req).storeId) }),
  });

  routes.post('/v1/api-keys', {
    schema: {
      tags: ['staff'],
      summary: 'Create an API key (acting as admin unless given a role); the key is in this answer only',
      headers: idempotencyHeader,
      body: newApiKeyBody,
      response: {
        201: { type: 'object', properties: { apiKey: { $ref: 'ApiKey#' }, key: { type: 'string' } }, required: ['apiKey', 'key'] },
        ...errors,
        ...postErrors,
      },
    },
    handler: (req, reply) => sendWrite(ctx, req, reply, 201, (trx) => issueApiKey(trx, principal(req).storeId, req.body ?? {})),
  });

  routes.post('/v1/api-keys/:id/revoke', {
    schema: {
      tags: ['staff'],
      summary: 'Revoke an API key',
      params: idParams,
      headers: idempotencyHeader,
      response: { 200: keyReply, 404: { $ref: 'Error#' }, ...errors, ...postErrors },
    },
    handler: async (req, reply) => {
      const sent = await sendWrite(ctx, req, reply, 200, (trx) => revokeApiKey(trx, principal(req).storeId, req.params.id), (apiKey) => ({ apiKey }));
      req.server.auth.forgetApiKey(req.params.id);
      return sent;
    },
  });
};
