/**
 * The process's configuration, read from the environment once and validated (env-schema, i.e.
 * ajv) before a command touches anything. Nothing else in src/ reads process.env: a value that
 * cannot be used stops the command with a message naming the variable and what it allows,
 * instead of silently meaning something else (`RATE_LIMIT_PER_MINUTE=abc` used to turn the
 * limit off; `JOB_CHUNK_SIZE=0` made a job spin forever). Values are never echoed, so a secret
 * in a bad value (a password in DATABASE_URL) never reaches a terminal or a log.
 */
import envSchema from 'env-schema';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Each variable with its type, bounds and the sentence that says what it allows. */
const SCHEMA = {
  type: 'object',
  properties: {
    DATABASE_URL: { type: 'string', default: 'sqlite:./data/tally.db', description: 'sqlite:PATH or postgres://user@host:port/db' },
    PORT: { type: 'integer', minimum: 0, maximum: 65535, default: 3000, description: 'a TCP port, 0–65535' },
    HOST: { type: 'string', minLength: 1, default: '127.0.0.1', description: 'an interface address or host name' },
    LOG_LEVEL: { type: 'string', enum: LOG_LEVELS, default: 'info', description: `one of ${LOG_LEVELS.join(', ')}` },
    RATE_LIMIT_PER_MINUTE: {
      type: 'integer',
      minimum: 0,
      default: 6000,
      description: 'a whole number of requests per minute per API key, ≥ 0 (0 turns the limit off)',
    },
    PG_POOL_SIZE: { type: 'integer', minimum: 1, maximum: 1000, default: 20, description: 'a whole number of connections, 1–1000' },
    PG_SCAN_POOL_SIZE: {
      type: 'integer',
      minimum: 1,
      maximum: 1000,
      default: 4,
      description: 'a whole number of connections, 1–1000: the PostgreSQL pool of searches, filters, previews, exports and reports',
    },
    SCANS_PER_STORE: {
      type: 'integer',
      minimum: 1,
      maximum: 100,
      default: 1,
      description: "a whole number, 1–100: one store's searches, filters, previews, exports and reports in the database at once (the rest wait their turn)",
    },
    SCAN_QUEUE_PER_STORE: {
      type: 'integer',
      minimum: 0,
      maximum: 100_000,
      default: 50,
      description: "a whole number, 0–100000: one store's scans waiting for a turn; one more is refused with 429 too_many_scans",
    },
    JOB_CHUNK_SIZE: { type: 'integer', minimum: 1, maximum: 1_000_000, default: 10_000, description: 'customers per chunk, 1–1000000' },
    JOB_CHUNK_MS: {
      type: 'integer',
      minimum: 1,
      maximum: 60_000,
      description: 'milliseconds, 1–60000: the aimed-at length of one job chunk transaction (default 40 on SQLite, 1000 on PostgreSQL)',
    },
    JOB_CONTENDED_CHUNK_MS: {
      type: 'integer',
      minimum: 1,
      maximum: 60_000,
      description: 'milliseconds, 1–60000: the same while requests wait for the chunks (SQLite; default 15)',
    },
    JOB_RATE_PER_STORE: {
      type: 'number',
      minimum: 0,
      default: 0,
      description: 'customers per second per store, ≥ 0 (0 = unlimited)',
    },
    PG_STATEMENT_TIMEOUT_MS: {
      type: 'integer',
      minimum: 1000,
      maximum: 86_400_000,
      default: 60_000,
      description: 'milliseconds, 1000–86400000: the longest one PostgreSQL statement may run',
    },
    PG_IDLE_TX_TIMEOUT_MS: {
      type: 'integer',
      minimum: 1000,
      maximum: 86_400_000,
      default: 60_000,
      description: 'milliseconds, 1000–86400000: how long a session may sit idle inside a transaction (bounds a hung worker\'s job lease)',
    },
    REDIS_URL: { type: 'string', pattern: '^rediss?://', description: 'redis://[user:password@]host:port[/db] (or rediss://)' },
    TALLY_ALLOW_PRIVATE_WEBHOOKS: { type: 'boolean', default: false, description: 'true or false' },
    SMTP_URL: { type: 'string', pattern: '^smtps?://[^\\s]+$', description: 'an smtp:// or smtps:// URL (smtp://user:pass@host:port)' },
    SMTP_FROM: { type: 'string', minLength: 1, default: 'Tally <tally@localhost>', description: 'a sender address, e.g. Tally <tally@shop.example>' },
    TALLY_PUBLIC_URL: {
      type: 'string',
      pattern: '^https?://[^\\s]+$',
      default: 'http://localhost:3000',
      description: 'an http:// or https:// URL: where the links in e-mails point',
    },
    OUTBOX_RETENTION_DAYS: {
      type: 'number',
      exclusiveMinimum: 0,
      maximum: 3650,
      default: 7,
      description: 'a number of days, > 0 and ≤ 3650: how long delivered outbox rows and finished deliveries are kept',
    },
    WEBHOOK_LEASE_MS: {
      type: 'integer',
      minimum: 1000,
      maximum: 86_400_000,
      default: 60_000,
      description: 'milliseconds, 1000–86400000: how long a dispatcher owns a delivery it is sending',
    },
    DISPATCH_IDLE_MS: {
      type: 'integer',
      minimum: 1,
      maximum: 60_000,
      default: 500,
      description: 'milliseconds, 1–60000: how long an idle dispatcher waits before looking at the outbox again',
    },
    IMPORT_MAX_BYTES: {
      type: 'integer',
      minimum: 1,
      default: 500 * 1024 * 1024,
      description: 'bytes, ≥ 1: the largest import upload accepted (default 500 MB)',
    },
    SHUTDOWN_TIMEOUT_MS: {
      type: 'integer',
      minimum: 100,
      maximum: 600_000,
      default: 10_000,
      description: 'milliseconds, 100–600000: how long a shutdown may take before the process exits anyway',
    },
  },
} as const;

