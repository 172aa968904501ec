import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from '../db/database.js';
import { type DispatcherOptions, OutboxDispatcher } from './dispatcher.js';

/** The SQLite dispatcher thread: its own connection to the same file; its waits on the write lock block only this thread. */
const { url, opts } = workerData as { url: string; opts: DispatcherOptions };
const database = openDatabase(url);
const dispatcher = new OutboxDispatcher(database, { ...opts, log: (log, extra) => parentPort?.postMessage({ log, extra }) }).start();

parentPort?.on('message', (message: string) => {
  if (message === 'wake') dispatcher.wake();
  if (message === 'stop') {
    void dispatcher
      .stop()
      .then(() => database.close())
      .then(() => parentPort?.close());
  }
});
