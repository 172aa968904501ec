import { Command, InvalidArgumentError } from 'commander';
import { createCommitter } from '../db/committer.js';
import { connect } from '../db/database.js';
import { DomainError } from '../domain/errors.js';
import { serve } from '../http/server.js';
import { seedCustomers } from '../ledger/seed.js';
import { createStore } from '../ledger/stores.js';
import { verifyLedger } from '../ledger/verify.js';
import { progressReporter } from './progress.js';
import { watchJob } from './watch.js';
import { runnerOptionsFromEnv, startWorkers } from '../jobs/workers.js';
import { dispatcherOptionsFromEnv, startDispatcher } from '../notify/dispatcher.js';

function int(name: string, min = 0) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be a whole number ≥ ${min}`);
    return n;
  };
}

/** Opens the database named by DATABASE_URL (migrating it), runs fn, closes it. */
async function withDatabase<T>(fn: (database: Awaited<ReturnType<typeof connect>>) => Promise<T>): Promise<T> {
  const database = await connect();
  try {
    return await fn(database);
  } finally {
    await database.close();
  }
}

export function program(): Command {
  const cli = new Command('tally').description('Tally: a loyalty-points ledger').showHelpAfterError();

  cli
    .command('serve')
    .description('serve the API (and the job worker)')
    .option('--port <port>', 'port', int('port'), Number(process.env.PORT ?? 3000))
    .option('--host <host>', 'interface', process.env.HOST ?? '127.0.0.1')
    .option('--no-worker', 'do not run the job worker in this process')
    .action(async (opts: { port: number; host: string; worker: boolean }) => {
      const limit = process.env.RATE_LIMIT_PER_MINUTE;
      await serve({
        port: opts.port,
        host: opts.host,
        rateLimitPerMinute: limit === undefined ? 6000 : Number(limit),
        worker: opts.worker,
      });
    });

  cli
    .command('worker')
    .description('run the job worker alone (several may share the jobs of one PostgreSQL database)')
    .action(async () => {
      const database = await connect();
      const log = (msg: string, extra?: Record<string, unknown>) =>
        process.stderr.write(`${new Date().toISOString()} ${msg} ${extra ? JSON.stringify(extra) : ''}\n`);
      const workers = startWorkers(database, runnerOptionsFromEnv(), log);
      const dispatcher = startDispatcher(database, { ...dispatcherOptionsFromEnv(), log });
      log('worker started', { database: database.dialect });
      const stop = async () => {
        await workers.stop();
        await dispatcher.stop();
        await database.close();
        process.exit(0);
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });

  const jobs = cli.command('jobs').description('background jobs');
  jobs
    .command('watch <id>')
    .description("follow a job's progress until it ends (rate and ETA)")
    .requiredOption('--store <id>', 'store id', int('store', 1))
    .action(async (idText: string, opts: { store: number }) => {
      const id = int('job id', 1)(idText);
      const job = await withDatabase((database) => watchJob(database.db, opts.store, id));
      process.stdout.write(`${JSON.stringify(job)}\n`);
      if (job.status === 'failed') process.exitCode = 1;
    });

  const store = cli.command('store').description('manage stores');
  store
    .command('create')
    .description('create a store and its first API key')
    .requiredOption('--name <name>', 'store name')
    .option('--owner-email <email>', "owner's e-mail (admin UI login)")
    .option('--owner-password <password>', "owner's password")
    .option('--json', 'print JSON')
    .action(async (opts: { name: string; ownerEmail?: string; ownerPassword?: string; json?: boolean }) => {
      const created = await withDatabase(async (database) =>
        createCommitter(database).run((trx) =>
          createStore(trx, { name: opts.name, ownerEmail: opts.ownerEmail, ownerPassword: opts.ownerPassword }),
        ),
      );
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(created)}\n`);
      } else {
        process.stdout.write(
          `Store ${created.store.id} "${created.store.name}" created.\nAPI key (shown once): ${created.apiKey}\nStorefront secret: ${created.storefrontSecret}\n`,
        );
      }
    });

  cli
    .command('verify')
    .description('check the ledger invariants; exits 1 on any violation')
    .option('--store <id>', 'only this store', int('store', 1))
    .option('--json', 'print JSON')
    .action(async (opts: { store?: number; json?: boolean }) => {
      const report = await withDatabase((database) => verifyLedger(database.db, opts.store));
      if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`);
      else {
        for (const v of report.violations) {
          process.stdout.write(`VIOLATION ${v.check} store=${v.storeId} customer=${v.customerId ?? '-'} transaction=${v.transactionId ?? '-'}: ${v.message}\n`);
        }
        process.stdout.write(
          `${report.ok ? 'OK' : 'FAILED'}: ${report.stores} store(s), ${report.customers} customers, ${report.transactions} transactions, ${report.violations.length} violation(s)\n`,
        );
      }
      if (!report.ok) process.exitCode = 1;
    });

  cli
    .command('seed')
    .description('add sample customers with varied balances, names and activity dates')
    .requiredOption('--store <id>', 'store id', int('store', 1))
    .requiredOption('--customers <n>', 'how many', int('customers', 1))
    .action(async (opts: { store: number; customers: number }) => {
      await withDatabase(async (database) => {
        const progress = progressReporter('seed', opts.customers);
        const result = await seedCustomers(database.db, createCommitter(database), opts.store, opts.customers, progress.update);
        progress.stop();
        process.stdout.write(`Seeded ${result.customers} customers (${result.transactions} ledger rows) into store ${opts.store}\n`);
      });
    });

  return cli;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await program().parseAsync(argv);
  } catch (err) {
    const message = err instanceof DomainError ? `${err.code}: ${err.message}` : (err as Error).message;
    process.stderr.write(`tally: ${message}\n`);
    process.exitCode = err instanceof DomainError ? 2 : 1;
  }
}
