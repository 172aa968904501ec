import type { FastifyRequest } from 'fastify';
import { NotFoundError } from '../domain/errors.js';
import { DEFAULT_AGENT_POINT_LIMIT, requirePermission, requireWithinAgentLimit, type Permission } from '../domain/roles.js';
import { getCustomer } from '../ledger/customers.js';
import type { AppContext } from './context.js';
import { principal } from './auth.js';

/**
 * Routes a role below admin may change: single-customer writes (agents). Every other
 * state-changing route needs `manage` (owner or admin), so a route added later is closed to
 * agents and viewers until it is listed here. Reads are open to every role except those in
 * MANAGE_READS.
 */
const SINGLE_CUSTOMER_WRITES = new Set([
  'POST /v1/customers',
  'POST /v1/customers/:id/adjustments',
  'POST /v1/customers/:id/reset',
  'POST /v1/transactions/:id/reverse',
  'POST /v1/customers/:id/pending/:transactionId/cancel',
  'POST /v1/customers/:id/rewards',
  'POST /v1/coupons/:code/disable',
]);
const MANAGE_READS = new Set(['GET /v1/users', 'GET /v1/api-keys']);

function permissionFor(method: string, url: string): Permission {
  const route = `${method} ${url}`;
  if (method === 'GET' || method === 'HEAD') return MANAGE_READS.has(route) ? 'manage' : 'read';
  return SINGLE_CUSTOMER_WRITES.has(route) ? 'single_customer' : 'manage';
}

/** onRequest, after authentication: the role may make this kind of request at all (`403 forbidden`). */
export function authorize() {
  return async function checkRole(req: FastifyRequest): Promise<void> {
    requirePermission(principal(req).role, permissionFor(req.method, req.routeOptions.url ?? req.url));
  };
}

async function agentPointLimit(ctx: AppContext, storeId: number): Promise<number> {
  const row = await ctx.database.db.selectFrom('stores').select('settings').where('id', '=', storeId).executeTakeFirst();
  const limit = (JSON.parse(row?.settings ?? '{}') as { agentPointLimit?: unknown }).agentPointLimit;
  return typeof limit === 'number' && Number.isSafeInteger(limit) && limit >= 0 ? limit : DEFAULT_AGENT_POINT_LIMIT;
}

/** The points a single-customer write would move, read before it runs (for the agent's limit). */
async function pointsMoved(ctx: AppContext, req: FastifyRequest, storeId: number): Promise<number> {
  const id = (req.params as { id: number }).id;
  switch (req.routeOptions.url) {
    case '/v1/customers/:id/adjustments':
      return (req.body as { points: number }).points;
    case '/v1/customers/:id/reset':
      return (await getCustomer(ctx.database.db, storeId, id)).balance;
    case '/v1/transactions/:id/reverse': {
      const row = await ctx.database.db
        .selectFrom('transactions')
        .select('points')
        .where('store_id', '=', storeId)
        .where('id', '=', id)
        .executeTakeFirst();
      if (!row) throw new NotFoundError('transaction', id);
      return Number(row.points);
    }
    case '/v1/customers/:id/rewards':
      return -(await rewardCost(ctx, storeId, (req.body as { rewardId: number }).rewardId));
    default:
      return 0;
  }
}

/**
 * What a reward is worth in points, for the limit whether it is paid with points or given free (a
 * free coupon worth 5,000 points is a gift of 5,000 points); 0 for an unknown one (the service answers 404).
 */
async function rewardCost(ctx: AppContext, storeId: number, rewardId: number): Promise<number> {
  const row = await ctx.database.db.selectFrom('rewards').select('points_cost').where('store_id', '=', storeId).where('id', '=', rewardId).executeTakeFirst();
  return row ? Number(row.points_cost) : 0;
}

/**
 * preHandler (the body is parsed by then): an agent's adjustment, reset, reversal or reward given moves at most
 * the store's `agentPointLimit` points (settings; 1,000 when unset).
 */
export function agentLimit(ctx: AppContext) {
  return async function checkAgentLimit(req: FastifyRequest): Promise<void> {
    const { role, storeId } = principal(req);
    if (role !== 'agent' || req.method !== 'POST') return;
    const points = await pointsMoved(ctx, req, storeId);
    if (points !== 0) requireWithinAgentLimit(role, points, await agentPointLimit(ctx, storeId));
  };
}
