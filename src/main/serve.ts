/**
 * src/main — the composition root: the only place that wires the database, the committer, the
 * job workers, the HTTP app and signal handling together. It may import every other folder of
 * src/; nothing imports it except src/cli (the `serve` and `worker` commands).
 */
import { setFlagsFromString } from 'node:v8';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import pino, { type Logger } from 'pino';
import type { Config } from '../config.js';
import { createCommitter } from '../db/committer.js';
import { connect, type Database } from '../db/database.js';
import { buildApp } from '../http/app.js';
import { startWorkers, type Workers } from '../jobs/workers.js';
import { type Dispatcher, dispatcherOptionsFromConfig, startDispatcher } from '../notify/dispatcher.js';

export interface ServeOptions {
  /** Run the job worker in this process (default true). */
  worker?: boolean;
}

/** What stop() closes, in order: the listener and in-flight requests, the workers, the database. */
interface Running {
  app?: FastifyInstance;
  workers?: Workers;
  dispatcher?: Dispatcher;
  redis?: Redis;
  database: Database;
}

/** The process logger: never writes credentials or cookies, whatever a caller logs. */
export function processLogger(config: Config): Logger {
  return pino({
    level: config.logLevel,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie', 'res.headers["set-cookie"]'],
      censor: '[redacted]',
    },
  });
}

function databaseOptions(config: Config) {
  return {
    poolSize: config.pgPoolSize,
    scanPoolSize: config.pgScanPoolSize,
    scanLimits: { perStore: config.scansPerStore, queuePerStore: config.scanQueuePerStore },
    statementTimeoutMs: config.pgStatementTimeoutMs,
    idleInTransactionTimeoutMs: config.pgIdleInTransactionTimeoutMs,
  };
}

function runnerOptions(config: Config) {
  return { chunkSize: config.jobChunkSize, ratePerStore: config.jobRatePerStore, chunkMs: config.jobChunkMs, contendedChunkMs: config.jobContendedChunkMs };
}

/**
 * SQLite: how far V8 lets each thread's old generation grow past what its last full GC kept, in
 * percent. V8's own factor reaches 4× when GC is cheap: through a 1,000,000-row import the serving
 * thread, which keeps about 30 MB, let promoted garbage reach 130 MB before collecting it, and the
 * server peaked at 298–314 MB; at 30% it peaked at 227–240 MB, and alternating runs showed no cost
 * beyond the noise (issue 13: peak RSS ≤ 300 MB; README, "Where the memory is"). PostgreSQL keeps
 * V8's default: its server peaked at 224–244 MB without it, and all of its work (serving, parsing,
 * the job runner) shares the one thread that more full GCs would pause. V8 reads the flag at each
 * GC, in every thread of the process, so setting it before the threads start holds for all of it.
 */
const SQLITE_HEAP_GROWING_PERCENT = 30;

/** Opens (and migrates) the database of this process, and sets the process's heap growth by its dialect. */
async function connectProcess(config: Config): Promise<Database> {
  const database = await connect(config.databaseUrl, databaseOptions(config));
  if (database.dialect === 'sqlite') setFlagsFromString(`--heap-growing-percent=${SQLITE_HEAP_GROWING_PERCENT}`);
  return database;
}

/**
 * Opens (and migrates) the database, starts the job worker unless told not to, and listens.
 * SIGTERM/SIGINT: stop accepting, finish in-flight requests and the worker's current chunk,
 * close the database, exit — or exit 1 after SHUTDOWN_TIMEOUT_MS, whatever still hangs.
 */
export async function serve(config: Config, opts: ServeOptions = {}): Promise<FastifyInstance> {
  const logger = processLogger(config);
  const database = await connectProcess(config);
  const log = (msg: string, extra?: Record<string, unknown>) => logger.info(extra ?? {}, msg);
  const workers = opts.worker === false ? undefined : startWorkers(database, runnerOptions(config), log);
  const dispatcher = opts.worker === false ? undefined : startDispatcher(database, { ...dispatcherOptionsFromConfig(config), log });
  // Shared rate-limit counters; a Redis that does not answer within 500 ms lets requests through.
  const redis = config.redisUrl ? new Redis(config.redisUrl, { commandTimeout: 500, maxRetriesPerRequest: 1 }) : undefined;
  redis?.on('error', (err) => logger.warn({ err: err.message }, 'Redis connection error'));
  const app = await buildApp(
    { database, committer: createCommitter(database), workers, dispatcher, allowPrivateWebhooks: config.allowPrivateWebhooks },
    { logger, rateLimitPerMinute: config.rateLimitPerMinute, redis, importMaxBytes: config.importMaxBytes },
  );
  onSignals(config, logger, { app, workers, dispatcher, database, redis });
  await app.listen({ port: config.port, host: config.host });
  logger.info({ database: database.dialect, location: database.location }, 'tally is serving');
  return app;
}

/** `tally worker`: job workers alone, with the same bounded shutdown. */
export async function runWorkers(config: Config): Promise<void> {
  const logger = processLogger(config);
  const database = await connectProcess(config);
  const log = (msg: string, extra?: Record<string, unknown>) => logger.info(extra ?? {}, msg);
  const workers = startWorkers(database, runnerOptions(config), log);
  const dispatcher = startDispatcher(database, { ...dispatcherOptionsFromConfig(config), log });
  onSignals(config, logger, { workers, dispatcher, database });
  logger.info({ database: database.dialect }, 'worker started');
}

/** Closes everything in order; resolves when done (never throws). */
export async function shutDown(running: Running, logger: Logger): Promise<boolean> {
  try {
    // The listener and the worker stop side by side: requests finish while the chunk does.
    await Promise.all([running.app?.close(), running.workers?.stop(), running.dispatcher?.stop()]);
    await running.database.close();
    await running.redis?.quit();
    return true;
  } catch (err) {
    logger.error({ err }, 'shutdown failed');
    return false;
  }
}

function onSignals(config: Config, logger: Logger, running: Running): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, timeoutMs: config.shutdownTimeoutMs }, 'shutting down: finishing in-flight requests and the current chunk');
    setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown took too long; exiting anyway');
      process.exit(1);
    }, config.shutdownTimeoutMs).unref();
    void shutDown(running, logger).then((ok) => process.exit(ok ? 0 : 1));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
