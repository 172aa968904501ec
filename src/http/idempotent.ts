import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Trx } from '../db/committer.js';
import type { DomainError } from '../domain/errors.js';
import { checkIdempotencyKey, peekStored, requestHash, type StoredResponse, withIdempotency } from '../ledger/idempotency.js';
import { principal } from './auth.js';
import type { AppContext } from './context.js';
import { toHttpError } from './errors.js';

/** Refusals by a business rule once the work began: stored and replayed (API.md, Idempotency-Key). */
const STORED_REFUSALS = new Set([403, 404, 409, 422]);
const NEVER_STORED = new Set(['validation_error', 'idempotency_key_reused', 'idempotency_key_in_progress']);

function storedRefusal(err: DomainError): { status: number; body: unknown } | undefined {
  const { status, body } = toHttpError(err);
  return STORED_REFUSALS.has(status) && !NEVER_STORED.has(body.error.code) ? { status, body } : undefined;
}

function idempotencyKeyOf(req: FastifyRequest): string | undefined {
  const header = req.headers['idempotency-key'];
  return Array.isArray(header) ? header[0] : header;
}

function send(reply: FastifyReply, stored: StoredResponse): FastifyReply {
  if (stored.replayed) reply.header('idempotent-replayed', 'true');
  return reply.status(stored.status).send(stored.body);
}

/**
 * For a POST that stores nothing (a dry run): with an Idempotency-Key already used, the stored
 * response when the request is the same, `409 idempotency_key_reused` when it is not; otherwise
 * runs `read` and sends its result.
 */
export async function sendRead<T>(ctx: AppContext, req: FastifyRequest, reply: FastifyReply, read: () => Promise<T>): Promise<FastifyReply> {
  const key = idempotencyKeyOf(req);
  if (key !== undefined) {
    const { storeId } = principal(req);
    const hash = requestHash(req.method, req.url, req.body);
    const stored = await ctx.committer.run((trx) => peekStored(trx, { storeId, key: checkIdempotencyKey(key), hash }));
    if (stored) return send(reply, stored);
  }
  return reply.send(await read());
}

/**
 * Runs a POST's write in one transaction, honouring its Idempotency-Key, and sends the response.
 * A replayed response carries `Idempotent-Replayed: true`.
 */
export async function sendWrite<T>(
  ctx: AppContext,
  req: FastifyRequest,
  reply: FastifyReply,
  status: number,
  work: (trx: Trx) => Promise<T>,
  present: (result: T) => unknown = (r) => r,
): Promise<FastifyReply> {
  const key = idempotencyKeyOf(req);
  if (key === undefined) {
    const result = await ctx.committer.run(work);
    return reply.status(status).send(present(result));
  }
  const { storeId } = principal(req);
  const stored = await withIdempotency(
    ctx.committer,
    { storeId, key: checkIdempotencyKey(key), hash: requestHash(req.method, req.url, req.body), status },
    work,
    present,
    storedRefusal,
  );
  return send(reply, stored);
}
