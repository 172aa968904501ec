import pg from 'pg';

/**
 * Decides once whether the PostgreSQL half of the suite runs. Under CI (CI=true) it must:
 * an unreachable server fails the run instead of skipping the tests.
 */
export default async function setup(): Promise<void> {
  const wanted = (process.env.DIALECTS ?? 'sqlite,postgres').split(',');
  if (!wanted.includes('postgres')) return;
  const url = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    await client.end();
  } catch (err) {
    if (process.env.CI) throw new Error(`PostgreSQL at ${url} is required under CI: ${(err as Error).message}`);
    process.env.DIALECTS = wanted.filter((d) => d !== 'postgres').join(',');
    console.warn(`PostgreSQL unreachable (${(err as Error).message}); running SQLite only`);
  }
}
