import type { FastifyRequest } from 'fastify';
import { UnauthorizedError } from '../domain/errors.js';
import { authenticateApiKey, hashApiKey } from '../ledger/stores.js';
import type { AppContext, Principal } from './context.js';

const TTL_MS = 30_000;
const MAX_ENTRIES = 10_000;

/**
 * The key in an `Authorization: Bearer <key>` header (the scheme in any case, any spacing),
 * or undefined. Authentication and the per-key rate limit both read the key this way, so one
 * key is one key however the header is spelled.
 */
export function bearerToken(header: string | undefined): string | undefined {
  return header ? /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] : undefined;
}

/**
 * Bearer API-key authentication. Lookups are cached for 30 s by the key's hash (never the key),
 * so a hot integration costs one SHA-256 per request, not a query.
 */
const cache = new Map<string, { principal: Principal | undefined; expires: number }>();

/** Forgets cached key lookups, so a revoked key stops working at once in this process. */
export function forgetApiKeys(): void {
  cache.clear();
}

export function apiKeyAuth(ctx: AppContext) {
  return async function authenticate(req: FastifyRequest): Promise<void> {
    if (req.principal) return; // a session cookie (session-auth.ts) already identified the caller
    const key = bearerToken(req.headers.authorization);
    if (key === undefined) throw new UnauthorizedError('Send an API key as "Authorization: Bearer <key>"');
    const hash = hashApiKey(key);
    const now = Date.now();
    let hit = cache.get(hash);
    if (!hit || hit.expires < now) {
      hit = { principal: await authenticateApiKey(ctx.database.db, key), expires: now + TTL_MS };
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
