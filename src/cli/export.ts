import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Command, InvalidArgumentError } from 'commander';
import { sql } from 'kysely';
import type { Database } from '../db/database.js';
import { customerCsvText } from '../ledger/export-customers.js';
import { transactionCsvText } from '../ledger/transactions.js';
import { progressReporter } from './progress.js';

type WithDatabase = <T>(fn: (database: Database) => Promise<T>) => Promise<T>;
interface ExportOptions {
  store: number;
  from?: string;
  to?: string;
  asOf?: string;
  out?: string;
}

function storeId(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('store must be a whole number ≥ 1');
  return n;
}

/**
 * `tally export transactions|customers`: the same CSV as the API's export routes, streamed to a
 * file (or stdout) through stream.pipeline, with a progress bar on a terminal.
 */
export function exportCommand(cli: Command, withDatabase: WithDatabase): void {
  cli
    .command('export <what>')
    .description('export transactions or customers as CSV (transactions: --from/--to; customers: --as-of)')
    .requiredOption('--store <id>', 'store id', storeId)
    .option('--from <iso>', 'transactions from this moment')
    .option('--to <iso>', 'transactions up to this moment')
    .option('--as-of <iso>', 'customers with their balances at this moment')
    .option('--out <file>', 'write to this file instead of stdout')
    .action(async (what: string, opts: ExportOptions) => {
      if (what !== 'transactions' && what !== 'customers') throw new InvalidArgumentError('export transactions or export customers');
      await withDatabase(async (database) => {
        const table = what === 'transactions' ? 'transactions' : 'customers';
        const count = await sql<{ n: number }>`SELECT count(*) AS n FROM ${sql.table(table)} WHERE store_id = ${opts.store}`.execute(database.db);
        const progress = progressReporter(`export ${what}`, Number(count.rows[0].n));
        let done = 0;
        const out = opts.out ? createWriteStream(opts.out) : process.stdout;
        try {
          // The API's exports, piece by piece (on SQLite formatted by the reader threads: database.read).
          const pieces =
            what === 'customers'
              ? customerCsvText(database.read, opts.store, {}, opts.asOf)
              : transactionCsvText(database.read, opts.store, { from: opts.from, to: opts.to });
          await pipeline(Readable.from(textOf(pieces, (rows) => progress.update((done += rows)))), out);
        } finally {
          progress.update(Math.max(done, 0), Math.max(done, 0));
          progress.stop();
        }
      });
    });
}

async function* textOf(pieces: AsyncIterable<{ text: string; rows: number }>, counted: (rows: number) => void): AsyncGenerator<string> {
  for await (const piece of pieces) {
    counted(piece.rows);
    yield piece.text;
  }
}
