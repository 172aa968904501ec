import type { Trx } from '../db/committer.js';
import { createHash, randomBytes, scrypt } from 'node:crypto';
import { promisify } from 'node:util';
import type { Kysely } from 'kysely';
import { NotFoundError, ValidationError } from '../domain/errors.js';
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
export async function createApiKey(trx: Trx, storeId: number, name: string): Promise<{ id: number; key: string }> {
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
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: row.id, key };
}

/** The store and actor an API key stands for, or undefined for an unknown or revoked key. */
export async function authenticateApiKey(db: Kysely<DB>, key: string): Promise<ApiKeyPrincipal | undefined> {
  const row = await db
    .selectFrom('api_keys')
    .select(['id', 'store_id', 'name', 'key_prefix'])
    .where('key_hash', '=', hashApiKey(key))
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  if (!row) return undefined;
  return { storeId: row.store_id, actor: { type: 'api_key', id: row.id, name: `${row.name} (${row.key_prefix}…)` } };
}

/**
 * Revokes one of a store's API keys: from now on it authenticates nothing (instances that cached
 * it stop accepting it within AUTH_CACHE_TTL_MS; the revoking instance forgets it at once).
 * Revoking a key twice keeps its first revocation time.
 *
 * Needs: a transaction. It can throw: NotFoundError (no such key in this store).
 */
export async function revokeApiKey(trx: Trx, storeId: number, id: number): Promise<void> {
  const row = await trx.selectFrom('api_keys').select('revoked_at').where('store_id', '=', storeId).where('id', '=', id).executeTakeFirst();
  if (!row) throw new NotFoundError('API key', id);
  if (row.revoked_at !== null) return;
  await trx.updateTable('api_keys').set({ revoked_at: Date.now() }).where('store_id', '=', storeId).where('id', '=', id).execute();
}
