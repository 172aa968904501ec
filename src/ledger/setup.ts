import { sql, type Kysely } from 'kysely';
import type { Committer } from '../db/committer.js';
import { dialectOf } from '../db/dialect-of.js';
import type { DB } from '../db/schema.js';
import { AlreadySetUpError, ValidationError } from '../domain/errors.js';
import { seedCustomers } from './seed.js';
import { startSession } from './sessions.js';
import { createStore } from './stores.js';
import { toUser, type User } from './users.js';

export const SAMPLE_CUSTOMERS_MAX = 100_000;

export interface FirstRun {
  storeName: string;
  ownerEmail: string;
  ownerPassword: string;
  /** How many sample customers to add (0: none). */
  sampleCustomers?: number;
}

export interface SetUp {
  store: { id: number; name: string };
  user: User;
  session: { token: string; csrfToken: string; expiresAt: number };
}

/** Whether the database holds no store yet (the admin app then shows its first-run page). */
export async function needsSetup(db: Kysely<DB>): Promise<boolean> {
  return (await db.selectFrom('stores').select('id').limit(1).executeTakeFirst()) === undefined;
}

/**
 * First run: creates the store and its owner (logged in at once), then the sample customers.
 * Two racing setups cannot both succeed: PostgreSQL locks the stores table for the check,
 * SQLite's single writer (BEGIN IMMEDIATE) serialises them anyway.
 *
 * It can throw: AlreadySetUpError, ValidationError.
 */
export async function setUp(db: Kysely<DB>, committer: Committer, input: FirstRun): Promise<SetUp> {
  const samples = input.sampleCustomers ?? 0;
  if (!Number.isSafeInteger(samples) || samples < 0 || samples > SAMPLE_CUSTOMERS_MAX) {
    throw new ValidationError(`sampleCustomers must be 0–${SAMPLE_CUSTOMERS_MAX}`, 'sampleCustomers');
  }
  const done = await committer.run(async (trx) => {
    if (dialectOf(trx) === 'postgres') await sql`LOCK TABLE stores IN SHARE ROW EXCLUSIVE MODE`.execute(trx);
    if (!(await needsSetup(trx))) throw new AlreadySetUpError();
    const created = await createStore(trx, { name: input.storeName, ownerEmail: input.ownerEmail, ownerPassword: input.ownerPassword });
    const owner = await trx.selectFrom('users').selectAll().where('store_id', '=', created.store.id).executeTakeFirstOrThrow();
    return { store: created.store, user: toUser(owner), session: await startSession(trx, created.store.id, Number(owner.id)) };
  });
  if (samples > 0) await seedCustomers(db, committer, done.store.id, samples);
  return { ...done, store: { id: Number(done.store.id), name: done.store.name } };
}
