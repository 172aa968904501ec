import { parentPort, workerData } from 'node:worker_threads';
import { createCommitter } from '../db/committer.js';
import { openDatabase } from '../db/database.js';
import { JobRunner, type RunnerOptions } from './runner.js';

/** The SQLite job worker: its own connection to the same file (WAL lets the server keep reading). */
const { url, opts } = workerData as { url: string; opts: RunnerOptions };
const database = openDatabase(url);
const runner = new JobRunner(database.db, createCommitter(database), opts, (log, extra) =>
  parentPort?.postMessage({ log, extra }),
);
runner.start();
parentPort?.on('message', (message: string) => {
  if (message === 'wake') runner.wake();
  if (message === 'stop') {
    void runner
      .stop()
      .then(() => database.close())
      .then(() => parentPort?.close());
  }
});
