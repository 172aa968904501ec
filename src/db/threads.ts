import { type ResourceLimits, Worker } from 'node:worker_threads';

/**
 * The young generation of each thread's heap, in MB (V8's default lets it grow to 48). A reader
 * thread formatting an export's rows grew it to 32 MB and kept it; 12 measured as fast on a
 * 1,000,000-row export with 30 MB less peak memory (issue 13: the server's peak RSS), and the
 * other threads allocate less than the readers.
 */
const THREAD_YOUNG_GENERATION_MB = 12;

/**
 * Starts a worker thread running a module of ours. Under the test runner the sources are
 * TypeScript: the thread then registers tsx before loading the module; built, it loads the .js.
 */
export function spawnThread(moduleUrl: URL, workerData: unknown): Worker {
  const resourceLimits: ResourceLimits = { maxYoungGenerationSizeMb: THREAD_YOUNG_GENERATION_MB };
  if (moduleUrl.href.endsWith('.ts')) {
    return new Worker(
      `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(moduleUrl.href)}); })`,
      { eval: true, workerData, resourceLimits },
    );
  }
  return new Worker(moduleUrl, { workerData, resourceLimits });
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
