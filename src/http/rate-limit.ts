import { RateLimitedError } from '../domain/errors.js';

/**
 * Fixed one-minute windows of counters per key. Each window is its own Map, dropped whole when
 * the next window starts: a counter lives exactly as long as its window, so no amount of other
 * clients' traffic can evict it early (an LRU could, resetting a key's allowance; see issue 12).
 * Memory is bounded by the distinct keys seen within one minute.
 */
export class WindowLimiter {
  readonly #perWindow: number;
  readonly #windowMs: number;
  #start = 0;
  #counts = new Map<string, number>();

  constructor(perWindow: number, windowMs = 60_000) {
    this.#perWindow = perWindow;
    this.#windowMs = windowMs;
  }

  /**
   * Counts one request for the key.
   * It can throw: RateLimitedError (with the seconds until the window ends).
   */
  hit(key: string, now = Date.now()): void {
    const start = now - (now % this.#windowMs);
    if (start !== this.#start) {
      this.#start = start;
      this.#counts = new Map();
    }
    const n = (this.#counts.get(key) ?? 0) + 1;
    this.#counts.set(key, n);
    if (n > this.#perWindow) throw new RateLimitedError(Math.max(1, Math.ceil((start + this.#windowMs - now) / 1000)));
  }
}
