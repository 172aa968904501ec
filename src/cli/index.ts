import { Command, InvalidArgumentError } from 'commander';
import { createCommitter } from '../db/committer.js';
import { connect } from '../db/database.js';
import { DomainError } from '../domain/errors.js';
import { type Config, ConfigError, loadConfig } from '../config.js';
import { runWorkers, serve } from '../main/serve.js';
import { seedCustomers } from '../ledger/seed.js';
import { createStore } from '../ledger/stores.js';
import { issueApiKey } from '../ledger/api-keys.js';
import { createUser, resetPassword } from '../ledger/users.js';
import { ROLES, type Role } from '../domain/roles.js';
import { verifyLedger } from '../ledger/verify.js';
import { queueExpiry } from '../ledger/expiry.js';
import { getJob } from '../ledger/jobs.js';
import { JobRunner } from '../jobs/runner.js';
import { exportCommand } from './export.js';
import { importCommand } from './import.js';
import { progressReporter } from './progress.js';
import { watchJob } from './watch.js';

function int(name: string, min = 0) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be a whole number ≥ ${min}`);
    return n;
  };
}

/**
 * Opens the database named by DATABASE_URL (migrating it), runs fn, closes it. `longStatements`:
 * an operator's command that reads whole stores (verify) may run statements past the serving
 * statement timeout.
 */
async function withDatabase<T>(
  fn: (database: Awaited<ReturnType<typeof connect>>, config: Config) => Promise<T>,
  opts: { longStatements?: boolean } = {},
): Promise<T> {
  const config = loadConfig();
  const database = await connect(config.databaseUrl, { poolSize: config.pgPoolSize, ...(opts.longStatements ? { statementTimeoutMs: 86_400_000 } : {}) });
  try {
    return await fn(database, config);
  } finally {
    await database.close();
  }
}

function role(value: string): Role {
  if (!ROLES.includes(value as Role)) throw new InvalidArgumentError(`role must be one of ${ROLES.join(', ')}`);
  return value as Role;
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

  const user = cli.command('user').description('staff accounts of the admin app');
  user
    .command('create')
    .description('add a staff user (prints a one-time password when none is given)')
    .requiredOption('--store <id>', 'store id', int('store', 1))
    .requiredOption('--email <email>', 'e-mail (the login)')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`, role)
    .option('--name <name>', 'display name')
    .option('--password <password>', 'password (at least 8 characters)')
    .option('--json', 'print JSON')
    .action(async (opts: { store: number; email: string; role: Role; name?: string; password?: string; json?: boolean }) => {
      const created = await withDatabase((database) =>
        createCommitter(database).run((trx) =>
          createUser(trx, opts.store, { email: opts.email, role: opts.role, name: opts.name, password: opts.password }),
        ),
      );
      if (opts.json) process.stdout.write(`${JSON.stringify(created)}\n`);
      else {
        process.stdout.write(`User ${created.user.id} ${created.user.email} (${created.user.role}) created in store ${opts.store}.\n`);
        if (created.oneTimePassword) process.stdout.write(`One-time password (shown once): ${created.oneTimePassword}\n`);
      }
    });
  user
    .command('reset-password')
    .description("set a new password (generated when none is given) and end the user's sessions")
    .requiredOption('--email <email>', 'e-mail of the user')
    .option('--store <id>', 'store id (when several stores have this e-mail)', int('store', 1))
    .option('--password <password>', 'the new password')
    .action(async (opts: { email: string; store?: number; password?: string }) => {
      const password = await withDatabase((database) =>
        createCommitter(database).run((trx) => resetPassword(trx, opts.email, opts.password, opts.store)),
      );
      process.stdout.write(opts.password ? 'Password changed.\n' : `New password (shown once): ${password}\n`);
    });

  cli
    .command('api-key')
    .description('API keys')
    .command('create')
    .description('issue an API key (acts as admin unless given a role); the key is shown once')
    .requiredOption('--store <id>', 'store id', int('store', 1))
    .option('--name <name>', 'what the key is for', 'API key')
    .option('--role <role>', 'admin, agent or viewer', role)
    .option('--json', 'print JSON')
    .action(async (opts: { store: number; name: string; role?: Role; json?: boolean }) => {
      const created = await withDatabase((database) =>
        createCommitter(database).run((trx) => issueApiKey(trx, opts.store, { name: opts.name, role: opts.role })),
      );
      if (opts.json) process.stdout.write(`${JSON.stringify(created)}\n`);
      else process.stdout.write(`API key ${created.apiKey.id} (${created.apiKey.role}), shown once: ${created.key}\n`);
    });

  cli
    .command('verify')
    .description('check the ledger invariants; exits 1 on any violation')
    .option('--store <id>', 'only this store', int('store', 1))
    .option('--json', 'print JSON')
    .action(async (opts: { store?: number; json?: boolean }) => {
      const report = await withDatabase((database) => verifyLedger(database.db, opts.store), { longStatements: true });
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
    .command('expire')
    .description("run a store's expiry now: pending credits that are due mature, then points past their expiry expire")
    .requiredOption('--store <id>', 'store id', int('store', 1))
    .option('--json', 'print the finished job as JSON')
    .action(async (opts: { store: number; json?: boolean }) => {
      const job = await withDatabase(async (database) => {
        const committer = createCommitter(database);
        const queued = await committer.run((trx) => queueExpiry(trx, opts.store));
        const runner = new JobRunner(database.db, committer, { scheduleMs: 0 });
        await runner.runJob(queued.id);
        return getJob(database.db, opts.store, queued.id);
      });
      if (opts.json) process.stdout.write(`${JSON.stringify({ job })}\n`);
      else process.stdout.write(`expiry job ${job.id} ${job.status}: ${job.processed} customers looked at, balances changed by ${job.totalPoints} points in all\n`);
      if (job.status !== 'completed') process.exitCode = 1;
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
  importCommand(cli, withDatabase);
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
