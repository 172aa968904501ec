import { createHash } from 'node:crypto';
import { DomainError, IdempotencyKeyInProgressError, IdempotencyKeyReusedError, ValidationError } from '../domain/errors.js';
import type { Committer, Trx } from '../db/committer.js';
import { isUniqueViolation } from '../db/errors.js';
import { codePoints } from '../domain/validation.js';

export interface StoredResponse {
  status: number;
  body: unknown;
  replayed: boolean;
}

/** Keys of requests this process is running right now. */
const inFlight = new Set<string>();

export function checkIdempotencyKey(key: string): string {
  if (key.length < 1 || codePoints(key) > 255) {
    throw new ValidationError('Idempotency-Key must be 1–255 characters', 'Idempotency-Key');
  }
  return key;
}

/** A stable hash of what a request asks for: same method, path and body (any key order). */
export function requestHash(method: string, url: string, body: unknown): string {
  return createHash('sha256').update(`${method} ${url}\n${canonicalJson(body)}`).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/**
 * Runs a write at most once per (store, key). The first response is stored in the same
 * transaction as the write, so a crash can never leave a key applied-but-unrecorded or
 * recorded-but-unapplied. A retry with the same request replays the stored response; with a
 * different request it is refused. A request refused by a business rule once it began
 * executing (`refusal(err)` gives its response) is stored too, in a transaction of its own
 * after the refused work rolled back, and replayed like a success; errors `refusal` does not
 * answer for (validation, rate limits, lost connections) are not stored, so a retry runs again.
 *
 * It can throw: IdempotencyKeyReusedError, IdempotencyKeyInProgressError, and whatever `work` throws.
 */
export async function withIdempotency<T>(
  committer: Committer,
  req: { storeId: number; key: string; hash: string; status: number },
  work: (trx: Trx) => Promise<T>,
  present: (result: T) => unknown,
  refusal: (err: DomainError) => { status: number; body: unknown } | undefined = () => undefined,
): Promise<StoredResponse> {
  const slot = `${req.storeId}:${req.key}`;
  if (inFlight.has(slot)) throw new IdempotencyKeyInProgressError();
  inFlight.add(slot);
  try {
    return await committer.run((trx) => runOnce(trx, req, work, present));
  } catch (err) {
    // Another process ran the same key at the same time and committed first: this attempt then
    // failed on the state it left (a unique index, insufficient points, already reversed…).
    // The contract is the first response again, so look for it before reporting the failure.
    if (isUniqueViolation(err) || err instanceof DomainError) {
      const stored = await committer.run((trx) => findStored(trx, req));
      if (stored) return stored;
    }
    const refused = err instanceof DomainError ? refusal(err) : undefined;
    if (!refused) throw err;
    return storeRefusal(committer, { ...req, status: refused.status }, refused.body);
  } finally {
    inFlight.delete(slot);
  }
}

async function storeRefusal(
  committer: Committer,
  req: { storeId: number; key: string; hash: string; status: number },
  body: unknown,
): Promise<StoredResponse> {
  try {
    await committer.run((trx) => insertStored(trx, req, body));
    return { status: req.status, body, replayed: false };
  } catch (err) {
    // Another process stored this key meanwhile: its response is the one to give.
    if (!isUniqueViolation(err)) throw err;
    const stored = await committer.run((trx) => findStored(trx, req));
    if (!stored) throw err;
    return stored;
  }
}

/**
 * The stored response for a key, for a request that would not store one (a dry run): a key
 * already used with another request is refused whatever this one asks.
 *
 * It can throw: IdempotencyKeyReusedError.
 */
export function peekStored(trx: Trx, req: { storeId: number; key: string; hash: string }): Promise<StoredResponse | undefined> {
  return findStored(trx, req);
}

export async function insertStored(trx: Trx, req: { storeId: number; key: string; hash: string; status: number }, body: unknown): Promise<void> {
  await trx
    .insertInto('idempotency_keys')
    .values({
      store_id: req.storeId,
      key: req.key,
      request_hash: req.hash,
      status_code: req.status,
      response_body: JSON.stringify(body),
      created_at: Date.now(),
    })
    .execute();
}

async function runOnce<T>(
  trx: Trx,
  req: { storeId: number; key: string; hash: string; status: number },
  work: (trx: Trx) => Promise<T>,
  present: (result: T) => unknown,
): Promise<StoredResponse> {
  const stored = await findStored(trx, req);
  if (stored) return stored;
  const body = present(await work(trx));
  await insertStored(trx, req, body);
  return { status: req.status, body, replayed: false };
}

async function findStored(
  trx: Trx,
  req: { storeId: number; key: string; hash: string },
): Promise<StoredResponse | undefined> {
  const row = await trx
    .selectFrom('idempotency_keys')
    .select(['request_hash', 'status_code', 'response_body'])
    .where('store_id', '=', req.storeId)
    .where('key', '=', req.key)
    .executeTakeFirst();
  if (!row) return undefined;
  if (row.request_hash !== req.hash) throw new IdempotencyKeyReusedError();
  return { status: row.status_code, body: JSON.parse(row.response_body), replayed: true };
}
