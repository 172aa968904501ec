import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { createCommitter } from '../db/committer.js';
import { connect } from '../db/database.js';
import { runnerOptionsFromEnv, startWorkers, type Workers } from '../jobs/workers.js';
import { dispatcherOptionsFromEnv, startDispatcher } from '../notify/dispatcher.js';
import { buildApp } from './app.js';

export interface ServeOptions {
  port: number;
  host: string;
  databaseUrl?: string;
  rateLimitPerMinute: number;
  /** Run the job worker in this process (default true). */
  worker?: boolean;
}

/**
 * Opens (and migrates) the database and listens. SIGTERM/SIGINT stop accepting connections,
 * let in-flight requests finish, close the database, then exit.
 */
export async function serve(opts: ServeOptions): Promise<FastifyInstance> {
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'info' });
  const database = await connect(opts.databaseUrl);
  const workers: Workers | undefined =
    opts.worker === false
      ? undefined
      : startWorkers(database, runnerOptionsFromEnv(), (msg, extra) => logger.info(extra ?? {}, msg));
  const dispatcher = opts.worker === false ? undefined : startDispatcher(database, { ...dispatcherOptionsFromEnv(), log: (msg, extra) => logger.info(extra ?? {}, msg) });
  const app = await buildApp(
    { database, committer: createCommitter(database), workers, dispatcher },
    { logger, rateLimitPerMinute: opts.rateLimitPerMinute },
  );
  app.addHook('onClose', async () => {
    await workers?.stop();
    await dispatcher?.stop();
    await database.close();
  });
  await app.listen({ port: opts.port, host: opts.host });
  app.log.info({ database: database.dialect, location: database.location }, 'tally is serving');
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down: finishing in-flight requests');
    app
      .close()
      .then(() => process.exit(0))
      .catch((err) => {
        app.log.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  return app;
}
