import type { SchemaTypes } from '../type-provider.js';
import type { FastifyPluginAsync } from 'fastify';
import { authenticateStorefront, STOREFRONT_PAGE, storefrontView } from '../../ledger/storefront.js';
import type { AppContext } from '../context.js';
import { pageRequest } from '../paging.js';
import { openErrors } from '../schemas/common.js';
import { storefrontHeaders, storefrontParams, storefrontQuery, storefrontReply } from '../schemas/rewards.js';

/**
 * The customer-facing read of one customer's account. No API key: the shop's digest of the
 * customer's external id authenticates it (see authenticateStorefront). Registered outside the
 * keyed routes, under the per-address limit of unauthenticated traffic. Runs on the read handle
 * (SQLite: the reader threads), so a shop's traffic never queues behind writes.
 */
export const storefrontRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  const routes = app.withTypeProvider<SchemaTypes>();
  const read = ctx.database.read;

  routes.get('/v1/storefront/:storeId/customers/:externalId', {
    schema: {
      tags: ['storefront'],
      summary: "A customer's points, tier, coupons and history as they may see them (authenticated by Tally-Customer-Digest)",
      security: [],
      params: storefrontParams,
      headers: storefrontHeaders,
      querystring: storefrontQuery,
      response: { 200: storefrontReply, 401: { $ref: 'Error#' }, ...openErrors },
    },
    handler: async (req) => {
      const { storeId, externalId } = req.params;
      const page = pageRequest(STOREFRONT_PAGE, req.query.cursor);
      const digest = req.headers['tally-customer-digest'];
      const customerId = await authenticateStorefront(read, storeId, externalId, typeof digest === 'string' ? digest : undefined);
      return storefrontView(read, storeId, customerId, page);
    },
  });
};
