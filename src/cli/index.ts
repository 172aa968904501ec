import { Command, InvalidArgumentError } from 'commander';
import { createCommitter } from '../db/committer.js';
import { connect } from '../db/database.js';
import { DomainError } from '../domain/errors.js';
import { ConfigError, loadConfig } from '../config.js';
import { runWorkers, serve } from '../main/serve.js';
import { seedCustomers } from '../ledger/seed.js';
import { createStore } from '../ledger/stores.js';
import { verifyLedger } from '../ledger/verify.js';
import { exportCommand } from './export.js';
import { progressReporter } from './progress.js';
import { watchJob } from './watch.js';

function int(name: string, min = 0) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be a whole number ≥ ${min}`);
    return n;
  };
}

/** Opens the database named by DATABASE_URL (migrating it), runs fn, closes it. */
async function withDatabase<T>(fn: (database: Awaited<ReturnType<typeof connect>>) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const database = await connect(config.databaseUrl, { poolSize: config.pgPoolSize });
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
    .option('--port <port>', 'port (default PORT, else 3000)', int('port'))
    .option('--host <host>', 'interface (default HOST, else 127.0.0.1)')
    .option('--no-worker', 'do not run the job worker in this process')
    .action(async (opts: { port?: number; host?: string; worker: boolean }) => {
      const config = loadConfig();
      await serve({ ...config, port: opts.port ?? config.port, host: opts.host ?? config.host }, { worker: opts.worker });
    });

  cli
    .command('worker')
    .description('run the job worker alone (several may share the jobs of one PostgreSQL database)')
    .action(async () => {
      await runWorkers(loadConfig());
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

  exportCommand(cli, withDatabase);
  return cli;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await program().parseAsync(argv);
  } catch (err) {
    const message = err instanceof DomainError ? `${err.code}: ${err.message}` : (err as Error).message;
    process.stderr.write(`tally: ${err instanceof ConfigError ? 'configuration: ' : ''}${message}\n`);
    process.exitCode = err instanceof DomainError || err instanceof ConfigError ? 2 : 1;
  }
}
