import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCommitter } from '../src/db/committer.js';
import { type Database, connect } from '../src/db/database.js';
import { createStore } from '../src/ledger/stores.js';
import { seedCustomers } from '../src/ledger/seed.js';
import { DIALECTS, freshDatabaseUrl, type TestDatabase } from './support/databases.js';
import { spawnTally } from './support/process.js';

for (const dialect of DIALECTS) {
  describe(`${dialect}: tally export`, () => {
    let test: TestDatabase;
    let database: Database;
    let storeId: number;
    beforeAll(async () => {
      test = await freshDatabaseUrl(dialect);
      database = await connect(test.url);
      storeId = (await createCommitter(database).run((trx) => createStore(trx, { name: 'CLI export' }))).store.id;
      await seedCustomers(database.db, createCommitter(database), storeId, 300);
    });
    afterAll(async () => {
      await database?.close();
      await test?.drop();
    });

    for (const what of ['customers', 'transactions'] as const) {
      it(`writes every ${what} row of the store to --out, with progress lines when not on a terminal`, async () => {
        const out = join(mkdtempSync(join(tmpdir(), 'tally-export-')), `${what}.csv`);
        const run = spawnTally(['export', what, '--store', String(storeId), '--out', out], { DATABASE_URL: test.url });
        expect(await run.exited).toBe(0);
        expect(run.output()).toMatch(new RegExp(`export ${what}: \\d+/\\d+`));
        const rows = parse(readFileSync(out), { columns: true }) as Record<string, string>[];
        const table = what === 'customers' ? 'customers' : 'transactions';
        const n = await database.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).where('store_id', '=', storeId).executeTakeFirstOrThrow();
        expect(rows).toHaveLength(Number(n.n));
      }, 60_000);
    }
  });
}
