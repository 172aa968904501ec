import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, redactUrl } from '../src/config.js';
import { dispatcherOptionsFromConfig } from '../src/notify/dispatcher.js';
import { spawnTally } from './support/process.js';

describe('configuration is validated at start', () => {
  it('reads defaults when nothing is set, and typed values when set', () => {
    const defaults = loadConfig({});
    expect(defaults).toMatchObject({ port: 3000, host: '127.0.0.1', rateLimitPerMinute: 6000, jobChunkSize: 10_000, pgPoolSize: 20 });
    const set = loadConfig({ PORT: '8080', RATE_LIMIT_PER_MINUTE: '0', JOB_RATE_PER_STORE: '2.5', LOG_LEVEL: 'warn', REDIS_URL: 'redis://127.0.0.1:6379' });
    expect(set).toMatchObject({ port: 8080, rateLimitPerMinute: 0, jobRatePerStore: 2.5, logLevel: 'warn', redisUrl: 'redis://127.0.0.1:6379' });
  });

  it("reads the limits of one store's scans and the PostgreSQL scan pool", () => {
    expect(loadConfig({})).toMatchObject({ scansPerStore: 1, scanQueuePerStore: 50, pgScanPoolSize: 4 });
    expect(loadConfig({ SCANS_PER_STORE: '2', SCAN_QUEUE_PER_STORE: '0', PG_SCAN_POOL_SIZE: '8' })).toMatchObject({
      scansPerStore: 2,
      scanQueuePerStore: 0,
      pgScanPoolSize: 8,
    });
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
    ['SMTP_URL', 'mail.example.com:25', /smtp:\/\/ or smtps:\/\//],
    ['SMTP_URL', 'http://app:hunter2@mail.example.com', /smtp:\/\/ or smtps:\/\//],
    ['TALLY_PUBLIC_URL', 'tally.example.com', /http:\/\/ or https:\/\//],
    ['OUTBOX_RETENTION_DAYS', '0', /> 0 and ≤ 3650/],
    ['OUTBOX_RETENTION_DAYS', 'week', /> 0 and ≤ 3650/],
    ['WEBHOOK_LEASE_MS', '10', /1000–86400000/],
    ['WEBHOOK_LEASE_MS', '1.5e3x', /1000–86400000/],
    ['DISPATCH_IDLE_MS', '0', /1–60000/],
    ['TALLY_ALLOW_PRIVATE_WEBHOOKS', 'yes', /true or false/],
    ['SCANS_PER_STORE', '0', /1–100/],
    ['SCAN_QUEUE_PER_STORE', '-1', /0–100000/],
    ['PG_SCAN_POOL_SIZE', 'many', /1–1000/],
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

  it('reads the events settings (SMTP, public URL, outbox retention, dispatcher lease and idle wait)', () => {
    expect(loadConfig({})).toMatchObject({
      smtpFrom: 'Tally <tally@localhost>', publicUrl: 'http://localhost:3000', outboxRetentionDays: 7,
      webhookLeaseMs: 60_000, dispatchIdleMs: 500, allowPrivateWebhooks: false,
    });
    expect(loadConfig({}).smtpUrl).toBeUndefined();
    const set = loadConfig({
      SMTP_URL: 'smtps://app:pw@mail.example.com:465', SMTP_FROM: 'Shop <points@shop.example>', TALLY_PUBLIC_URL: 'https://tally.shop.example',
      OUTBOX_RETENTION_DAYS: '1.5', WEBHOOK_LEASE_MS: '1500', DISPATCH_IDLE_MS: '50', TALLY_ALLOW_PRIVATE_WEBHOOKS: 'true',
    });
    expect(set).toMatchObject({
      smtpUrl: 'smtps://app:pw@mail.example.com:465', smtpFrom: 'Shop <points@shop.example>', publicUrl: 'https://tally.shop.example',
      outboxRetentionDays: 1.5, webhookLeaseMs: 1500, dispatchIdleMs: 50, allowPrivateWebhooks: true,
    });
    expect(dispatcherOptionsFromConfig(set)).toEqual({
      leaseMs: 1500, idleMs: 50, baseUrl: 'https://tally.shop.example', retentionMs: 1.5 * 86_400_000, allowPrivate: true,
      smtp: { url: 'smtps://app:pw@mail.example.com:465', from: 'Shop <points@shop.example>' },
    });
    expect(dispatcherOptionsFromConfig(loadConfig({})).smtp).toBeUndefined();
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
    const smtp = spawnTally(['serve', '--port', '0'], { SMTP_URL: 'mail.example.com:25' });
    expect(await smtp.exited).toBe(2);
    expect(smtp.output()).toMatch(/SMTP_URL is not valid: it must be an smtp:\/\/ or smtps:\/\/ URL/);
  }, 30_000);
});
