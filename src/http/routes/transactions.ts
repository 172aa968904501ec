import type { SchemaTypes } from '../type-provider.js';
import type { FastifyPluginAsync } from 'fastify';
import { reverseTransaction } from '../../ledger/reverse.js';
import { listTransactions, transactionCsvText } from '../../ledger/transactions.js';
import { principal } from '../auth.js';
import type { AppContext } from '../context.js';
import { csvTextStream, textOf } from '../csv-stream.js';
import { sendWrite } from '../idempotent.js';
import { pageRequest } from '../paging.js';
import { commonErrors, postErrors, textAnswer, idempotencyHeader, idParams, ledgerWriteSchema, pageSchema } from '../schemas/common.js';
import { reverseBody, transactionExportQuery, transactionFilterQuery } from '../schemas/customers.js';

export const transactionRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  const routes = app.withTypeProvider<SchemaTypes>();
  // The log and its exports scan: they take the store's scan turns (see customers.ts).
  const scans = (storeId: number) => ctx.database.scans.of(storeId);

  routes.get('/v1/transactions', {
    schema: {
      tags: ['transactions'],
      summary: 'The store-wide transaction log, newest first',
      querystring: transactionFilterQuery,
      response: { 200: pageSchema('Transaction'), ...commonErrors },
    },
    handler: (req) => {
      const { limit, cursor, ...filter } = req.query;
      const { storeId } = principal(req);
      return listTransactions(scans(storeId), storeId, filter, pageRequest(limit, cursor));
    },
  });

  routes.get('/v1/transactions/export.csv', {
    schema: {
      tags: ['transactions'],
      summary: 'Stream the transaction log as CSV (formula-safe cells)',
      querystring: transactionExportQuery,
      response: { 200: textAnswer('text/csv', 'CSV with a header row'), ...commonErrors },
    },
    handler: async (req, reply) => {
      const { storeId } = principal(req);
      const pieces = transactionCsvText(scans(storeId), storeId, req.query);
      // Pull the first piece before answering, so a bad filter or a failing database is still a
      // JSON error, not a broken CSV.
      const first = await pieces.next();
      const csv = csvTextStream(req, textOf(first, pieces));
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="transactions.csv"')
        .send(csv);
    },
  });

  routes.post('/v1/transactions/:id/reverse', {
    schema: {
      tags: ['transactions'],
      summary: 'Reverse one transaction with a new reversal row',
      params: idParams,
      headers: idempotencyHeader,
      body: reverseBody,
      response: { 201: ledgerWriteSchema, 404: { $ref: 'Error#' }, ...commonErrors, ...postErrors },
    },
    handler: (req, reply) => {
      const { storeId, actor } = principal(req);
      const key = req.headers['idempotency-key'] as string | undefined;
      return sendWrite(ctx, req, reply, 201, (trx) =>
        reverseTransaction(trx, storeId, { ...req.body, transactionId: req.params.id }, actor, { idempotencyKey: key }),
      );
    },
  });
};
