import type { SchemaTypes } from '../type-provider.js';
import type { FastifyPluginAsync } from 'fastify';
import { adjustPoints, resetPoints } from '../../ledger/adjust.js';
import { balanceAt, countCustomers, createCustomer, getCustomer, listCustomers, listCustomersSorted } from '../../ledger/customers.js';
import { listTransactions } from '../../ledger/transactions.js';
import { cancelPending, listPending } from '../../ledger/pending.js';
import { expiringPoints } from '../../ledger/expiring.js';
import { principal } from '../auth.js';
import type { AppContext } from '../context.js';
import { sendWrite } from '../idempotent.js';
import { customerPageRequest, pageRequest } from '../paging.js';
import {
  commonErrors,
  postErrors,
  idempotencyHeader,
  idParams,
  ledgerWriteSchema,
  pageSchema,
  pagingQuery,
} from '../schemas/common.js';
import {
  adjustmentBody,
  customerCountQuery,
  customerCountSchema,
  customerDetailSchema,
  customerFilterQuery,
  newCustomerBody,
  resetBody,
} from '../schemas/customers.js';


export const customerRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  const routes = app.withTypeProvider<SchemaTypes>();
  // Lookups by key (one customer, one job, one customer's page of history) run on the writer's
  // connection: microseconds, never worth a thread hop. Scans (lists, searches, filters, exports,
  // previews) take the store's turns on the scan handle (db/scans.ts), so a costly one never holds
  // up another store.
  const byKey = ctx.database.db;
  const scans = (storeId: number) => ctx.database.scans.of(storeId);

  routes.post('/v1/customers', {
    schema: {
      tags: ['customers'],
      summary: 'Create a customer',
      headers: idempotencyHeader,
      body: newCustomerBody,
      response: { 201: { $ref: 'Customer#' }, ...commonErrors, ...postErrors },
    },
    handler: (req, reply) =>
      sendWrite(ctx, req, reply, 201, (trx) => createCustomer(trx, principal(req).storeId, req.body)),
  });

  routes.get('/v1/customers', {
    schema: {
      tags: ['customers'],
      summary: 'List, filter, search and sort customers (newest first unless sorted)',
      querystring: customerFilterQuery,
      response: { 200: pageSchema('Customer'), ...commonErrors },
    },
    handler: async (req) => {
      const { limit, cursor, sort, order, ...filter } = req.query;
      const page = customerPageRequest(limit, cursor, { by: sort, order });
      const storeId = principal(req).storeId;
      return 'sort' in page ? listCustomersSorted(scans(storeId), storeId, filter, page) : listCustomers(scans(storeId), storeId, filter, page);
    },
  });

  routes.get('/v1/customers/count', {
    schema: {
      tags: ['customers'],
      summary: 'Count the customers a filter matches (the same filter as the list and bulk selections)',
      querystring: customerCountQuery,
      response: { 200: customerCountSchema, ...commonErrors },
    },
    handler: async (req) => {
      const { storeId } = principal(req);
      return { count: await countCustomers(scans(storeId), storeId, req.query) };
    },
  });

  routes.get('/v1/customers/:id', {
    schema: {
      tags: ['customers'],
      summary: 'Get a customer, with the points expiring in the next 30 days',
      params: idParams,
      response: { 200: customerDetailSchema, 404: { $ref: 'Error#' }, ...commonErrors },
    },
    handler: async (req) => {
      const customer = await getCustomer(byKey, principal(req).storeId, req.params.id);
      return { ...customer, expiring: await expiringPoints(byKey, principal(req).storeId, customer.id, Date.now()) };
    },
  });

  routes.post(
    '/v1/customers/:id/adjustments',
    {
      schema: {
        tags: ['adjustments'],
        summary: 'Add or deduct points for one customer',
        params: idParams,
        headers: idempotencyHeader,
        body: adjustmentBody,
        response: { 201: ledgerWriteSchema, 404: { $ref: 'Error#' }, ...commonErrors, ...postErrors },
      },
      handler: (req, reply) => {
        const body = req.body;
        const { storeId, actor } = principal(req);
        const key = req.headers['idempotency-key'] as string | undefined;
        return sendWrite(ctx, req, reply, 201, (trx) =>
          adjustPoints(trx, storeId, { ...body, customerId: req.params.id }, actor, { idempotencyKey: key }),
        );
      },
    },
  );

  routes.post('/v1/customers/:id/reset', {
    schema: {
      tags: ['adjustments'],
      summary: "Reset one customer's balance to zero",
      params: idParams,
      headers: idempotencyHeader,
      body: resetBody,
      response: { 201: ledgerWriteSchema, 404: { $ref: 'Error#' }, ...commonErrors, ...postErrors },
    },
    handler: (req, reply) => {
      const { storeId, actor } = principal(req);
      const key = req.headers['idempotency-key'] as string | undefined;
      return sendWrite(ctx, req, reply, 201, (trx) =>
        resetPoints(trx, storeId, { ...req.body, customerId: req.params.id }, actor, { idempotencyKey: key }),
      );
    },
  });

  routes.get('/v1/customers/:id/pending', {
    schema: {
      tags: ['adjustments'],
      summary: "A customer's pending credits (not spendable until availableAt), soonest first",
      params: idParams,
      response: {
        200: { type: 'object', properties: { data: { type: 'array', items: { $ref: 'PendingCredit#' } } }, required: ['data'] },
        404: { $ref: 'Error#' },
        ...commonErrors,
      },
    },
    handler: (req) => listPending(byKey, principal(req).storeId, req.params.id),
  });

  routes.post('/v1/customers/:id/pending/:transactionId/cancel', {
    schema: {
      tags: ['adjustments'],
      summary: 'Cancel a pending credit before it matures',
      params: {
        type: 'object',
        properties: { id: { type: 'integer', minimum: 1 }, transactionId: { type: 'integer', minimum: 1 } },
        required: ['id', 'transactionId'],
        additionalProperties: false,
      },
      headers: idempotencyHeader,
      body: resetBody,
      response: { 200: ledgerWriteSchema, 404: { $ref: 'Error#' }, ...commonErrors, ...postErrors },
    },
    handler: (req, reply) => {
      const { storeId, actor } = principal(req);
      const key = req.headers['idempotency-key'] as string | undefined;
      return sendWrite(ctx, req, reply, 200, (trx) =>
        cancelPending(trx, storeId, req.params.id, req.params.transactionId, req.body, actor, key ?? null),
      );
    },
  });

  routes.get('/v1/customers/:id/transactions', {
    schema: {
      tags: ['transactions'],
      summary: "A customer's ledger, newest first",
      params: idParams,
      querystring: { type: 'object', properties: pagingQuery, additionalProperties: false },
      response: { 200: pageSchema('Transaction'), 404: { $ref: 'Error#' }, ...commonErrors },
    },
    handler: async (req) => {
      const { storeId } = principal(req);
      await getCustomer(byKey, storeId, req.params.id);
      return listTransactions(byKey, storeId, { customerId: req.params.id }, pageRequest(req.query.limit, req.query.cursor));
    },
  });

  routes.get('/v1/customers/:id/balance', {
    schema: {
      tags: ['transactions'],
      summary: 'Balance and lifetime points at a moment (default now), summed from the ledger',
      params: idParams,
      querystring: { type: 'object', properties: { at: { type: 'string', maxLength: 64 } }, additionalProperties: false },
      response: {
        200: {
          type: 'object',
          properties: {
            customerId: { type: 'integer' },
            at: { type: 'string', format: 'date-time' },
            balance: { type: 'integer' },
            lifetimePoints: { type: 'integer' },
          },
        },
        404: { $ref: 'Error#' },
        ...commonErrors,
      },
    },
    handler: (req) => balanceAt(byKey, principal(req).storeId, req.params.id, req.query.at ?? new Date().toISOString()),
  });
};

