import { pipeline, Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import type { FastifyRequest } from 'fastify';

/**
 * CSV text from async rows, built with stream.pipeline: an error of the source (the database
 * failing mid-export) destroys the CSV stream with it, so Fastify ends the response (the client
 * sees a truncated transfer) instead of the error escaping as an uncaught exception.
 */
export function csvStream(req: FastifyRequest, rows: AsyncIterable<unknown[]>): Readable {
  return pipeline(Readable.from(rows), stringify(), (err) => {
    if (err) req.log.error({ err }, 'CSV stream failed; response cut short');
  });
}
