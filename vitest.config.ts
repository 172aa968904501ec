import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // expect.poll waits for a server, a job or a browser: 1 s (vitest's default) failed a CI run on
    // a loaded machine. A longer wait costs nothing when the expectation is met.
    expect: { poll: { timeout: 15_000 } },
    pool: 'forks',
    // Two files at a time even on two cores (vitest's default is cores − 1): most of the suite waits
    // on real servers, databases and child processes, not on its own CPU. Each file has its own
    // database, so files never share state.
    maxWorkers: 2,
    minWorkers: 1,
    globalSetup: ['test/support/global-setup.ts', 'test/support/web-build.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
