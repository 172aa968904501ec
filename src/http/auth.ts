import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';
import { UnauthorizedError } from '../domain/errors.js';
import { authenticateApiKey, hashApiKey } from '../ledger/stores.js';
import type { Principal } from './context.js';
import type { WindowLimiter } from './rate-limit.js';

/**
 * How long a key lookup is trusted. Short, because a key revoked on another instance keeps
 * working here until its entry expires; the instance that revokes calls forgetApiKey().
 */
export const AUTH_CACHE_TTL_MS = 2_000;
const MAX_ENTRIES = 10_000;

/**
 * The key in an `Authorization: Bearer <key>` header (the scheme in any case, any spacing),
 * or undefined. One key is one key however the header is spelled.
 */
export function bearerToken(header: string | undefined): string | undefined {
  return header ? /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] : undefined;
}

export interface AuthOptions {
  /** Principal sources tried before the bearer key (the admin app's session cookie). */
  sources?: PrincipalSource[];
  /** Per principal, after authentication (absent: no limit). */
  perKey?: WindowLimiter;
  /** Per client address, for requests without a known key, before any database lookup. */
  perAddress?: WindowLimiter;
}

/** One way of finding who calls: undefined when the request does not use it. */
export type PrincipalSource = (req: FastifyRequest) => Promise<Principal | undefined>;

export interface Authenticator {
  /** The onRequest hook of authenticated routes: sets req.principal or throws. */
  authenticate(req: FastifyRequest): Promise<void>;
  /** Drops a revoked key from this instance's cache, so the revocation holds at once here. */
  forgetApiKey(id: number): void;
}

/**
 * Bearer API-key authentication, then the per-principal rate limit. A lookup is cached for
 * AUTH_CACHE_TTL_MS by the key's hash (never the key). A request whose key is missing, or not
 * in the cache, is counted against its client address first, so made-up tokens cannot cost
 * database lookups without limit. More principal sources (a session cookie) join `sources`.
 */
export function createAuthenticator(db: Kysely<DB>, opts: AuthOptions = {}): Authenticator {
  const cache = new Map<string, { principal: Principal | undefined; expires: number }>();
  const bearer: PrincipalSource = async (req) => {
    const key = bearerToken(req.headers.authorization);
    if (key === undefined) return undefined;
    const hash = hashApiKey(key);
    const now = Date.now();
    let hit = cache.get(hash);
    if (!hit || hit.expires < now) {
      opts.perAddress?.hit(`ip:${req.ip}`);
      hit = { principal: await authenticateApiKey(db, key), expires: now + AUTH_CACHE_TTL_MS };
      if (cache.size >= MAX_ENTRIES) cache.clear();
      cache.set(hash, hit);
    }
    if (!hit.principal) throw new UnauthorizedError('The API key is not valid');
    return hit.principal;
  };
  const sources: PrincipalSource[] = [...(opts.sources ?? []), bearer];
  return {
    async authenticate(req) {
      for (const source of sources) {
        const found = await source(req);
        if (found) {
          opts.perKey?.hit(`${found.actor.type}:${found.actor.id}`);
          req.principal = found;
          return;
        }
      }
      opts.perAddress?.hit(`ip:${req.ip}`);
      throw new UnauthorizedError('Send an API key as "Authorization: Bearer <key>"');
    },
    forgetApiKey(id) {
      for (const [hash, entry] of cache) {
        if (entry.principal?.actor.type === 'api_key' && entry.principal.actor.id === id) cache.delete(hash);
      }
    },
  };
}

/** The authenticated caller; routes behind authenticate() always have one. */
export function principal(req: FastifyRequest): Principal {
  if (!req.principal) throw new UnauthorizedError('Not authenticated');
  return req.principal;
}
