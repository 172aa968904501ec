import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Committer, createCommitter } from '../src/db/committer.js';
import { createStore } from '../src/ledger/stores.js';
import { LEADER_EMAIL_OK, LEADER_SINCE, leads, markLeaders, markLeadersBy } from '../src/ledger/import-validate.js';
import { DIALECTS, freshDatabase } from './support/databases.js';

/**
 * markLeaders finds the groups of several rows with a GROUP BY and runs its window functions over
 * those rows only. It must mark exactly what the window functions over the whole upload mark
 * (its definition, markLeadersBy with windowsOverAll): for random staged rows whose external ids,
 * e-mails and times collide, and customers already holding some of the e-mails.
 */
const staged = fc.array(
  fc.record({
    externalId: fc.option(fc.constantFrom('a', 'b', 'c', 'd'), { nil: null }),
    email: fc.option(fc.constantFrom('e1@x.io', 'e2@x.io', 'e3@x.io'), { nil: null }),
    at: fc.option(fc.integer({ min: 1, max: 5 }), { nil: null }),
    // A row resolved to a customer already, or one with an error: neither leads a new member.
    known: fc.boolean(),
    error: fc.boolean(),
  }),
  { maxLength: 25 },
);

for (const dialect of DIALECTS) {
  describe(`${dialect}: the groups of an import's new members`, () => {
    let database: Awaited<ReturnType<typeof freshDatabase>>;
    let committer: Committer;
    let storeId: number;
    let nextJob = 1;
    beforeAll(async () => {
      database = await freshDatabase(dialect);
      committer = createCommitter(database);
      storeId = (await committer.run((trx) => createStore(trx, { name: 'groups' }))).store.id;
    });
    afterAll(() => database?.drop());

    it('marks the leaders, their times and who gets an e-mail as window functions over the whole upload do', async () => {
      await fc.assert(
        fc.asyncProperty(staged, fc.subarray(['e1@x.io', 'e2@x.io', 'e3@x.io']), async (rows, taken) => {
          const [mine, reference] = [nextJob++, nextJob++];
          const marked = await committer.run(async (trx) => {
            const customers = [];
            for (const email of taken) customers.push({ store_id: storeId, email: `${mine}-${email}`, created_at: 1 });
            for (const email of taken) customers.push({ store_id: storeId, email: `${reference}-${email}`, created_at: 1 });
            if (customers.length > 0) await trx.insertInto('customers').values(customers).execute();
            for (const jobId of [mine, reference]) {
              if (rows.length === 0) break;
              await trx
                .insertInto('import_rows')
                .values(
                  rows.map((r, i) => ({
                    job_id: jobId,
                    store_id: storeId,
                    line: i + 2,
                    external_id: r.externalId,
                    // Each job's e-mails are its own: the customers above hold those of `taken`.
                    email: r.email === null ? null : `${jobId}-${r.email}`,
                    at: r.at,
                    customer_id: r.known ? 1 : null,
                    error: r.error ? 'customer_not_found' : null,
                    points: 1,
                  })),
                )
                .execute();
            }
            await markLeaders(trx, { jobId: mine, storeId, plan: { type: 'history', mode: 'partial', reason: 'x', columns: {} } });
            await markLeadersBy(trx, { jobId: reference, storeId, plan: { type: 'history', mode: 'partial', reason: 'x', columns: {} } }, { windowsOverAll: true });
            // As createMembers reads them: a row of no group leads unmarked.
            const read = async (jobId: number) =>
              (
                await sql<{ line: number; email: string | null; leader: number | null; since: number | null; email_ok: boolean | number }>`
                  SELECT r.line, r.email, CASE WHEN ${leads(1)} THEN 1 WHEN ${leads(2)} THEN 2 END AS leader,
                         ${LEADER_SINCE} AS since, CASE WHEN ${LEADER_EMAIL_OK} THEN 1 ELSE 0 END AS email_ok
                  FROM import_rows r WHERE r.job_id = ${jobId} ORDER BY r.line`.execute(trx)
              ).rows;
            return { mine: await read(mine), reference: await read(reference) };
          });
          // Only a leader's marks are read, and `email_ok` only where there is an e-mail.
          const leaders = (marks: typeof marked.mine) =>
            marks.map((m) => {
              const leader = m.leader === null ? null : Number(m.leader);
              if (leader === null) return { line: Number(m.line), leader };
              return { line: Number(m.line), leader, since: m.since === null ? null : Number(m.since), emailOk: m.email === null ? null : Number(m.email_ok) };
            });
          expect(leaders(marked.mine)).toEqual(leaders(marked.reference));
        }),
        { numRuns: 60 },
      );
    });
  });
}
