import { createReadStream, statSync } from 'node:fs';
import { type Command, InvalidArgumentError } from 'commander';
import type { Config } from '../config.js';
import { createCommitter } from '../db/committer.js';
import type { Database } from '../db/database.js';
import { receiveImport } from '../ledger/imports.js';
import { runJobHere } from '../main/run-job.js';
import { progressReporter } from './progress.js';
import { watchJob } from './watch.js';

type WithDatabase = <T>(fn: (database: Database, config: Config) => Promise<T>) => Promise<T>;
interface ImportOptions {
  store: number;
  type: string;
  reason?: string;
  dryRun?: boolean;
  mode?: string;
}

function storeId(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('store must be a whole number ≥ 1');
  return n;
}

/** The file's bytes, with a progress bar (or lines) of the upload. */
async function* reading(file: string): AsyncGenerator<Buffer> {
  const size = statSync(file).size;
  const progress = progressReporter(`read ${file}`, size);
  let done = 0;
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: 256 * 1024 })) {
      done += (chunk as Buffer).length;
      progress.update(done);
      yield chunk as Buffer;
    }
  } finally {
    progress.update(done, Math.max(done, 1));
    progress.stop();
  }
}

/**
 * `tally import FILE`: the same service as POST /v1/imports (the file streamed into staging,
 * validated, previewed or applied as a job), run in this process with a progress bar on a
 * terminal; prints the job (or the preview) as JSON. Exits 1 when the job failed.
 */
export function importCommand(cli: Command, withDatabase: WithDatabase): void {
  cli
    .command('import <file>')
    .description('import a CSV: add to balances, set balances (creating members) or bring a points history over')
    .requiredOption('--store <id>', 'store id', storeId)
    .requiredOption('--type <type>', 'add, set or history')
    .option('--reason <text>', 'reason of rows whose file gives none')
    .option('--dry-run', 'validate and preview only; write nothing')
    .option('--mode <mode>', 'partial (apply the good rows, the default) or atomic (nothing if any row fails)')
    .action(async (file: string, opts: ImportOptions) => {
      await withDatabase(async (database, config) => {
        const actor = { type: 'system' as const, id: null, name: 'tally import' };
        const outcome = await receiveImport(database.db, createCommitter(database), opts.store, actor, opts, {
          source: reading(file),
          maxBytes: config.importMaxBytes,
        });
        if ('preview' in outcome) {
          process.stdout.write(`${JSON.stringify(outcome)}\n`);
          return;
        }
        const running = runJobHere(database, outcome.job.id, { chunkSize: config.jobChunkSize });
        const job = await watchJob(database.db, opts.store, outcome.job.id);
        await running;
        process.stdout.write(`${JSON.stringify({ job })}\n`);
        if (job.status === 'failed') process.exitCode = 1;
      });
    });
}
