import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBulkJob } from '../src/ledger/bulk.js';
import { queueCustomerNotification } from '../src/ledger/notifications.js';
import { hashPassword } from '../src/ledger/stores.js';
import { startDispatcher } from '../src/notify/dispatcher.js';
import { DIALECTS } from './support/databases.js';
import { aCustomer } from './support/fixtures.js';
import { until } from './support/process.js';
import { type TestStore, useServer, waitForJob } from './support/server.js';
import { startSmtp } from './support/smtp-server.js';

for (const dialect of DIALECTS) {
  describe(`${dialect}: e-mail notifications`, () => {
    const ctx = useServer(dialect);
    let smtp: Awaited<ReturnType<typeof startSmtp>>;
    beforeAll(async () => {
      smtp = await startSmtp();
    });
    afterAll(async () => smtp.close());

    async function storeWithStaff(): Promise<{ store: TestStore; userId: number }> {
      const store = await ctx.server.newStore('Mail store');
      const password = await hashPassword('password1');
      const user = await ctx.server.committer.run(async (trx) => {
        await trx.updateTable('stores').set({ settings: JSON.stringify({ notifyEmail: 'owner@shop.example' }) }).where('id', '=', store.id).execute();
        return trx.insertInto('users')
          .values({ store_id: store.id, email: 'staff@shop.example', name: 'Sam', password_hash: password, role: 'admin', created_at: Date.now() })
          .returning('id').executeTakeFirstOrThrow();
      });
      return { store, userId: user.id };
    }

    /** A bulk job started by the staff member (as a signed-in user would), run to its end. */
    async function staffJob(store: TestStore, userId: number): Promise<number> {
      const job = await ctx.server.committer.run((trx) =>
        createBulkJob(trx, store.id, { selection: { all: true }, type: 'adjust', points: -20, reason: 'Mail test' }, { type: 'user', id: userId, name: 'Sam' }),
      );
      expect(await waitForJob(store, job.id)).toMatchObject({ status: 'completed' });
      return job.id;
    }

    it('mails the end of a bulk job to notifyEmail and to the staff member who started it, with counts, time taken and the error-report link', async () => {
      const { store, userId } = await storeWithStaff();
      await aCustomer(store, { balance: 100 });
      await aCustomer(store, { balance: 5 });
      const jobId = await staffJob(store, userId);
      const dispatcher = startDispatcher(ctx.server.database, {
        committer: ctx.server.committer, idleMs: 20, baseUrl: 'https://tally.shop.example',
        smtp: { url: `smtp://127.0.0.1:${smtp.port}`, from: 'Tally <tally@shop.example>' },
      });
      try {
        const mails = await until(async () => {
          const mine = smtp.mails.filter((m) => m.subject?.includes(`job ${jobId} `) && m.subject.includes('Mail store'));
          return mine.length === 2 ? mine : undefined;
        });
        expect(mails.map((m) => (m.to as { text: string }).text).sort()).toEqual(['owner@shop.example', 'staff@shop.example']);
        const mail = mails[0];
        expect(mail.from?.text).toContain('tally@shop.example');
        expect(mail.text).toContain('Processed: 2 of 2. Succeeded: 1. Skipped: 1.');
        expect(mail.text).toMatch(/Time taken: \d+/);
        expect(mail.text).toContain(`https://tally.shop.example/v1/jobs/${jobId}/errors.csv`);
        expect(mail.html).toContain(`href="https://tally.shop.example/v1/jobs/${jobId}/errors.csv"`);
        const listed = await until(async () => {
          const data = (await store.api('GET', '/v1/notifications')).body.data;
          return data.length === 2 && data.every((n: any) => n.sentAt !== null) ? data : undefined;
        });
        expect(listed[0]).toMatchObject({ kind: 'job_finished', error: null });
      } finally {
        await dispatcher.stop();
      }
    });

    it('keeps messages unsent and lists them when no SMTP server is configured', async () => {
      const { store, userId } = await storeWithStaff();
      await aCustomer(store, { balance: 100 });
      const jobId = await staffJob(store, userId);
      const dispatcher = startDispatcher(ctx.server.database, { committer: ctx.server.committer, idleMs: 20, mailer: null });
      try {
        const listed = await until(async () => {
          const res = await store.api('GET', '/v1/notifications?limit=1');
          return res.body.data.length === 1 ? res.body : undefined;
        });
        expect(listed.data[0]).toMatchObject({ kind: 'job_finished', sentAt: null, error: null });
        expect(listed.data[0].subject).toContain(`job ${jobId}`);
        expect(listed.nextCursor).not.toBeNull();
        const next = await store.api('GET', `/v1/notifications?limit=1&cursor=${listed.nextCursor}`);
        expect(next.body.data).toHaveLength(1);
        expect(next.body.data[0].id).toBeLessThan(listed.data[0].id);
      } finally {
        await dispatcher.stop();
      }
    });

    it('mails a customer the customer-facing message of an adjustment, never the internal reason', async () => {
      const store = await ctx.server.newStore('Cafe Lumen');
      const customer = await aCustomer(store, { email: 'ana@example.com', firstName: 'Ana' });
      const quiet = await store.api('POST', `/v1/customers/${customer.id}/adjustments`, { points: 5, reason: 'No mail asked for' });
      expect(quiet.status, quiet.text).toBe(201);
      expect((await store.api('GET', '/v1/notifications')).body.data).toEqual([]);
      const res = await store.api('POST', `/v1/customers/${customer.id}/adjustments`, {
        points: 250, reason: 'INTERNAL: complaint #4411, manager approved', customerMessage: 'Sorry about the late order!', notifyCustomer: true,
      });
      expect(res.status, res.text).toBe(201);
      expect((await store.api('GET', '/v1/notifications')).body.data).toHaveLength(1);
      const nobody = await aCustomer(store, { externalId: 'no-mail' });
      expect(await ctx.server.committer.run((trx) => queueCustomerNotification(trx, store.id, { ...res.body.transaction, customerId: nobody.id }))).toBe(false);
      const dispatcher = startDispatcher(ctx.server.database, {
        committer: ctx.server.committer, idleMs: 20, smtp: { url: `smtp://127.0.0.1:${smtp.port}` },
      });
      try {
        const mail = await until(async () => smtp.mails.find((m) => (m.to as { text: string } | undefined)?.text === 'ana@example.com'));
        expect(mail.subject).toBe('Cafe Lumen: your points balance changed');
        expect(mail.text).toContain('250 points were added');
        expect(mail.text).toContain('Sorry about the late order!');
        expect(mail.text).not.toContain('complaint');
        expect(mail.html).not.toContain('complaint');
      } finally {
        await dispatcher.stop();
      }
    });
  });
}
