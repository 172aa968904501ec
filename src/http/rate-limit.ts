import type { Redis } from 'ioredis';
import { RateLimitedError } from '../domain/errors.js';

/** Counts requests per key in one-minute windows. It can throw: RateLimitedError. */
export interface Limiter {
  hit(key: string): void | Promise<void>;
}

/**
 * Fixed one-minute windows of counters per key. Each window is its own Map, dropped whole when
 * the next window starts: a counter lives exactly as long as its window, so no amount of other
 * clients' traffic can evict it early (an LRU could, resetting a key's allowance; see issue 12).
 * Memory is bounded by the distinct keys seen within one minute.
 */
export class WindowLimiter implements Limiter {
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

/** INCR the window's counter and give it its expiry on the first hit, atomically. */
const INCR_SCRIPT = "local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return n";

/**
 * The same fixed windows, with the counters in Redis (REDIS_URL), so every instance on one
 * database shares one limit. A counter expires with its window, never earlier. When Redis does
 * not answer within its command timeout the request is let through (availability first) and
 * the failure goes to `onError`.
 */
export class RedisWindowLimiter implements Limiter {
  readonly #redis: Redis;
  readonly #perWindow: number;
  readonly #windowMs: number;
  readonly #prefix: string;
  readonly #onError: (err: unknown) => void;

  constructor(redis: Redis, perWindow: number, opts: { windowMs?: number; prefix?: string; onError?: (err: unknown) => void } = {}) {
    this.#redis = redis;
    this.#perWindow = perWindow;
    this.#windowMs = opts.windowMs ?? 60_000;
    this.#prefix = opts.prefix ?? 'tally:rl:';
    this.#onError = opts.onError ?? (() => undefined);
  }

  async hit(key: string): Promise<void> {
    const now = Date.now();
    const start = now - (now % this.#windowMs);
    let n: number;
    try {
      n = Number(await this.#redis.eval(INCR_SCRIPT, 1, `${this.#prefix}${start}:${key}`, String(this.#windowMs + 1000)));
    } catch (err) {
      this.#onError(err);
      return;
    }
    if (n > this.#perWindow) throw new RateLimitedError(Math.max(1, Math.ceil((start + this.#windowMs - now) / 1000)));
  }
}
