import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Trx } from '../db/committer.js';
import { checkIdempotencyKey, requestHash, withIdempotency } from '../ledger/idempotency.js';
import { principal } from './auth.js';
import type { AppContext } from './context.js';

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
  const header = req.headers['idempotency-key'];
  const key = Array.isArray(header) ? header[0] : header;
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
  );
  if (stored.replayed) reply.header('idempotent-replayed', 'true');
  return reply.status(stored.status).send(stored.body);
}
