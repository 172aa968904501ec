/**
 * Probe (not part of bench/run.ts): seeds a SQLite file laid out as bench/imports.ts leaves it
 * (the exporting store's rows interleaved with other stores'), then times the transactions
 * export in-process beside the raw keyset walk. Env: ROWS (200000), DB (a file to reuse).
 */
import { existsSync } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import { sql } from 'kysely';
import { createCommitter } from '../src/db/committer.js';
import { migrate, openDatabase } from '../src/db/database.js';
import { seedCustomers } from '../src/ledger/seed.js';
import { createStore } from '../src/ledger/stores.js';
import { transactionCsvText } from '../src/ledger/transactions.js';

const n = Number(process.env.ROWS ?? 200_000);
const url = process.env.DB_URL ?? `sqlite:/tmp/exp/tally-${n}.db`;
const isSqlite = url.startsWith('sqlite:');
const fresh = !isSqlite || !existsSync(url.slice(7));
const database = openDatabase(url);
await migrate(database);
const storeId = 2;
if (fresh && (await database.db.selectFrom('stores').select('id').execute()).length === 0) {
  const committer = createCommitter(database);
  const make = (name: string) => committer.run((trx) => createStore(trx, { name }));
  const other = await make('other');
  const stores = [await make('add'), await make('raw add'), await make('pending'), await make('raw pending')];
  await seedCustomers(database.db, committer, other.store.id, 10_000);
  for (const s of stores) await seedCustomers(database.db, committer, s.store.id, n);
  const addRows = async (sid: number, job: number) =>
    sql`INSERT INTO transactions (store_id, customer_id, type, points, tier_points, balance_after, reason, visible_to_customer, actor_type, actor_name, job_id, job_line, created_at)
      SELECT store_id, id, 'import', 10, 10, balance + 10, 'Bench, "quoted"', 1, 'system', 'bench', ${job}, id, ${Date.now()} FROM customers WHERE store_id = ${sid}`.execute(database.db);
  await addRows(stores[1].store.id, -2);
  await addRows(stores[3].store.id, -4);
  await addRows(stores[0].store.id, -5);
  console.log('seeded');
}
const count = Number((await sql<{ n: number }>`SELECT count(*) AS n FROM transactions WHERE store_id = ${storeId}`.execute(database.db)).rows[0].n);
const sink = () => {
  let bytes = 0;
  return { w: new Writable({ write: (c: Buffer, _e, done) => { bytes += c.length; done(); } }), bytes: () => bytes };
};
const seconds = (t: number) => ((performance.now() - t) / 1000).toFixed(2);

async function raw(): Promise<string> {
  const t = performance.now();
  async function* records() {
    let after = 0;
    for (;;) {
      const { rows: batch } = await sql<Record<string, unknown> & { id: number }>`
        SELECT * FROM transactions WHERE store_id = ${storeId} AND id > ${after} ORDER BY id LIMIT 5000`.execute(database.db);
      for (const r of batch) yield Object.values(r);
      if (batch.length < 5000) return;
      after = batch[batch.length - 1].id;
    }
  }
  await pipeline(Readable.from(records()), stringify(), sink().w);
  return seconds(t);
}

async function tally(): Promise<string> {
  const t = performance.now();
  const s = sink();
  async function* text() {
    for await (const piece of transactionCsvText(database.scans.of(storeId), storeId, {})) yield piece.text;
  }
  await pipeline(Readable.from(text()), s.w);
  return `${seconds(t)} s, ${s.bytes()} bytes`;
}

for (let i = 0; i < Number(process.env.REPEAT ?? 2); i++) {
  console.log(`${count} rows: raw ${await raw()} s; tally ${await tally()}`);
}
await database.close();