type Props = typeof SCHEMA.properties;
type Name = keyof Props;

export interface Config {
  databaseUrl: string;
  port: number;
  host: string;
  logLevel: (typeof LOG_LEVELS)[number];
  /** 0 = off. */
  rateLimitPerMinute: number;
  pgPoolSize: number;
  pgScanPoolSize: number;
  /** One store's scans running at once, and waiting for a turn (db/scans.ts). */
  scansPerStore: number;
  scanQueuePerStore: number;
  pgStatementTimeoutMs: number;
  pgIdleInTransactionTimeoutMs: number;
  jobChunkSize: number;
  /** Customers per second per store; 0 = unlimited. */
  jobRatePerStore: number;
  jobChunkMs?: number;
  jobContendedChunkMs?: number;
  redisUrl?: string;
  allowPrivateWebhooks: boolean;
  shutdownTimeoutMs: number;
  /** Unset: e-mail is kept and listed, not sent. */
  smtpUrl?: string;
  smtpFrom: string;
  /** The base of the links in e-mails. */
  publicUrl: string;
  outboxRetentionDays: number;
  webhookLeaseMs: number;
  dispatchIdleMs: number;
  /** The largest import upload, in bytes. */
  importMaxBytes: number;
}

/** A configuration value that cannot be used: names the variable and what it allows, never the value. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    readonly allowed: string,
  ) {
    super(`${variable} is not valid: it must be ${allowed}`);
  }
}

/** A URL with any password replaced, for messages and logs (the last `@` ends the credentials). */
export function redactUrl(url: string): string {
  const start = url.indexOf('://');
  const at = url.lastIndexOf('@');
  if (start < 0 || at < start) return url;
  const credentials = url.slice(start + 3, at);
  const colon = credentials.indexOf(':');
  return `${url.slice(0, start + 3)}${colon < 0 ? credentials : `${credentials.slice(0, colon)}:***`}${url.slice(at)}`;
}

