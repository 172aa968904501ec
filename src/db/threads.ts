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
