import { describe, expect, it } from 'vitest';
import { seedCustomers } from '../src/ledger/seed.js';
import { DIALECTS } from './support/databases.js';
import { aCustomer, assertLedgerInvariants } from './support/fixtures.js';
import { startServer, waitForJob } from './support/server.js';

const BIG = 60_000;

for (const dialect of DIALECTS) {
  describe(`${dialect}: jobs of different stores take turns`, () => {
    for (const [name, workers] of [
      ['without a rate cap', { chunkSize: 2_000, idleMs: 50 }],
      ['with a rate cap', { chunkSize: 2_000, ratePerStore: 20_000, idleMs: 50 }],
    ] as const) {
      it(`completes a small store's job while a big store's job runs (${name})`, async () => {
        const server = await startServer(dialect, { workers });
        try {
          const big = await server.newStore('Big store');
          const small = await server.newStore('Small store');
          await seedCustomers(server.database.db, server.committer, big.id, BIG);
          const group = await Promise.all(Array.from({ length: 10 }, () => aCustomer(small)));
          const bigJob = (await big.api('POST', '/v1/bulk-adjustments', { selection: { all: true }, type: 'adjust', points: 1, reason: 'Everyone' })).body.job;
          // Let the big job get going first.
          for (let i = 0; i < 200 && (await big.api('GET', `/v1/jobs/${bigJob.id}`)).body.processed === 0; i++) {
            await new Promise((r) => setTimeout(r, 10));
          }
          const asked = Date.now();
          const smallJob = (
            await small.api('POST', '/v1/bulk-adjustments', { selection: { customerIds: group.map((c) => c.id) }, type: 'adjust', points: 5, reason: 'Ten' })
          ).body.job;
          const smallDone = await waitForJob(small, smallJob.id);
          const waited = Date.now() - asked;
          const bigNow = (await big.api('GET', `/v1/jobs/${bigJob.id}`)).body;
          expect(smallDone).toMatchObject({ status: 'completed', succeeded: 10 });
          expect(bigNow.status, 'the big job is still running when the small one is done').toBe('running');
          expect(waited).toBeLessThan(2_000);
          expect(await waitForJob(big, bigJob.id, 60_000)).toMatchObject({ status: 'completed', succeeded: BIG });
          await assertLedgerInvariants(server.database);
        } finally {
          await server.close();
        }
      });
    }
  });
}
