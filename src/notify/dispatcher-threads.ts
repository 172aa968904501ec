import { Worker } from 'node:worker_threads';
import type { Dispatcher, DispatcherOptions } from './dispatcher.js';

type ThreadOptions = Omit<DispatcherOptions, 'committer' | 'now' | 'random' | 'log' | 'mailer'>;

/** The SQLite dispatcher in a worker thread of its own (replaced if it dies). */
export function startDispatcherThread(file: string, opts: DispatcherOptions): Dispatcher {
  const { committer: _c, now: _n, random: _r, log = () => undefined, mailer: _m, ...plain } = opts;
  const workerData: { url: string; opts: ThreadOptions } = { url: `sqlite:${file}`, opts: plain };
  let stopping = false;
  const spawn = (): Worker => {
    const t = import.meta.url.endsWith('.ts')
      ? new Worker(
          `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL('./dispatcher-thread.ts', import.meta.url).href)}); })`,
          { eval: true, workerData },
        )
      : new Worker(new URL('./dispatcher-thread.js', import.meta.url), { workerData });
    t.on('message', (m: { log?: string; extra?: Record<string, unknown> }) => m.log && log(m.log, m.extra));
    t.on('error', (err) => log('dispatcher thread crashed', { err: String(err) }));
    t.once('exit', (code) => {
      if (stopping) return;
      log('dispatcher thread exited; restarting it', { code });
      setTimeout(() => {
        if (!stopping) thread = spawn();
      }, 1000).unref();
    });
    return t;
  };
  let thread = spawn();
  return {
    wake: () => thread.postMessage('wake'),
    stop: async () => {
      stopping = true;
      const exited = new Promise<void>((resolve) => thread.once('exit', () => resolve()));
      thread.postMessage('stop');
      await exited;
    },
  };
}
