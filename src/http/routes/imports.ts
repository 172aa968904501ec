import type { SchemaTypes } from '../type-provider.js';
import type { FastifyPluginAsync } from 'fastify';
import { customerCsvRows } from '../../ledger/export-customers.js';
import { principal } from '../auth.js';
import type { AppContext } from '../context.js';
import { csvStream } from '../csv-stream.js';
import { commonErrors, textAnswer } from '../schemas/common.js';
import { customerExportQuery } from '../schemas/imports.js';

/** Imports and the customers export (the file an import of type=set reads back). */
export const importRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  const routes = app.withTypeProvider<SchemaTypes>();
  routes.get('/v1/customers/export.csv', {
    schema: {
      tags: ['customers'],
      summary: 'Stream customers with balances, lifetime points and tier as CSV, now or asOf a past moment',
      querystring: customerExportQuery,
      response: { 200: textAnswer('text/csv', 'CSV with a header row'), ...commonErrors },
    },
    handler: async (req, reply) => {
      const { asOf, ...filter } = req.query;
      const rows = customerCsvRows(ctx.database.read, principal(req).storeId, filter, asOf);
      // The header is yielded after the arguments are checked: a bad asOf is still a JSON error.
      const first = await rows.next();
      async function* all() {
        if (!first.done) yield first.value;
        yield* rows;
      }
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="customers.csv"')
        .send(csvStream(req, all()));
    },
  });
};
