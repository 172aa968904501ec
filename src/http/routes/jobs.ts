import type { SchemaTypes } from '../type-provider.js';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { escapeCsvCell } from '../../domain/csv-cell.js';
import { createBulkJob, previewBulk } from '../../ledger/bulk.js';
import { cancelJob, createRevertJob, getJob, listJobs, streamJobErrors } from '../../ledger/jobs.js';
import { principal } from '../auth.js';
import type { AppContext } from '../context.js';
import { csvStream } from '../csv-stream.js';
import { sendRead, sendWrite } from '../idempotent.js';
import { pageRequest } from '../paging.js';
import { commonErrors, postErrors, textAnswer, idempotencyHeader, idParams, pagingQuery } from '../schemas/common.js';
import { bulkAdjustmentBody, previewSchema, revertBody } from '../schemas/jobs.js';
import type { JobEventStreams } from '../sse.js';

const jobReply = { type: 'object', properties: { job: { $ref: 'Job#' } }, required: ['job'] } as const;

export const jobRoutes: FastifyPluginAsync<{ ctx: AppContext; streams: JobEventStreams }> = async (app, { ctx, streams }) => {
  const routes = app.withTypeProvider<SchemaTypes>();
  // Lookups by key (one customer, one job, one customer's page of history) run on the writer's
  // connection: microseconds, never worth a thread hop. Scans (lists, searches, filters, exports,
  // previews) take the store's turns on the scan handle (db/scans.ts), so a costly one never holds
  // up another store.
  const byKey = ctx.database.db;
  const scans = (storeId: number) => ctx.database.scans.of(storeId);
  /** Wakes the worker once the job's transaction has committed (not inside it: it would find nothing). */
  const queued = async (sent: Promise<FastifyReply>): Promise<FastifyReply> => {
    const reply = await sent;
    ctx.workers?.wake();
    return reply;
  };

  routes.post('/v1/bulk-adjustments', {
    bodyLimit: 4 * 1024 * 1024,
    schema: {
      tags: ['bulk'],
      summary: 'Adjust or reset many customers as a background job (or preview it with dryRun)',
      headers: idempotencyHeader,
      body: bulkAdjustmentBody,
      response: { 200: previewSchema, 202: jobReply, ...commonErrors, ...postErrors },
    },
    handler: async (req, reply) => {
      const { storeId, actor } = principal(req);
      if (req.body.dryRun) return sendRead(ctx, req, reply, async () => ({ preview: await previewBulk(scans(storeId), storeId, req.body) }));
      return queued(sendWrite(ctx, req, reply, 202, (trx) => createBulkJob(trx, storeId, req.body, actor), (job) => ({ job })));
    },
  });

  routes.get('/v1/jobs', {
    schema: {
      tags: ['jobs'],
      summary: 'Jobs, newest first',
      querystring: { type: 'object', properties: pagingQuery, additionalProperties: false },
      response: {
        200: {
          type: 'object',
          properties: { data: { type: 'array', items: { $ref: 'Job#' } }, nextCursor: { type: ['string', 'null'] } },
        },
        ...commonErrors,
      },
    },
    handler: (req) => {
      const { storeId } = principal(req);
      return listJobs(scans(storeId), storeId, pageRequest(req.query.limit, req.query.cursor));
    },
  });

  routes.get('/v1/jobs/:id', {
    schema: {
      tags: ['jobs'],
      summary: 'A job and its progress counters',
      params: idParams,
      response: { 200: { $ref: 'Job#' }, 404: { $ref: 'Error#' }, ...commonErrors },
    },
    handler: (req) => getJob(byKey, principal(req).storeId, req.params.id),
  });

  routes.get('/v1/jobs/:id/events', {
    schema: {
      tags: ['jobs'],
      summary: "Server-Sent Events: the job's state now, then at every change, until it ends",
      params: idParams,
      response: { 200: textAnswer('text/event-stream', 'One `data:` line per change'), 404: { $ref: 'Error#' }, ...commonErrors },
    },
    handler: async (req, reply) => {
      const { storeId } = principal(req);
      const first = await getJob(byKey, storeId, req.params.id);
      return streams.stream(req, reply, first, () => getJob(byKey, storeId, req.params.id));
    },
  });

  routes.post('/v1/jobs/:id/cancel', {
    schema: {
      tags: ['jobs'],
      summary: 'Cancel a job (a running one stops after its current chunk)',
      params: idParams,
      headers: idempotencyHeader,
      response: { 200: jobReply, 404: { $ref: 'Error#' }, ...commonErrors, ...postErrors },
    },
    // Woken so that a queued job cancelled at once, which no chunk will ever finish, is swept too.
    handler: (req, reply) =>
      queued(sendWrite(ctx, req, reply, 200, (trx) => cancelJob(trx, principal(req).storeId, req.params.id), (job) => ({ job }))),
  });

  routes.post('/v1/jobs/:id/revert', {
    schema: {
      tags: ['jobs'],
      summary: "Undo a job: a new job writes a reversal row for each of the job's transactions",
      params: idParams,
      headers: idempotencyHeader,
      body: revertBody,
      response: { 202: jobReply, 404: { $ref: 'Error#' }, ...commonErrors, ...postErrors },
    },
    handler: (req, reply) => {
      const { storeId, actor } = principal(req);
      return queued(
        sendWrite(ctx, req, reply, 202, (trx) => createRevertJob(trx, storeId, req.params.id, req.body, actor), (job) => ({ job })),
      );
    },
  });

  routes.get('/v1/jobs/:id/errors.csv', {
    schema: {
      tags: ['jobs'],
      summary: "The job's error report as CSV",
      params: idParams,
      response: { 200: textAnswer('text/csv', 'One row per error'), 404: { $ref: 'Error#' }, ...commonErrors },
    },
    handler: async (req, reply) => {
      const { storeId } = principal(req);
      const job = await getJob(byKey, storeId, req.params.id);
      // An import reports file lines (and the customer a line named, when it was found); other
      // jobs report customers. Columns are only ever added after the existing ones.
      const byLine = job.kind === 'import';
      const header = byLine ? ['line', 'column', 'code', 'message', 'customerId'] : ['customerId', 'code', 'message'];
      async function* rows() {
        yield header;
        for await (const e of streamJobErrors(scans(storeId), storeId, job.id)) {
          yield byLine
            ? [e.line ?? '', escapeCsvCell(e.column ?? ''), e.code, escapeCsvCell(e.message), e.customerId ?? '']
            : [e.customerId ?? '', e.code, escapeCsvCell(e.message)];
        }
      }
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="job-${job.id}-errors.csv"`)
        .send(csvStream(req, rows()));
    },
  });
};
