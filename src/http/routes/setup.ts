import type { SchemaTypes } from '../type-provider.js';
import type { FastifyPluginAsync } from 'fastify';
import { needsSetup, setUp } from '../../ledger/setup.js';
import type { AppContext } from '../context.js';
import { setSessionCookie } from '../session-auth.js';
import { sessionReply, setupBody } from '../schemas/staff.js';
import { openErrors, postErrors } from '../schemas/common.js';

const open = { tags: ['setup'], security: [] };

/** First run on an empty database. Needs no key: it answers 409 once any store exists. */
export const setupRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  const routes = app.withTypeProvider<SchemaTypes>();
  routes.get('/v1/setup', {
    schema: {
      ...open,
      summary: 'Whether the first-run setup is still to do',
      response: { 200: { type: 'object', properties: { needed: { type: 'boolean' } }, required: ['needed'] }, ...openErrors },
    },
    handler: async () => ({ needed: await needsSetup(ctx.database.db) }),
  });

  routes.post('/v1/setup', {
    schema: {
      ...open,
      summary: 'Create the first store and its owner (logged in at once), optionally with sample customers',
      body: setupBody,
      response: { 201: sessionReply, ...openErrors, ...postErrors },
    },
    handler: async (req, reply) => {
      const done = await setUp(ctx.database.db, ctx.committer, req.body);
      setSessionCookie(req, reply, done.session.token);
      return reply.status(201).send({ user: done.user, store: done.store, csrfToken: done.session.csrfToken });
    },
  });
};
