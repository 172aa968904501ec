import { sql } from 'kysely';
import SQLite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Committer, createCommitter, type Trx } from '../src/db/committer.js';
import { DIALECTS, freshDatabase } from './support/databases.js';

/**
 * Units of work that need not be durable (an upload's staged rows) commit without waiting for
 * the disk; every other unit, and any group of units holding one, still does.
 */
for (const dialect of DIALECTS) {
  describe(`${dialect}: commits that need not be durable`, () => {
    let database: Awaited<ReturnType<typeof freshDatabase>>;
    let committer: Committer;
    beforeAll(async () => {
      database = await freshDatabase(dialect);
      committer = createCommitter(database);
    });
    afterAll(() => database?.drop());

    /** How the unit's own commit reaches the disk: SQLite's synchronous level, PostgreSQL's synchronous_commit. */
    const syncOf = async (trx: Trx): Promise<string> => {
      if (dialect === 'postgres') return (await sql<{ synchronous_commit: string }>`SHOW synchronous_commit`.execute(trx)).rows[0].synchronous_commit;
      return String((await sql<{ synchronous: number }>`PRAGMA synchronous`.execute(trx)).rows[0].synchronous);
    };
    const [durable, notDurable] = dialect === 'postgres' ? ['on', 'off'] : ['2', '1'];

    it('commits a unit that need not be durable without a sync, and every other unit with one', async () => {
      expect(await committer.run(syncOf, { durable: false })).toBe(notDurable);
      expect(await committer.run(syncOf)).toBe(durable);
      // A failed unit leaves the next one durable too.
      await expect(committer.run(() => Promise.reject(new Error('no')), { durable: false })).rejects.toThrow('no');
      expect(await committer.run(syncOf)).toBe(durable);
    });

    it.runIf(dialect === 'sqlite')('syncs a group commit that holds a durable unit, whatever the others ask', async () => {
      // Units asked for together share one SQLite transaction (group commit).
      const seen = await Promise.all([committer.run(syncOf, { durable: false }), committer.run(syncOf), committer.run(syncOf, { durable: false })]);
      expect(seen).toEqual([durable, durable, durable]);
      const alone = await Promise.all([committer.run(syncOf, { durable: false }), committer.run(syncOf, { durable: false })]);
      expect(alone).toEqual([notDurable, notDurable]);
    });
  });
}

/**
 * SQLite: a write of the serving thread waiting for the lock (held by the job thread or another
 * process) never holds up the reads by key that share its connection (issue 13: store B's reads
 * waited behind an upload's staged batches while the sweep held the lock).
 */
describe('sqlite: a write waiting for the lock', () => {
  it('leaves its connection to reads by key while it waits, then commits once the lock is free', async () => {
    const database = await freshDatabase('sqlite');
    const other = new SQLite(database.url.slice('sqlite:'.length));
    try {
      const committer = createCommitter(database);
      await sql`CREATE TABLE waited (x INTEGER)`.execute(database.db);
      other.exec('begin immediate');
      const write = committer.run((trx) => sql`INSERT INTO waited (x) VALUES (1)`.execute(trx));
      let written = false;
      write.then(() => (written = true), () => undefined);
      // The write is attempting the lock now, and will retry until it is free.
      await new Promise((r) => setTimeout(r, 30));
      const read = await sql<{ n: number }>`SELECT count(*) AS n FROM waited`.execute(database.db);
      expect(Number(read.rows[0].n)).toBe(0);
      expect(written).toBe(false);
      other.exec('commit');
      await write;
      const after = await sql<{ n: number }>`SELECT count(*) AS n FROM waited`.execute(database.db);
      expect(Number(after.rows[0].n)).toBe(1);
    } finally {
      other.close();
      await database.drop();
    }
  });
});
