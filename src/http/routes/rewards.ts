import type { SchemaTypes } from '../type-provider.js';
import type { FastifyPluginAsync } from 'fastify';
import { disableCoupon, giveReward, listCoupons } from '../../ledger/coupons.js';
import { createReward, getReward, listRewards, updateReward } from '../../ledger/rewards.js';
import { principal } from '../auth.js';
import type { AppContext } from '../context.js';
import { sendWrite } from '../idempotent.js';
import { pageRequest } from '../paging.js';
import { commonErrors, idempotencyHeader, idParams, pageSchema, pagingQuery, postErrors } from '../schemas/common.js';
import {
  couponParams,
  couponReply,
  giveRewardBody,
  newRewardBody,
  rewardChangeBody,
  rewardGivenReply,
  rewardListQuery,
  rewardReply,
} from '../schemas/rewards.js';

const notFound = { 404: { $ref: 'Error#' } } as const;

/** The rewards catalog, giving a reward to one customer, and their coupons. */
export const rewardRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  const routes = app.withTypeProvider<SchemaTypes>();
  const db = ctx.database.db;
  const tags = ['rewards'];

  routes.post('/v1/rewards', {
    schema: { tags, summary: 'Add a reward to the catalog', headers: idempotencyHeader, body: newRewardBody, response: { 201: rewardReply, ...commonErrors, ...postErrors } },
    handler: (req, reply) => sendWrite(ctx, req, reply, 201, (trx) => createReward(trx, principal(req).storeId, req.body), (reward) => ({ reward })),
  });

  routes.get('/v1/rewards', {
    schema: { tags, summary: 'The catalog, newest first', querystring: rewardListQuery, response: { 200: pageSchema('Reward'), ...commonErrors } },
    handler: (req) => {
      const { limit, cursor, active } = req.query;
      return listRewards(db, principal(req).storeId, { active }, pageRequest(limit, cursor));
    },
  });

  routes.get('/v1/rewards/:id', {
    schema: { tags, summary: 'One reward', params: idParams, response: { 200: rewardReply, ...notFound, ...commonErrors } },
    handler: async (req) => ({ reward: await getReward(db, principal(req).storeId, req.params.id) }),
  });

  routes.patch('/v1/rewards/:id', {
    schema: {
      tags,
      summary: 'Change name, cost, value, or disable it (`active: false`: no new coupon is issued for it)',
      params: idParams,
      body: rewardChangeBody,
      response: { 200: rewardReply, ...notFound, ...commonErrors, 413: { $ref: 'Error#' }, 415: { $ref: 'Error#' } },
    },
    handler: async (req) => ({ reward: await ctx.committer.run((trx) => updateReward(trx, principal(req).storeId, req.params.id, req.body)) }),
  });

  routes.post('/v1/customers/:id/rewards', {
    schema: {
      tags,
      summary: "Give a customer a reward on their behalf: a coupon, its cost deducted as a redemption (tier untouched) or free",
      params: idParams,
      headers: idempotencyHeader,
      body: giveRewardBody,
      response: { 201: rewardGivenReply, ...notFound, ...commonErrors, ...postErrors },
    },
    handler: (req, reply) => {
      const { storeId, actor } = principal(req);
      const key = req.headers['idempotency-key'] as string | undefined;
      return sendWrite(ctx, req, reply, 201, (trx) =>
        giveReward(trx, storeId, { ...req.body, customerId: req.params.id }, actor, { idempotencyKey: key }),
      );
    },
  });

  routes.get('/v1/customers/:id/coupons', {
    schema: {
      tags,
      summary: "A customer's coupons, newest first",
      params: idParams,
      querystring: { type: 'object', properties: pagingQuery, additionalProperties: false },
      response: { 200: pageSchema('Coupon'), ...notFound, ...commonErrors },
    },
    handler: (req) => listCoupons(db, principal(req).storeId, req.params.id, pageRequest(req.query.limit, req.query.cursor)),
  });

  routes.post('/v1/coupons/:code/disable', {
    schema: {
      tags,
      summary: 'Disable a coupon (a disabled one is answered as it is: 200, its first disabledAt)',
      params: couponParams,
      headers: idempotencyHeader,
      response: { 200: couponReply, ...notFound, ...commonErrors, ...postErrors },
    },
    handler: (req, reply) =>
      sendWrite(ctx, req, reply, 200, (trx) => disableCoupon(trx, principal(req).storeId, req.params.code), (coupon) => ({ coupon })),
  });
};
