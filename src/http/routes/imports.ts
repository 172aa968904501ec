import type { SchemaTypes } from '../type-provider.js';
import { PassThrough, pipeline } from 'node:stream';
import multipart from '@fastify/multipart';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { DomainError, RequestError, UploadInterruptedError, UploadTooLargeError, ValidationError } from '../../domain/errors.js';
import { customerCsvText } from '../../ledger/export-customers.js';
import { receiveImport } from '../../ledger/imports.js';
import { principal } from '../auth.js';
import type { AppContext } from '../context.js';
import { csvTextStream, textOf } from '../csv-stream.js';
import { commonErrors, idempotencyHeader, postErrors, textAnswer } from '../schemas/common.js';
import { customerExportQuery, importPreviewReply, importQuery } from '../schemas/imports.js';

const jobReply = { type: 'object', properties: { job: { $ref: 'Job#' } }, required: ['job'] } as const;

/** The upload's bytes as they arrive: the body of a text/csv request, or the one file of a form. */
async function uploadOf(req: FastifyRequest, maxBytes: number): Promise<AsyncIterable<Uint8Array>> {
  if (req.isMultipart()) {
    // One byte over the cap, so that the import's own count sees an oversized file (busboy would
    // cut it at the cap and end it as if whole).
    const part = await req.file({ limits: { fileSize: maxBytes + 1, files: 1, fields: 20 } });
    if (!part) throw new ValidationError('The form has no file field', 'file');
    return guarded(part.file, maxBytes);
  }
  if (!/^(text|application)\/csv\b/i.test(req.headers['content-type'] ?? '')) {
    throw new RequestError('unsupported_media_type', 'Send the file as text/csv, or as multipart/form-data with one file field');
  }
  if (Number(req.headers['content-length'] ?? 0) > maxBytes) throw new UploadTooLargeError(maxBytes);
  // Piped, not iterated directly: an async iterator keeps the request paused on a refusal, which
  // unpipes it instead and lets the rest drain (see `refuse` below).
  const body = new PassThrough();
  pipeline(req.raw, body, () => undefined);
  return guarded(body, maxBytes);
}

/** A stream's chunks, its failures said in our terms: over the cap, or broken off by the client. */
async function* guarded(stream: AsyncIterable<Uint8Array> & { truncated?: boolean }, maxBytes: number): AsyncGenerator<Uint8Array> {
  try {
    yield* stream;
    if (stream.truncated) throw new UploadTooLargeError(maxBytes);
  } catch (err) {
    if ((err as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE') throw new UploadTooLargeError(maxBytes);
    throw err instanceof DomainError ? err : new UploadInterruptedError();
  }
}

/** Imports and the customers export (the file an import of type=set reads back). */
export const importRoutes: FastifyPluginAsync<{ ctx: AppContext; maxBytes: number }> = async (app, { ctx, maxBytes }) => {
  const routes = app.withTypeProvider<SchemaTypes>();
  // The body is read by the import as it arrives, never buffered: the parser hands it through.
  app.addContentTypeParser(['text/csv', 'application/csv'], (_req, _payload, done) => done(null));
  await app.register(multipart, { limits: { fileSize: maxBytes + 1, files: 1 } });

  routes.post('/v1/imports', {
    schema: {
      tags: ['imports'],
      summary: 'Import a CSV (text/csv body, or multipart/form-data with one file): add, set or history; dryRun previews it',
      querystring: importQuery,
      headers: idempotencyHeader,
      response: { 200: importPreviewReply, 202: jobReply, ...commonErrors, ...postErrors },
    },
    handler: async (req, reply) => {
      const { storeId, actor } = principal(req);
      const key = req.headers['idempotency-key'];
      // A refusal is answered at once, the rest of the body unread, and the connection closed
      // after it: a client still uploading reads the answer instead of stalling on its upload.
      const refuse = (err: unknown): never => {
        req.raw.unpipe();
        req.raw.resume();
        reply.header('connection', 'close');
        throw err;
      };
      const source = await uploadOf(req, maxBytes).catch(refuse);
      const outcome = await receiveImport(ctx.database.db, ctx.committer, storeId, actor, req.query, {
        source,
        maxBytes,
        idempotencyKey: Array.isArray(key) ? key[0] : key,
      }).catch(refuse);
      if ('preview' in outcome) return reply.send(outcome);
      if (outcome.replayed) reply.header('idempotent-replayed', 'true');
      else ctx.workers?.wake();
      return reply.status(202).send({ job: outcome.job });
    },
  });
  routes.get('/v1/customers/export.csv', {
    schema: {
      tags: ['customers'],
      summary: 'Stream customers with balances, lifetime points and tier as CSV, now or asOf a past moment',
      querystring: customerExportQuery,
      response: { 200: textAnswer('text/csv', 'CSV with a header row'), ...commonErrors },
    },
    handler: async (req, reply) => {
      const { asOf, ...filter } = req.query;
      const { storeId } = principal(req);
      const pieces = customerCsvText(ctx.database.scans.of(storeId), storeId, filter, asOf);
      // Pull the first piece before answering, so a bad asOf or a failing database is still a
      // JSON error, not a broken CSV.
      const first = await pieces.next();
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="customers.csv"')
        .send(csvTextStream(req, textOf(first, pieces)));
    },
  });
};
