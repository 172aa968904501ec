import type { Kysely } from 'kysely';
import type { Trx } from '../db/committer.js';
import type { DB } from '../db/schema.js';
import { NotFoundError, ValidationError } from '../domain/errors.js';
import { MESSAGE_MAX, optionalText, validEmail } from '../domain/validation.js';
import { expiryPreview } from './expiry.js';

export type ExpiryMode = 'none' | 'per_credit' | 'inactivity';

/** A store's settings as the API shows them. */
export interface Settings {
  expiry: { mode: ExpiryMode; days: number | null };
  defaultCustomerMessage: string | null;
  notifyEmail: string | null;
  /** What one point is worth in the store's currency (reports' liability), or null. */
  pointValue: number | null;
  /** The points an agent may move in one adjustment. */
  agentPointLimit: number | null;
}

export type SettingsInput = Partial<{
  expiry: { mode: ExpiryMode; days?: number | null };
  defaultCustomerMessage: string | null;
  notifyEmail: string | null;
  pointValue: number | null;
  agentPointLimit: number | null;
}>;

export const MAX_EXPIRY_DAYS = 3650;
const NONE: Settings = { expiry: { mode: 'none', days: null }, defaultCustomerMessage: null, notifyEmail: null, pointValue: null, agentPointLimit: null };

/** It can throw: NotFoundError. */
export async function getSettings(db: Kysely<DB>, storeId: number): Promise<Settings> {
  const row = await db.selectFrom('stores').select(['settings', 'expiry_mode', 'expiry_days']).where('id', '=', storeId).executeTakeFirst();
  if (!row) throw new NotFoundError('store', storeId);
  const json = JSON.parse(row.settings) as Record<string, unknown>;
  const pick = <T>(key: string, ok: (v: unknown) => boolean): T | null => (ok(json[key]) ? (json[key] as T) : null);
  return {
    expiry: { mode: row.expiry_mode as ExpiryMode, days: row.expiry_days },
    defaultCustomerMessage: pick<string>('defaultCustomerMessage', (v) => typeof v === 'string'),
    notifyEmail: pick<string>('notifyEmail', (v) => typeof v === 'string'),
    pointValue: pick<number>('pointValue', (v) => typeof v === 'number'),
    agentPointLimit: pick<number>('agentPointLimit', (v) => typeof v === 'number'),
  };
}

/**
 * Replaces (`replace: true`, PUT) or changes (PATCH) the store's settings. A change of the expiry
 * rule takes effect at the next expiry run; previewSettings tells what that run would take.
 *
 * Needs: a transaction. It can throw: ValidationError, NotFoundError.
 */
export async function changeSettings(trx: Trx, storeId: number, input: SettingsInput, opts: { replace: boolean }): Promise<{ settings: Settings }> {
  const next = validSettings({ ...(opts.replace ? NONE : await getSettings(trx, storeId)), ...input });
  const { expiry, ...rest } = next;
  const row = await trx.selectFrom('stores').select('settings').where('id', '=', storeId).executeTakeFirstOrThrow();
  const json = { ...(JSON.parse(row.settings) as Record<string, unknown>), ...rest };
  await trx.updateTable('stores').set({ settings: JSON.stringify(json), expiry_mode: expiry.mode, expiry_days: expiry.days }).where('id', '=', storeId).execute();
  return { settings: next };
}

/**
 * What the first expiry run under the settings `input` would expire at `now` (default now),
 * changing nothing: a scan of the store's customers and lots, so it takes a read handle (the
 * reader threads on SQLite), never the write lock.
 *
 * It can throw: ValidationError, NotFoundError.
 */
export async function previewSettings(
  db: Kysely<DB>,
  storeId: number,
  input: SettingsInput,
  opts: { replace: boolean; now?: number },
): Promise<{ preview: { customers: number; points: number } }> {
  const next = validSettings({ ...(opts.replace ? NONE : await getSettings(db, storeId)), ...input });
  return { preview: await expiryPreview(db, storeId, next.expiry, opts.now ?? Date.now()) };
}

function validSettings(s: Settings | (Omit<Settings, 'expiry'> & { expiry: { mode: ExpiryMode; days?: number | null } })): Settings {
  const { mode } = s.expiry;
  const days = s.expiry.days ?? null;
  if (mode !== 'none' && (days === null || !Number.isInteger(days) || days < 1 || days > MAX_EXPIRY_DAYS)) {
    throw new ValidationError(`expiry.days must be a whole number of days from 1 to ${MAX_EXPIRY_DAYS} for mode ${mode}`, 'expiry.days');
  }
  if (s.pointValue !== null && (!Number.isFinite(s.pointValue) || s.pointValue < 0)) throw new ValidationError('pointValue must be a number ≥ 0', 'pointValue');
  if (s.agentPointLimit !== null && (!Number.isSafeInteger(s.agentPointLimit) || s.agentPointLimit < 0)) {
    throw new ValidationError('agentPointLimit must be a whole number ≥ 0', 'agentPointLimit');
  }
  return {
    expiry: { mode, days: mode === 'none' ? null : days },
    defaultCustomerMessage: optionalText(s.defaultCustomerMessage, 'defaultCustomerMessage', MESSAGE_MAX),
    notifyEmail: validEmail(s.notifyEmail ?? undefined, 'notifyEmail'),
    pointValue: s.pointValue,
    agentPointLimit: s.agentPointLimit,
  };
}
