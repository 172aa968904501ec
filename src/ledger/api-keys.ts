import type { Kysely, Selectable } from 'kysely';
import type { Trx } from '../db/committer.js';
import type { ApiKeysTable, DB } from '../db/schema.js';
import { NotFoundError, ValidationError } from '../domain/errors.js';
import type { Role } from '../domain/roles.js';
import { NAME_MAX, optionalText } from '../domain/validation.js';
import { createApiKey } from './stores.js';

/** The roles a key may carry: a key is never an owner (it cannot manage owners). */
export const API_KEY_ROLES: readonly Role[] = ['admin', 'agent', 'viewer'];

export interface ApiKey {
  id: number;
  name: string;
  role: Role;
  prefix: string;
  createdAt: string;
  revokedAt: string | null;
}

export interface CreatedApiKey {
  apiKey: ApiKey;
  /** Shown once; only its SHA-256 is stored. */
  key: string;
}

function toApiKey(row: Selectable<ApiKeysTable>): ApiKey {
  return {
    id: Number(row.id),
    name: row.name,
    role: row.role ?? 'admin',
    prefix: row.key_prefix,
    createdAt: new Date(Number(row.created_at)).toISOString(),
    revokedAt: row.revoked_at === null ? null : new Date(Number(row.revoked_at)).toISOString(),
  };
}

export async function listApiKeys(db: Kysely<DB>, storeId: number): Promise<ApiKey[]> {
  const rows = await db.selectFrom('api_keys').selectAll().where('store_id', '=', storeId).orderBy('id').limit(1000).execute();
  return rows.map(toApiKey);
}

/**
 * Issues a named API key with a role (admin when none is given).
 *
 * Needs: a transaction. It can throw: ValidationError.
 */
export async function issueApiKey(trx: Trx, storeId: number, input: { name?: string; role?: Role }): Promise<CreatedApiKey> {
  const name = optionalText(input.name, 'name', NAME_MAX) ?? 'API key';
  const role = input.role ?? 'admin';
  if (!API_KEY_ROLES.includes(role)) throw new ValidationError(`role must be one of ${API_KEY_ROLES.join(', ')}`, 'role');
  const { id, key } = await createApiKey(trx, storeId, name, role);
  const row = await trx.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  return { apiKey: toApiKey(row), key };
}

/**
 * Revokes a key (again: a no-op). Needs: a transaction. It can throw: NotFoundError.
 */
export async function revokeApiKey(trx: Trx, storeId: number, id: number): Promise<ApiKey> {
  const row = await trx.selectFrom('api_keys').selectAll().where('store_id', '=', storeId).where('id', '=', id).executeTakeFirst();
  if (!row) throw new NotFoundError('api key', id);
  if (row.revoked_at !== null) return toApiKey(row);
  const updated = await trx
    .updateTable('api_keys')
    .set({ revoked_at: Date.now() })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
  return toApiKey(updated);
}
