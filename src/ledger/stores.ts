import type { Trx } from '../db/committer.js';
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import type { Kysely } from 'kysely';
import { ValidationError } from '../domain/errors.js';
import type { Role } from '../domain/roles.js';
import type { Actor } from '../domain/types.js';
import { NAME_MAX, optionalText, validEmail } from '../domain/validation.js';
import type { DB } from '../db/schema.js';

const scryptAsync = promisify(scrypt) as (pw: string, salt: Buffer, len: number) => Promise<Buffer>;

export interface NewStore {
  name: string;
  ownerEmail?: string;
  ownerPassword?: string;
}

export interface CreatedStore {
  store: { id: number; name: string };
  /** Shown once; only its SHA-256 is stored. */
  apiKey: string;
  storefrontSecret: string;
}

export interface ApiKeyPrincipal {
  storeId: number;
  actor: Actor;
  role: Role;
}

/** API keys are 32 random bytes: a fast SHA-256 is the right hash (no dictionary to guess from). */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Passwords are low-entropy: scrypt with a per-user salt. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(password, salt, 32);
  return `scrypt$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** Whether a password matches a stored hashPassword() result; compared in constant time. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, saltText, hashText] = stored.split('$');
  if (scheme !== 'scrypt' || !saltText || !hashText) return false;
  const expected = Buffer.from(hashText, 'base64');
  const actual = await scryptAsync(password, Buffer.from(saltText, 'base64'), expected.length);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/**
 * Creates a store with its first API key (and optionally its owner account).
 *
 * Needs: a transaction. It can throw: ValidationError.
 */
export async function createStore(trx: Trx, input: NewStore): Promise<CreatedStore> {
  const name = optionalText(input.name, 'name', NAME_MAX);
  if (name === null) throw new ValidationError('A store needs a name', 'name');
  const ownerEmail = validEmail(input.ownerEmail, 'ownerEmail');
  if ((ownerEmail === null) !== (input.ownerPassword === undefined)) {
    throw new ValidationError('ownerEmail and ownerPassword go together', 'ownerEmail');
  }
  if (input.ownerPassword !== undefined && input.ownerPassword.length < 8) {
    throw new ValidationError('ownerPassword must be at least 8 characters', 'ownerPassword');
  }
  const now = Date.now();
  const storefrontSecret = randomBytes(32).toString('base64url');
  const store = await trx
    .insertInto('stores')
    .values({ name, storefront_secret: storefrontSecret, settings: '{}', created_at: now })
    .returning(['id', 'name'])
    .executeTakeFirstOrThrow();
  const { key } = await createApiKey(trx, store.id, 'Default key');
  if (ownerEmail !== null && input.ownerPassword !== undefined) {
    await trx
      .insertInto('users')
      .values({
        store_id: store.id,
        email: ownerEmail,
        name: ownerEmail,
        password_hash: await hashPassword(input.ownerPassword),
        role: 'owner',
        created_at: now,
      })
      .execute();
  }
  return { store, apiKey: key, storefrontSecret };
}

/** Issues a new API key for a store. The key itself is returned once and never stored. */
export async function createApiKey(
  trx: Trx,
  storeId: number,
  name: string,
  role: Role | null = null,
): Promise<{ id: number; key: string }> {
  const key = `tally_${randomBytes(32).toString('base64url')}`;
  const row = await trx
    .insertInto('api_keys')
    .values({
      store_id: storeId,
      name,
      key_prefix: key.slice(0, 12),
      key_hash: hashApiKey(key),
      created_at: Date.now(),
      revoked_at: null,
      role,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: row.id, key };
}

/** The store and actor an API key stands for, or undefined for an unknown or revoked key. */
export async function authenticateApiKey(db: Kysely<DB>, key: string): Promise<ApiKeyPrincipal | undefined> {
  const row = await db
    .selectFrom('api_keys')
    .select(['id', 'store_id', 'name', 'key_prefix', 'role'])
    .where('key_hash', '=', hashApiKey(key))
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    storeId: row.store_id,
    actor: { type: 'api_key', id: row.id, name: `${row.name} (${row.key_prefix}…)` },
    role: row.role ?? 'admin',
  };
}