/**
 * Reads and validates the configuration. Unset and empty variables take their defaults.
 *
 * @example loadConfig({ PORT: '8080' }).port === 8080
 * It can throw: ConfigError.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const data: Record<string, string> = {};
  for (const name of Object.keys(SCHEMA.properties) as Name[]) {
    const value = env[name];
    if (value !== undefined && value.trim() !== '') data[name] = value.trim();
  }
  let raw: Record<Name, unknown>;
  try {
    raw = envSchema({ schema: structuredClone(SCHEMA) as unknown as object, data, env: false }) as Record<Name, unknown>;
  } catch (err) {
    const first = (err as { errors?: { instancePath: string }[] }).errors?.[0];
    const name = (first?.instancePath.slice(1) ?? '') as Name;
    if (name in SCHEMA.properties) throw new ConfigError(name, SCHEMA.properties[name].description);
    throw err;
  }
  const databaseUrl = String(raw.DATABASE_URL);
  checkDatabaseUrl(databaseUrl);
  return {
    databaseUrl,
    port: raw.PORT as number,
    host: raw.HOST as string,
    logLevel: raw.LOG_LEVEL as Config['logLevel'],
    rateLimitPerMinute: raw.RATE_LIMIT_PER_MINUTE as number,
    pgPoolSize: raw.PG_POOL_SIZE as number,
    pgScanPoolSize: raw.PG_SCAN_POOL_SIZE as number,
    scansPerStore: raw.SCANS_PER_STORE as number,
    scanQueuePerStore: raw.SCAN_QUEUE_PER_STORE as number,
    pgStatementTimeoutMs: raw.PG_STATEMENT_TIMEOUT_MS as number,
    pgIdleInTransactionTimeoutMs: raw.PG_IDLE_TX_TIMEOUT_MS as number,
    jobChunkSize: raw.JOB_CHUNK_SIZE as number,
    jobRatePerStore: raw.JOB_RATE_PER_STORE as number,
    ...(raw.JOB_CHUNK_MS !== undefined ? { jobChunkMs: raw.JOB_CHUNK_MS as number } : {}),
    ...(raw.JOB_CONTENDED_CHUNK_MS !== undefined ? { jobContendedChunkMs: raw.JOB_CONTENDED_CHUNK_MS as number } : {}),
    ...(raw.REDIS_URL !== undefined ? { redisUrl: raw.REDIS_URL as string } : {}),
    allowPrivateWebhooks: raw.TALLY_ALLOW_PRIVATE_WEBHOOKS as boolean,
    shutdownTimeoutMs: raw.SHUTDOWN_TIMEOUT_MS as number,
    ...(raw.SMTP_URL !== undefined ? { smtpUrl: raw.SMTP_URL as string } : {}),
    smtpFrom: raw.SMTP_FROM as string,
    publicUrl: raw.TALLY_PUBLIC_URL as string,
    outboxRetentionDays: raw.OUTBOX_RETENTION_DAYS as number,
    webhookLeaseMs: raw.WEBHOOK_LEASE_MS as number,
    dispatchIdleMs: raw.DISPATCH_IDLE_MS as number,
    importMaxBytes: raw.IMPORT_MAX_BYTES as number,
  };
}

function checkDatabaseUrl(url: string): void {
  const allowed = SCHEMA.properties.DATABASE_URL.description;
  if (url.startsWith('sqlite:')) {
    if (url.length > 'sqlite:'.length) return;
    throw new ConfigError('DATABASE_URL', `${allowed} (the SQLite path is missing)`);
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    try {
      const parsed = new URL(url);
      if (parsed.hostname !== '' || parsed.searchParams.has('host')) return;
    } catch {
      // reported below
    }
    throw new ConfigError('DATABASE_URL', `${allowed} (${redactUrl(url)} cannot be parsed)`);
  }
  throw new ConfigError('DATABASE_URL', `${allowed} (${redactUrl(url)} has neither prefix)`);
}
