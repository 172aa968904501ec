import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type Database, migrate, type OpenOptions, openDatabase } from '../../src/db/database.js';
import type { Dialect } from '../../src/db/migrations/helpers.js';

export const DIALECTS = (process.env.DIALECTS ?? 'sqlite,postgres').split(',').filter(Boolean) as Dialect[];

const ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDatabase {
  url: string;
  dialect: Dialect;
  drop(): Promise<void>;
}

/**
 * A fresh, empty database: a temporary SQLite file (real WAL, real fsync), or a new PostgreSQL
 * database on the local server, so test files run in parallel without sharing state.
 */
export async function freshDatabaseUrl(dialect: Dialect): Promise<TestDatabase> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'tally-test-'));
    return { url: `sqlite:${join(dir, 'tally.db')}`, dialect, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `tally_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    dialect,
    drop: async () => {
      const c = new pg.Client({ connectionString: ADMIN_URL });
      await c.connect();
      // pg's pool.end() resolves before its connections have finished closing; terminating them
      // (FORCE) would then raise an error on a client nobody listens to any more. Let them go first.
      for (let i = 0; i < 100; i++) {
        const { rows } = await c.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [name]);
        if (rows[0].n === 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** A fresh, migrated database handle; `drop()` closes and removes it. */
export async function freshDatabase(dialect: Dialect, opts: OpenOptions = {}): Promise<Database & { url: string; drop(): Promise<void> }> {
  const fresh = await freshDatabaseUrl(dialect);
  const database = openDatabase(fresh.url, opts);
  await migrate(database);
  return {
    ...database,
    url: fresh.url,
    drop: async () => {
      await database.close();
      await fresh.drop();
    },
  };
}
