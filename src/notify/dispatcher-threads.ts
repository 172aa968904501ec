import { siblingModule, superviseThread } from '../db/threads.js';
import type { Dispatcher, DispatcherOptions } from './dispatcher.js';

type ThreadOptions = Omit<DispatcherOptions, 'committer' | 'now' | 'random' | 'log' | 'mailer'>;

/**
 * The SQLite dispatcher in a worker thread of its own (replaced if it dies). Only plain settings
 * cross: the thread builds its own mailer from `smtp` (none when `mailer` is null).
 */
export function startDispatcherThread(file: string, opts: DispatcherOptions): Dispatcher {
  const { committer: _c, now: _n, random: _r, log = () => undefined, mailer, smtp, ...plain } = opts;
  const workerData: { url: string; opts: ThreadOptions } = { url: `sqlite:${file}`, opts: mailer === null || !smtp ? plain : { ...plain, smtp } };
  const thread = superviseThread(siblingModule(import.meta.url, 'dispatcher-thread'), workerData, 'dispatcher', log);
  return { wake: () => thread.post('wake'), stop: () => thread.stop() };
}
