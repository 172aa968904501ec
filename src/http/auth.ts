import type { FastifyRequest } from 'fastify';
import { UnauthorizedError } from '../domain/errors.js';
import { authenticateApiKey, hashApiKey } from '../ledger/stores.js';
import type { AppContext, Principal } from './context.js';

const TTL_MS = 30_000;
const MAX_ENTRIES = 10_000;

/**
 * Bearer API-key authentication. Lookups are cached for 30 s by the key's hash (never the key),
 * so a hot integration costs one SHA-256 per request, not a query.
 */
export function apiKeyAuth(ctx: AppContext) {
  const cache = new Map<string, { principal: Principal | undefined; expires: number }>();
  return async function authenticate(req: FastifyRequest): Promise<void> {
    const header = req.headers.authorization;
    const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!m) throw new UnauthorizedError('Send an API key as "Authorization: Bearer <key>"');
    const hash = hashApiKey(m[1]);
    const now = Date.now();
    let hit = cache.get(hash);
    if (!hit || hit.expires < now) {
      hit = { principal: await authenticateApiKey(ctx.database.db, m[1]), expires: now + TTL_MS };
      if (cache.size >= MAX_ENTRIES) cache.clear();
      cache.set(hash, hit);
    }
    if (!hit.principal) throw new UnauthorizedError('The API key is not valid');
    req.principal = hit.principal;
  };
}

/** The authenticated caller; routes behind apiKeyAuth always have one. */
export function principal(req: FastifyRequest): Principal {
  if (!req.principal) throw new UnauthorizedError('Not authenticated');
  return req.principal;
}
