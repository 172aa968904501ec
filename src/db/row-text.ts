import type { Compilable, CompiledQuery, Kysely, QueryResult } from 'kysely';
import type { DB } from './schema.js';

/**
 * A pure function from a batch of rows (each an array of the select's columns, in order) to text
 * (CSV lines), named by its module and export so that a SQLite reader thread can load it and run
 * it beside the query: the serving thread then
 * receives one string per batch instead of structured-cloned rows it would walk again (issue 13:
 * the rows' cloning, objects and formatting were most of an export's time, all of it on the
 * event loop other stores' requests need). Elsewhere (PostgreSQL, an in-memory SQLite database)
 * the same function runs here. It must not touch anything but its rows: it runs on either thread.
 *
 * @example export const lines = rowFormatter(import.meta.url, 'lines', (rows: Row[]) => rows.map(line).join(''));
 */
export interface RowFormatter<R extends readonly unknown[]> {
  /** The URL of the module exporting it (its import.meta.url). */
  readonly module: string;
  /** The name it is exported under. */
  readonly name: string;
  readonly format: (rows: R[]) => string;
}

export function rowFormatter<R extends readonly unknown[]>(module: string, name: string, format: (rows: R[]) => string): RowFormatter<R> {
  return { module, name, format };
}

/**
 * Rows per batch of an export: one statement and one piece of text, some 90 KB of a transactions
 * export. A piece stays under V8's large-object size (128 KB): larger ones are each a mapping of
 * their own in the threads that make and receive them, on top of the young generation those
 * threads already hold, until a collection. Batches of 2,000 rows (330 KB) had the server's peak
 * RSS 29 MB higher through an export of 750,000 rows on SQLite, at the same speed (issue 13).
 * More rows a batch also cost more per row on a reader thread (they outlive more young collections).
 */
export const TEXT_BATCH_ROWS = 600;

/** A batch of rows as text: how many rows it holds, and the last of them (for the next keyset batch). */
export interface TextBatch<R> {
  text: string;
  rows: number;
  last: R | undefined;
}

/** How a query asks a driver that can (sqlite-readers.ts) to format its rows where it reads them. */
export interface FormattedQuery extends CompiledQuery {
  readonly formatter: { module: string; name: string };
}

/** What such a driver answers: no rows, the batch instead. */
export interface FormattedResult extends QueryResult<never> {
  readonly batch: TextBatch<unknown>;
}

/**
 * Runs a select and formats its rows, as arrays of its columns in the select's order: on the
 * reader thread that read them when the handle has one (better-sqlite3's raw mode), otherwise
 * here, with the same function either way.
 */
export async function selectAsText<R extends readonly unknown[]>(
  db: Kysely<DB>,
  query: Compilable<object>,
  formatter: RowFormatter<R>,
): Promise<TextBatch<R>> {
  const compiled: FormattedQuery = { ...query.compile(), formatter: { module: formatter.module, name: formatter.name } };
  const result = await db.executeQuery<object>(compiled);
  if ('batch' in result) return (result as unknown as FormattedResult).batch as TextBatch<R>;
  // pg's rows hold their columns in the select's order (no two of ours share a name).
  const rows = result.rows.map((r) => Object.values(r) as unknown as R);
  return { text: formatter.format(rows), rows: rows.length, last: rows.at(-1) };
}

/**
 * A keyset walk as text, batch after batch, the header line leading the first (an empty walk
 * still has it); a batch shorter than `size` is the last. The next batch is asked for as soon as
 * one arrives, so the database reads it while this one is written out.
 *
 * @example yield* textBatches(HEADER, TEXT_BATCH_ROWS, (last) => selectAsText(db, batchAfter(last?.[0] ?? 0), lines))
 */
export async function* textBatches<R>(header: string, size: number, batch: (last?: R) => Promise<TextBatch<R>>): AsyncGenerator<TextBatch<R>> {
  let next: Promise<TextBatch<R>> | undefined = readAhead(batch());
  let lead = header;
  while (next) {
    const piece: TextBatch<R> = await next;
    next = piece.rows === size && piece.last !== undefined ? readAhead(batch(piece.last)) : undefined;
    if (lead !== '' || piece.rows > 0) yield { ...piece, text: lead + piece.text };
    lead = '';
  }
}

/**
 * A batch read ahead, marked handled at once: it can fail while the walk waits at a yield (the
 * client reading slowly) or after the walk was abandoned (the client went away), and unhandled
 * its rejection would end the process (Node's default); awaited, it still throws.
 */
function readAhead<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}
