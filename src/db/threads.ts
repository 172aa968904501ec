import { Worker } from 'node:worker_threads';

/**
 * Starts a worker thread running a module of ours. Under the test runner the sources are
 * TypeScript: the thread then registers tsx before loading the module; built, it loads the .js.
 */
export function spawnThread(moduleUrl: URL, workerData: unknown): Worker {
  if (moduleUrl.href.endsWith('.ts')) {
    return new Worker(
      `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(moduleUrl.href)}); })`,
      { eval: true, workerData },
    );
  }
  return new Worker(moduleUrl, { workerData });
}

/** The URL of a sibling module of `base` (an import.meta.url), with the extension `base` has (.ts or .js). */
export function siblingModule(base: string, name: string): URL {
  return new URL(`./${name}${base.endsWith('.ts') ? '.ts' : '.js'}`, base);
}

export interface SupervisedThread {
  post(message: unknown): void;
  /** Asks the thread to stop ('stop' message) and waits for it, at most timeoutMs, then ends it. */
  stop(timeoutMs?: number): Promise<void>;
}

/**
 * A long-lived worker thread of ours (the SQLite job runner, the SQLite dispatcher): its log
 * messages forwarded, and replaced a second after it dies (it should not), so its work never stalls.
 */
export function superviseThread(
  moduleUrl: URL,
  workerData: unknown,
  name: string,
  log: (msg: string, extra?: Record<string, unknown>) => void,
): SupervisedThread {
  let stopping = false;
  let exited = false;
  const spawn = (): Worker => {
    const t = spawnThread(moduleUrl, workerData);
    exited = false;
    t.on('message', (m: { log?: string; extra?: Record<string, unknown> }) => m.log && log(m.log, m.extra));
    t.on('error', (err) => log(`${name} thread crashed`, { err: String(err) }));
    t.once('exit', (code) => {
      exited = true;
      if (stopping) return;
      log(`${name} thread exited; restarting it`, { code });
      setTimeout(() => {
        if (!stopping) thread = spawn();
      }, 1000).unref();
    });
    return t;
  };
  let thread = spawn();
  return {
    post: (message) => thread.postMessage(message),
    stop: async (timeoutMs = 15_000) => {
      stopping = true;
      if (exited) return;
      const done = new Promise<void>((resolve) => thread.once('exit', () => resolve()));
      thread.postMessage('stop');
      const timeout = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref());
      await Promise.race([done, timeout]);
      if (!exited) await thread.terminate();
    },
  };
}
