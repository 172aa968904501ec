import type { Dialect } from '../src/db/migrations/helpers.js';

/** One cell of a results table. */
export type Cell = string | number | boolean | null;

/** A table of results: printed as markdown, kept whole in the JSON. */
export interface BenchTable {
  title: string;
  /** Column key → heading, in display order. */
  columns: [key: string, heading: string][];
  rows: Record<string, Cell>[];
  /** Lines printed under the table (summaries, checks, targets). */
  notes?: string[];
}

export interface BenchContext {
  dialects: Dialect[];
  /** Progress to stderr (stdout is for the tables). */
  log(message: string): void;
}

/**
 * One benchmark. bench/run.ts runs a list of these in order and writes every table they return
 * to stdout, bench/results/<time>.json and bench/results/latest.md.
 */
export interface BenchModule {
  /** Short id; `BENCH_ONLY=a,b` runs only these. */
  name: string;
  run(ctx: BenchContext): Promise<BenchTable[]>;
}
