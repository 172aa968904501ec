import type {} from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CsrfInvalidError, UnauthorizedError } from '../domain/errors.js';
import { csrfMatches, findSession, SESSION_TTL_MS } from '../ledger/sessions.js';
import type { PrincipalSource } from './auth.js';
import type { AppContext, Principal } from './context.js';

export const SESSION_COOKIE = 'tally_session';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Secure cookies when the client reached us over HTTPS (directly or through a proxy that says so). */
function overHttps(req: FastifyRequest): boolean {
  const forwarded = req.headers['x-forwarded-proto'];
  const proto = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0].trim();
  return req.protocol === 'https' || proto === 'https';
}

export function setSessionCookie(req: FastifyRequest, reply: FastifyReply, token: string): void {
  reply.setCookie(SESSION_COOKIE, token, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: overHttps(req),
    maxAge: SESSION_TTL_MS / 1000,
  });
}

export function clearSessionCookie(req: FastifyRequest, reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'lax', secure: overHttps(req) });
}

/** The session token of the request's cookie, if it has one. */
export function sessionToken(req: FastifyRequest): string | undefined {
  const token = req.cookies?.[SESSION_COOKIE];
  return token && token.length <= 100 ? token : undefined;
}

/**
 * The session principal source: a request with the session cookie and no Authorization header is
 * the staff user of that session (actor type "user", the user's role). A state-changing request
 * made this way must carry the session's `X-CSRF-Token`. Requests with an API key fall through to
 * the bearer key (auth.ts).
 *
 * It can throw: UnauthorizedError (expired, revoked or unknown session), CsrfInvalidError.
 */
export function sessionAuth(ctx: AppContext): PrincipalSource {
  return async function authenticateSession(req: FastifyRequest): Promise<Principal | undefined> {
    if (req.headers.authorization !== undefined) return undefined;
    const token = sessionToken(req);
    if (token === undefined) return undefined;
    const session = await findSession(ctx.database.db, token);
    if (!session) throw new UnauthorizedError('The session has ended; log in again');
    if (!SAFE_METHODS.has(req.method)) {
      const header = req.headers['x-csrf-token'];
      if (!csrfMatches(token, Array.isArray(header) ? header[0] : header)) throw new CsrfInvalidError();
    }
    const principal: Principal = {
      storeId: session.store.id,
      actor: { type: 'user', id: session.user.id, name: session.user.name },
      role: session.role,
      sessionToken: token,
    };
    return principal;
  };
}
