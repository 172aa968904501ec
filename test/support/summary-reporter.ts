import type { Reporter, RunnerTask, RunnerTestFile } from 'vitest/node';

/** Ends the run with the plain closing line CI tools read: "Tests: N passed, N failed, N skipped". */
export default class SummaryReporter implements Reporter {
  onFinished(files: RunnerTestFile[] = [], errors: unknown[] = []): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    const walk = (task: RunnerTask) => {
      if (task.type === 'suite') {
        for (const child of task.tasks) walk(child);
        return;
      }
      const state = task.result?.state;
      if (state === 'pass') counts.passed += 1;
      else if (state === 'fail') counts.failed += 1;
      else counts.skipped += 1;
    };
    for (const file of files) {
      walk(file);
      if (file.result?.state === 'fail' && file.tasks.length === 0) counts.failed += 1;
    }
    counts.failed += errors.length;
    process.stdout.write(`\nTests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`);
  }
}
