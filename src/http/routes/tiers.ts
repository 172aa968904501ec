import type { FastifyPluginAsync } from 'fastify';
import { changeSettings, getSettings, previewSettings, type SettingsInput } from '../../ledger/settings.js';
import { assignTier, listTiers, replaceTiers, tierHistory } from '../../ledger/tiers.js';
import { principal } from '../auth.js';
import type { AppContext } from '../context.js';
import { commonErrors, idParams } from '../schemas/common.js';
import { assignTierBody, settingsAnswer, settingsBody, settingsQuery, tierHistoryAnswer, tiersAnswer, tiersBody } from '../schemas/tiers.js';
import type { SchemaTypes } from '../type-provider.js';

/** The tier table, manual tiers, and the store's settings (expiry rule, messages, point value). */
export const tierRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  const routes = app.withTypeProvider<SchemaTypes>();

  routes.get('/v1/tiers', {
    schema: { tags: ['tiers'], summary: "The store's VIP tiers, lowest threshold first", response: { 200: tiersAnswer, ...commonErrors } },
    handler: (req) => listTiers(ctx.database.db, principal(req).storeId),
  });

  routes.put('/v1/tiers', {
    schema: {
      tags: ['tiers'],
      summary: 'Replace the tier table (tiers keep their ids by name; left-out tiers are retired); customers are re-evaluated by a job',
      body: tiersBody,
      response: { 200: tiersAnswer, ...commonErrors },
    },
    handler: async (req) => {
      const { storeId, actor } = principal(req);
      const result = await ctx.committer.run((trx) => replaceTiers(trx, storeId, [...req.body], actor));
      if (result.job) ctx.workers?.wake();
      return result;
    },
  });

  routes.put('/v1/customers/:id/tier', {
    schema: {
      tags: ['tiers'],
      summary: 'Assign a tier by hand (up or down; holds until cleared), or clear the assignment with tierId null',
      params: idParams,
      body: assignTierBody,
      response: {
        200: { type: 'object', properties: { customer: { $ref: 'Customer#' } }, required: ['customer'] },
        404: { $ref: 'Error#' },
       
        ...commonErrors,
      },
    },
    handler: (req) => {
      const { storeId, actor } = principal(req);
      return ctx.committer.run((trx) => assignTier(trx, storeId, req.params.id, req.body, actor));
    },
  });

  routes.get('/v1/customers/:id/tier-history', {
    schema: {
      tags: ['tiers'],
      summary: "A customer's tier moves (by points, by hand, by a tier-table change), newest first",
      params: idParams,
      response: { 200: tierHistoryAnswer, 404: { $ref: 'Error#' }, ...commonErrors },
    },
    handler: (req) => tierHistory(ctx.database.db, principal(req).storeId, req.params.id),
  });

  routes.get('/v1/settings', {
    schema: { tags: ['settings'], summary: "The store's settings", response: { 200: { $ref: 'Settings#' }, ...commonErrors } },
    handler: (req) => getSettings(ctx.database.db, principal(req).storeId),
  });

  for (const method of ['put', 'patch'] as const) {
    routes[method]('/v1/settings', {
      schema: {
        tags: ['settings'],
        summary: method === 'put'
          ? "Replace the store's settings (dryRun: what the first expiry run under them would expire)"
          : "Change some of the store's settings (dryRun: what the first expiry run under them would expire)",
        querystring: settingsQuery,
        body: settingsBody,
        response: { 200: settingsAnswer, ...commonErrors },
      },
      handler: (req) => {
        const { storeId } = principal(req);
        const input = req.body as SettingsInput;
        const replace = method === 'put';
        if (req.query.dryRun) return previewSettings(ctx.database.scans.of(storeId), storeId, input, { replace });
        return ctx.committer.run((trx) => changeSettings(trx, storeId, input, { replace }));
      },
    });
  }
};
