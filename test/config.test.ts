import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, redactUrl } from '../src/config.js';
import { spawnTally } from './support/process.js';

describe('configuration is validated at start', () => {
  it('reads defaults when nothing is set, and typed values when set', () => {
    const defaults = loadConfig({});
    expect(defaults).toMatchObject({ port: 3000, host: '127.0.0.1', rateLimitPerMinute: 6000, jobChunkSize: 10_000, pgPoolSize: 20 });
    const set = loadConfig({ PORT: '8080', RATE_LIMIT_PER_MINUTE: '0', JOB_RATE_PER_STORE: '2.5', LOG_LEVEL: 'warn', REDIS_URL: 'redis://127.0.0.1:6379' });
    expect(set).toMatchObject({ port: 8080, rateLimitPerMinute: 0, jobRatePerStore: 2.5, logLevel: 'warn', redisUrl: 'redis://127.0.0.1:6379' });
  });

  it.each([
    ['RATE_LIMIT_PER_MINUTE', 'abc', /≥ 0/],
    ['JOB_CHUNK_SIZE', '0', /1–1000000/],
    ['PG_POOL_SIZE', '-1', /1–1000/],
    ['PORT', '70000', /0–65535/],
    ['LOG_LEVEL', 'loud', /one of fatal, error/],
    ['REDIS_URL', 'localhost:6379', /redis:\/\//],
    ['DATABASE_URL', 'mysql://app:hunter2@db/x', /sqlite:PATH or postgres:/],
    ['DATABASE_URL', 'postgres://app:hunter2@', /sqlite:PATH or postgres:/],
  ])('refuses %s=%s naming the variable and what it allows, never the secret', (name, value, allowed) => {
    let error: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain(name);
    expect(message).toMatch(allowed);
    expect(message).not.toContain('hunter2');
  });

  it('redacts the password of a URL, whatever it contains', () => {
    expect(redactUrl('postgres://app:p@ss/w:rd@db:5432/x')).toBe('postgres://app:***@db:5432/x');
    expect(redactUrl('postgres://app@db/x')).toBe('postgres://app@db/x');
  });

  it('stops `tally serve` with a bad value before opening anything, exit code 2, without echoing the password', async () => {
    const run = spawnTally(['serve', '--port', '0'], { DATABASE_URL: 'postgres://app:hunter2@/', RATE_LIMIT_PER_MINUTE: '10' });
    const code = await run.exited;
    expect(code).toBe(2);
    expect(run.output()).toContain('DATABASE_URL');
    expect(run.output()).not.toContain('hunter2');
    const chunk = spawnTally(['worker'], { JOB_CHUNK_SIZE: '0' });
    expect(await chunk.exited).toBe(2);
    expect(chunk.output()).toMatch(/JOB_CHUNK_SIZE is not valid: it must be customers per chunk, 1–1000000/);
  }, 30_000);
});
