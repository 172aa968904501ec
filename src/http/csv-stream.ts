import { PassThrough, pipeline, Readable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import type { FastifyRequest } from 'fastify';

/** Records per piece of CSV text: about 64 KB of a transactions export (some 150 bytes a record). */
const RECORDS_PER_PIECE = 400;

/**
 * The CSV text of async rows in pieces of up to 400 records, each made by csv-stringify at once:
 * a stream step and a socket write per piece, not per record (per record, they cost more than
 * the export's reads). Memory stays bounded by a piece.
 */
async function* pieces(rows: AsyncIterable<unknown[]>): AsyncGenerator<string> {
  let records: unknown[][] = [];
  for await (const record of rows) {
    records.push(record);
    if (records.length >= RECORDS_PER_PIECE) {
      yield stringify(records);
      records = [];
    }
  }
  if (records.length > 0) yield stringify(records);
}

/**
 * CSV text from async rows, built with stream.pipeline: an error of the source (the database
 * failing mid-export) destroys the CSV stream with it, so Fastify ends the response (the client
 * sees a truncated transfer) instead of the error escaping as an uncaught exception.
 */
export function csvStream(req: FastifyRequest, rows: AsyncIterable<unknown[]>): Readable {
  return csvTextStream(req, pieces(rows));
}

/** The same from pieces of CSV text already made (the exports of transactions and customers: row-text.ts). */
export function csvTextStream(req: FastifyRequest, text: AsyncIterable<string>): Readable {
  return pipeline(Readable.from(text), new PassThrough(), (err) => {
    if (err) req.log.error({ err }, 'CSV stream failed; response cut short');
  });
}

/** The text of pieces, the first already pulled; ending early (the client left) ends the source too. */
export async function* textOf(first: IteratorResult<{ text: string }>, rest: AsyncIterator<{ text: string }>): AsyncGenerator<string> {
  try {
    for (let next = first; !next.done; next = await rest.next()) yield next.value.text;
  } finally {
    await rest.return?.(undefined);
  }
}
