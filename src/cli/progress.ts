import cliProgress from 'cli-progress';

export interface Progress {
  /** Progress so far; `total` when it became known or changed (a job fixes its selection as it starts). */
  update: (done: number, total?: number) => void;
  stop: () => void;
}

/**
 * A progress bar (with rate and ETA) on a terminal; plain progress lines, at most one every
 * two seconds, when the output is a file or a pipe.
 */
export function progressReporter(label: string, initialTotal: number): Progress {
  let total = initialTotal;
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {percentage}% | {value}/{total} | {rate}/s | ETA {eta_formatted}`, stream: process.stderr },
      cliProgress.Presets.shades_classic,
    );
    const started = Date.now();
    bar.start(total, 0, { rate: 0 });
    return {
      update: (done, newTotal) => {
        if (newTotal !== undefined && newTotal > 0) bar.setTotal(newTotal);
        bar.update(done, { rate: Math.round(done / Math.max((Date.now() - started) / 1000, 0.001)) });
      },
      stop: () => bar.stop(),
    };
  }
  let last = 0;
  return {
    update: (done, newTotal) => {
      if (newTotal !== undefined && newTotal > 0) total = newTotal;
      const now = Date.now();
      if (now - last < 2000 && done < total) return;
      last = now;
      process.stderr.write(`${label}: ${done}/${total} (${Math.floor((done / Math.max(total, 1)) * 100)}%)\n`);
    },
    stop: () => undefined,
  };
}
