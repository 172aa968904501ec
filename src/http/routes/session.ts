import type { SchemaTypes } from '../type-provider.js';
import type { FastifyPluginAsync } from 'fastify';
import { CsrfInvalidError, UnauthorizedError } from '../../domain/errors.js';
import { csrfMatches, csrfTokenFor, findSession, logIn, revokeSession } from '../../ledger/sessions.js';
import type { AppContext } from '../context.js';
import { clearSessionCookie, sessionToken, setSessionCookie } from '../session-auth.js';
import { loginBody, sessionReply } from '../schemas/staff.js';
import { commonErrors, postErrors } from '../schemas/common.js';

const open = { tags: ['session'], security: [] };
const errors = { ...commonErrors };

/** The admin app's login. These routes read the cookie themselves (they are outside the auth hook). */
export const sessionRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  const routes = app.withTypeProvider<SchemaTypes>();
  routes.post('/v1/session', {
    schema: { ...open, summary: 'Log in: sets the session cookie', body: loginBody, response: { 200: sessionReply, ...errors, ...postErrors } },
    handler: async (req, reply) => {
      const session = await logIn(ctx.database.db, ctx.committer, { ...req.body, address: req.ip });
      setSessionCookie(req, reply, session.token);
      return { user: session.user, store: session.store, csrfToken: session.csrfToken };
    },
  });

  routes.get('/v1/session', {
    schema: { ...open, summary: 'The current session (401 when logged out)', response: { 200: sessionReply, ...errors } },
    handler: async (req) => {
      const token = sessionToken(req);
      const session = token === undefined ? undefined : await findSession(ctx.database.db, token);
      if (!token || !session) throw new UnauthorizedError('Not logged in');
      return { user: session.user, store: session.store, csrfToken: csrfTokenFor(token) };
    },
  });

  routes.delete('/v1/session', {
    schema: { ...open, summary: 'Log out: ends the session (needs X-CSRF-Token)', response: { 204: { type: 'null' }, ...errors } },
    handler: async (req, reply) => {
      const token = sessionToken(req);
      if (token !== undefined) {
        const header = req.headers['x-csrf-token'];
        if (!csrfMatches(token, Array.isArray(header) ? header[0] : header)) throw new CsrfInvalidError();
        await ctx.committer.run((trx) => revokeSession(trx, token));
      }
      clearSessionCookie(req, reply);
      return reply.status(204).send();
    },
  });
};
