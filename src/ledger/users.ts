import { randomBytes } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import type { Trx } from '../db/committer.js';
import { isUniqueViolation } from '../db/errors.js';
import type { DB, UsersTable } from '../db/schema.js';
import { LastOwnerError, NotFoundError, UserExistsError, ValidationError } from '../domain/errors.js';
import { requireMayAssign, ROLES, type Role } from '../domain/roles.js';
import { NAME_MAX, optionalText, validEmail } from '../domain/validation.js';
import { hashPassword } from './stores.js';

export const PASSWORD_MIN = 8;
const PASSWORD_MAX = 200;

/** A staff account as the API shows it (never its password hash). */
export interface User {
  id: number;
  email: string;
  name: string;
  role: Role;
  active: boolean;
  createdAt: string;
}

export interface NewUser {
  email: string;
  name?: string;
  role: Role;
  /** Without one, a one-time password is generated and returned once. */
  password?: string;
}

export interface CreatedUser {
  user: User;
  oneTimePassword?: string;
}

export interface UserChange {
  role?: Role;
  active?: boolean;
}

export function toUser(row: Selectable<UsersTable>): User {
  return {
    id: Number(row.id),
    email: row.email,
    name: row.name,
    role: row.role,
    active: Number(row.active) === 1,
    createdAt: new Date(Number(row.created_at)).toISOString(),
  };
}

/** It can throw: ValidationError. */
export function validPassword(password: unknown, field = 'password'): string {
  if (typeof password !== 'string' || password.length < PASSWORD_MIN || password.length > PASSWORD_MAX) {
    throw new ValidationError(`${field} must be ${PASSWORD_MIN}–${PASSWORD_MAX} characters`, field);
  }
  return password;
}

function validRole(role: unknown): Role {
  if (!ROLES.includes(role as Role)) throw new ValidationError(`role must be one of ${ROLES.join(', ')}`, 'role');
  return role as Role;
}

/** 15 random characters, to hand over once and change at first login. */
function oneTimePassword(): string {
  return randomBytes(12).toString('base64url');
}

export async function listUsers(db: Kysely<DB>, storeId: number): Promise<User[]> {
  const rows = await db.selectFrom('users').selectAll().where('store_id', '=', storeId).orderBy('id').limit(1000).execute();
  return rows.map(toUser);
}

/**
 * Adds a staff account to a store. `by` is the role of whoever asks (only an owner creates owners).
 *
 * Needs: a transaction. It can throw: ValidationError, ForbiddenError, UserExistsError.
 */
export async function createUser(trx: Trx, storeId: number, input: NewUser, by: Role = 'owner'): Promise<CreatedUser> {
  const email = validEmail(input.email, 'email');
  if (email === null) throw new ValidationError('email is required', 'email');
  const role = validRole(input.role);
  requireMayAssign(by, role);
  const generated = input.password === undefined ? oneTimePassword() : undefined;
  const password = validPassword(input.password ?? generated);
  const name = optionalText(input.name, 'name', NAME_MAX) ?? email;
  const exists = await trx.selectFrom('users').select('id').where('store_id', '=', storeId).where('email', '=', email).executeTakeFirst();
  if (exists) throw new UserExistsError(email);
  try {
    const row = await trx
      .insertInto('users')
      .values({ store_id: storeId, email, name, role, password_hash: await hashPassword(password), created_at: Date.now() })
      .returningAll()
      .executeTakeFirstOrThrow();
    return { user: toUser(row), ...(generated ? { oneTimePassword: generated } : {}) };
  } catch (err) {
    if (isUniqueViolation(err)) throw new UserExistsError(email);
    throw err;
  }
}

/**
 * Changes a user's role or deactivates (reactivates) them. Deactivating ends their sessions.
 * The store always keeps one active owner.
 *
 * Needs: a transaction. It can throw: NotFoundError, ValidationError, ForbiddenError, LastOwnerError.
 */
export async function updateUser(trx: Trx, storeId: number, id: number, change: UserChange, by: Role): Promise<User> {
  const row = await trx.selectFrom('users').selectAll().where('store_id', '=', storeId).where('id', '=', id).executeTakeFirst();
  if (!row) throw new NotFoundError('user', id);
  const role = change.role === undefined ? row.role : validRole(change.role);
  const active = change.active === undefined ? Number(row.active) === 1 : change.active;
  if (role !== row.role || !active) requireMayAssign(by, role, row.role);
  if (row.role === 'owner' && (role !== 'owner' || !active)) {
    const owners = await trx
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('store_id', '=', storeId)
      .where('role', '=', 'owner')
      .where('active', '=', 1)
      .where('id', '!=', id)
      .executeTakeFirstOrThrow();
    if (Number(owners.n) === 0) throw new LastOwnerError();
  }
  const updated = await trx
    .updateTable('users')
    .set({ role, active: active ? 1 : 0 })
    .where('store_id', '=', storeId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
  if (!active) {
    await trx.updateTable('sessions').set({ revoked_at: Date.now() }).where('user_id', '=', id).where('revoked_at', 'is', null).execute();
  }
  return toUser(updated);
}

/**
 * Sets a new password for the account with this e-mail (in `storeId`, needed when several stores
 * have one) and ends its sessions. Returns the password (generated when none is given).
 *
 * Needs: a transaction. It can throw: NotFoundError, ValidationError.
 */
export async function resetPassword(trx: Trx, email: string, password?: string, storeId?: number): Promise<string> {
  const address = validEmail(email, 'email');
  if (address === null) throw new ValidationError('email is required', 'email');
  let q = trx.selectFrom('users').select(['id', 'store_id']).where('email', '=', address);
  if (storeId !== undefined) q = q.where('store_id', '=', storeId);
  const rows = await q.limit(2).execute();
  if (rows.length === 0) throw new NotFoundError('user');
  if (rows.length > 1) throw new ValidationError('Several stores have a user with this e-mail; name the store', 'store');
  const next = validPassword(password ?? oneTimePassword());
  await trx.updateTable('users').set({ password_hash: await hashPassword(next) }).where('id', '=', rows[0].id).execute();
  await trx.updateTable('sessions').set({ revoked_at: Date.now() }).where('user_id', '=', rows[0].id).where('revoked_at', 'is', null).execute();
  return next;
}
