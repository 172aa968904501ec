import type { SchemaTypes } from '../type-provider.js';
import type { FastifyPluginAsync } from 'fastify';
import { createUser, listUsers, updateUser } from '../../ledger/users.js';
import { principal } from '../auth.js';
import type { AppContext } from '../context.js';
import { sendWrite } from '../idempotent.js';
import { commonErrors, idempotencyHeader, idParams, postErrors } from '../schemas/common.js';
import { newUserBody, userChangeBody } from '../schemas/staff.js';

const errors = commonErrors;

/** Staff management (owner and admin). */
export const userRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  const routes = app.withTypeProvider<SchemaTypes>();
  routes.get('/v1/users', {
    schema: {
      tags: ['staff'],
      summary: "The store's staff users",
      response: { 200: { type: 'object', properties: { data: { type: 'array', items: { $ref: 'User#' } } }, required: ['data'] }, ...errors },
    },
    handler: async (req) => ({ data: await listUsers(ctx.database.db, principal(req).storeId) }),
  });

  routes.post('/v1/users', {
    schema: {
      tags: ['staff'],
      summary: 'Add a staff user (without a password, a one-time password is returned once)',
      headers: idempotencyHeader,
      body: newUserBody,
      response: {
        201: {
          type: 'object',
          properties: { user: { $ref: 'User#' }, oneTimePassword: { type: 'string' } },
          required: ['user'],
        },
        ...errors,
        ...postErrors,
      },
    },
    handler: (req, reply) => {
      const { storeId, role } = principal(req);
      return sendWrite(ctx, req, reply, 201, (trx) => createUser(trx, storeId, req.body, role));
    },
  });

  routes.patch('/v1/users/:id', {
    schema: {
      tags: ['staff'],
      summary: "Change a staff user's role, or deactivate (ends their sessions) or reactivate them",
      params: idParams,
      body: userChangeBody,
      response: { 200: { type: 'object', properties: { user: { $ref: 'User#' } }, required: ['user'] }, 404: { $ref: 'Error#' }, 409: { $ref: 'Error#' }, ...errors },
    },
    handler: async (req) => {
      const { storeId, role } = principal(req);
      return { user: await ctx.committer.run((trx) => updateUser(trx, storeId, req.params.id, req.body, role)) };
    },
  });
};
