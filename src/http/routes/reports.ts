import type { SchemaTypes } from '../type-provider.js';
import type { FastifyPluginAsync } from 'fastify';
import { reportCsvRecords } from '../../ledger/report-csv.js';
import { pointsReport } from '../../ledger/reports.js';
import { principal } from '../auth.js';
import type { AppContext } from '../context.js';
import { csvStream } from '../csv-stream.js';
import { commonErrors, textAnswer } from '../schemas/common.js';
import { pointsReportQuery, pointsReportSchema } from '../schemas/reports.js';

export const reportRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  const routes = app.withTypeProvider<SchemaTypes>();
  // A report scans the range's ledger rows: it takes the store's scan turns (see customers.ts).
  const scans = (storeId: number) => ctx.database.scans.of(storeId);

  routes.get('/v1/reports/points', {
    schema: {
      tags: ['reports'],
      summary: 'Points accounting from the ledger, by day, week or month',
      querystring: pointsReportQuery,
      response: { 200: pointsReportSchema, ...commonErrors },
    },
    handler: (req) => {
      const { storeId } = principal(req);
      return pointsReport(scans(storeId), storeId, req.query);
    },
  });

  routes.get('/v1/reports/points.csv', {
    schema: {
      tags: ['reports'],
      summary: 'The points report as CSV, one row per period (formula-safe cells)',
      querystring: pointsReportQuery,
      response: { 200: textAnswer('text/csv', 'CSV with a header row'), ...commonErrors },
    },
    handler: async (req, reply) => {
      const { storeId } = principal(req);
      const report = await pointsReport(scans(storeId), storeId, req.query);
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="points-report.csv"')
        .send(csvStream(req, (async function* () { yield* reportCsvRecords(report); })()));
    },
  });
};
