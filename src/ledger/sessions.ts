import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Committer, Trx } from '../db/committer.js';
import type { DB } from '../db/schema.js';
import { RateLimitedError, UnauthorizedError } from '../domain/errors.js';
import type { Role } from '../domain/roles.js';
import { hashPassword, verifyPassword } from './stores.js';
import { toUser, type User } from './users.js';

export const SESSION_TTL_MS = 7 * 86_400_000;
/** Failed logins are counted over this window… */
const THROTTLE_WINDOW_MS = 15 * 60_000;
/** …and refused past these counts: per account (guessing one password), per address (spraying many). */
const MAX_FAILURES_PER_ACCOUNT = 5;
const MAX_FAILURES_PER_ADDRESS = 20;
/** Any failed login runs one scrypt, whether or not the e-mail exists, so timing tells nothing. */
const DUMMY_HASH = hashPassword('not a password of anyone');

export interface LoginAttempt {
  email: string;
  password: string;
  /** The client's address, for the per-address throttle. */
  address: string;
}

export interface SessionUser {
  user: User;
  store: { id: number; name: string };
}

export interface LoggedIn extends SessionUser {
  /** The cookie's value: shown once, stored only as its SHA-256. */
  token: string;
  csrfToken: string;
  expiresAt: number;
}

/** A session as the auth hook sees it. */
export interface ActiveSession extends SessionUser {
  role: Role;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * The CSRF token belongs to the session: derived from its secret token, so it needs no storage,
 * is readable again by `GET /v1/session`, and cannot be computed by a page that lacks the cookie.
 */
export function csrfTokenFor(token: string): string {
  return createHash('sha256').update(`csrf:${token}`).digest('base64url');
}

export function csrfMatches(token: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const expected = Buffer.from(csrfTokenFor(token));
  const actual = Buffer.from(given);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

async function failuresSince(db: Kysely<DB>, subject: string, since: number): Promise<{ n: number; oldest: number }> {
  const row = await db
    .selectFrom('login_failures')
    .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.min('at').as('oldest')])
    .where('subject', '=', subject)
    .where('at', '>', since)
    .executeTakeFirstOrThrow();
  return { n: Number(row.n), oldest: Number(row.oldest ?? 0) };
}

async function checkThrottle(db: Kysely<DB>, subjects: [string, number][], now: number): Promise<void> {
  for (const [subject, max] of subjects) {
    const { n, oldest } = await failuresSince(db, subject, now - THROTTLE_WINDOW_MS);
    if (n >= max) throw new RateLimitedError(Math.max(1, Math.ceil((oldest + THROTTLE_WINDOW_MS - now) / 1000)));
  }
}

/**
 * Logs a staff user in: checks the throttle, the password (scrypt, outside any transaction),
 * then stores the new session (or the failure).
 *
 * It can throw: RateLimitedError (too many recent failures for the account or the address),
 * UnauthorizedError (wrong e-mail or password, or a deactivated account).
 */
export async function logIn(db: Kysely<DB>, committer: Committer, attempt: LoginAttempt): Promise<LoggedIn> {
  const email = attempt.email.trim().toLowerCase();
  const now = Date.now();
  const subjects: [string, number][] = [
    [`account:${email}`, MAX_FAILURES_PER_ACCOUNT],
    [`address:${attempt.address}`, MAX_FAILURES_PER_ADDRESS],
  ];
  await checkThrottle(db, subjects, now);
  const candidates = await db
    .selectFrom('users')
    .innerJoin('stores', 'stores.id', 'users.store_id')
    .selectAll('users')
    .select('stores.name as store_name')
    .where('users.email', '=', email)
    .where('users.active', '=', 1)
    .orderBy('users.id')
    .limit(10)
    .execute();
  let match: (typeof candidates)[number] | undefined;
  for (const c of candidates) {
    if (await verifyPassword(attempt.password, c.password_hash)) {
      match = c;
      break;
    }
  }
  if (candidates.length === 0) await verifyPassword(attempt.password, await DUMMY_HASH);
  if (!match) {
    await committer.run((trx) => trx.insertInto('login_failures').values(subjects.map(([subject]) => ({ subject, at: now }))).execute());
    throw new UnauthorizedError('The e-mail or the password is wrong');
  }
  const user = match;
  const token = randomBytes(32).toString('base64url');
  const expiresAt = now + SESSION_TTL_MS;
  await committer.run(async (trx) => {
    await trx.deleteFrom('login_failures').where('subject', '=', `account:${email}`).execute();
    await trx.deleteFrom('login_failures').where('at', '<', now - THROTTLE_WINDOW_MS).execute();
    await trx
      .insertInto('sessions')
      .values({ token_hash: sha256(token), store_id: user.store_id, user_id: user.id, created_at: now, expires_at: expiresAt, revoked_at: null })
      .execute();
  });
  return {
    user: toUser(user),
    store: { id: Number(user.store_id), name: user.store_name },
    token,
    csrfToken: csrfTokenFor(token),
    expiresAt,
  };
}

/**
 * Starts a session for a user without a password check (the first-run setup logs its owner in).
 *
 * Needs: a transaction.
 */
export async function startSession(trx: Trx, storeId: number, userId: number): Promise<{ token: string; csrfToken: string; expiresAt: number }> {
  const token = randomBytes(32).toString('base64url');
  const now = Date.now();
  const expiresAt = now + SESSION_TTL_MS;
  await trx
    .insertInto('sessions')
    .values({ token_hash: sha256(token), store_id: storeId, user_id: userId, created_at: now, expires_at: expiresAt, revoked_at: null })
    .execute();
  return { token, csrfToken: csrfTokenFor(token), expiresAt };
}

/** The live session this cookie token stands for (not expired, not revoked, user active), or undefined. */
export async function findSession(db: Kysely<DB>, token: string): Promise<ActiveSession | undefined> {
  const row = await db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .innerJoin('stores', 'stores.id', 'sessions.store_id')
    .selectAll('users')
    .select('stores.name as store_name')
    .where('sessions.token_hash', '=', sha256(token))
    .where('sessions.revoked_at', 'is', null)
    .where('sessions.expires_at', '>', Date.now())
    .where('users.active', '=', 1)
    .executeTakeFirst();
  if (!row) return undefined;
  return { user: toUser(row), store: { id: Number(row.store_id), name: row.store_name }, role: row.role };
}

/** Ends a session (logout). Needs: a transaction. */
export async function revokeSession(trx: Trx, token: string): Promise<void> {
  await trx.updateTable('sessions').set({ revoked_at: Date.now() }).where('token_hash', '=', sha256(token)).where('revoked_at', 'is', null).execute();
}
