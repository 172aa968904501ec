import fc from 'fast-check';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { DIALECTS } from './support/databases.js';
import { aCustomer } from './support/fixtures.js';
import { type TestStore, useServer, waitForJob } from './support/server.js';

const TYPES = ['add', 'set', 'history'] as const;

/** Files no importer should choke on: each must get a clear refusal or row errors. */
const MALFORMED: [string, Buffer | string][] = [
  ['an empty file', ''],
  ['a header only', 'email,points\n'],
  ['an unterminated quote', 'email,points,reason\nf1@example.com,1,"never closed\nf1@example.com,2,x\n'],
  ['a 1 MB field', `email,points,reason\nf1@example.com,1,"${'x'.repeat(1024 * 1024)}"\n`],
  ['10,000 columns', `email,points,${Array.from({ length: 10_000 }, (_, i) => `c${i}`).join(',')}\nf1@example.com,1\n`],
  ['binary garbage', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52])],
  ['mixed line endings', 'email,points,createdAt\r\nf1@example.com,1,2024-01-01T00:00:00Z\nf2@example.com,2,2024-01-01T00:00:00Z\rf1@example.com,3,2024-01-02T00:00:00Z\r\n'],
  ['Latin-1', Buffer.from('email,points,reason\nf1@example.com,1,caf\xe9\n', 'latin1')],
  ['UTF-16', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('email,points\nf1@example.com,1\n', 'utf16le')])],
  ['a NUL after the first 64 KB', `email,points,reason\n${'f1@example.com,1,ok\n'.repeat(4000)}f2@example.com,1,bad\u0000\n`],
  ['garbage points and dates', 'email,points,createdAt\nf1@example.com,1e9,yesterday\nf2@example.com,,2024-13-01T00:00:00Z\n,5,2024-01-01T00:00:00Z\n'],
];

for (const dialect of DIALECTS) {
  describe(`${dialect}: malformed import files`, () => {
    const ctx = useServer(dialect);

    /** Uploads a file; asserts a clear 4xx (nothing left behind) or a job that completes. */
    async function tryFile(store: TestStore, type: string, body: Buffer | string, dryRun = false) {
      const res = await fetch(`${ctx.server.url}/v1/imports?type=${type}${dryRun ? '&dryRun=true' : ''}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${store.apiKey}`, 'content-type': 'text/csv' },
        body: typeof body === 'string' ? body : new Uint8Array(body),
      });
      const text = await res.text();
      expect(res.status, text).toBeLessThan(500);
      const parsed = JSON.parse(text);
      if (res.status >= 400) {
        expect(parsed.error.code).toMatch(/^[a-z_]+$/);
        expect(parsed.error.message.length).toBeGreaterThan(10);
      } else if (res.status === 202) {
        const job = await waitForJob(store, parsed.job.id);
        expect(job.status).toBe('completed');
        expect(job.succeeded + job.failed + job.skipped).toBe(job.total);
      } else {
        expect(res.status).toBe(200);
        expect(parsed.preview.rows).toBe(parsed.preview.valid + parsed.preview.invalid);
      }
      return res.status;
    }

    /** Staged rows and unfinished jobs; a completed job's staged rows go shortly after, by the runner's sweep (so: polled). */
    async function leftovers(storeId: number) {
      const r = await sql<{ n: number }>`
        SELECT (SELECT count(*) FROM import_rows WHERE store_id = ${storeId})
             + (SELECT count(*) FROM jobs WHERE store_id = ${storeId} AND status NOT IN ('completed', 'cancelled')) AS n`.execute(ctx.server.database.db);
      return Number(r.rows[0].n);
    }

    for (const [what, body] of MALFORMED) {
      it(`answers ${what} with a clear refusal or row errors, never a 5xx or a partial write`, async () => {
        const store = await ctx.server.newStore(what);
        await aCustomer(store, { email: 'f1@example.com', balance: 10 });
        const statuses = [];
        for (const type of TYPES) statuses.push(await tryFile(store, type, body), await tryFile(store, type, body, true));
        await expect.poll(() => leftovers(store.id), { timeout: 30_000 }).toBe(0);
        if (['an empty file', 'a header only', 'binary garbage', 'Latin-1', 'UTF-16', 'an unterminated quote', 'a 1 MB field', '10,000 columns'].includes(what)) {
          expect(statuses.every((s) => s === 422)).toBe(true);
          const rows = await sql<{ n: number }>`SELECT count(*) AS n FROM transactions WHERE store_id = ${store.id}`.execute(ctx.server.database.db);
          expect(Number(rows.rows[0].n)).toBe(1);
        }
      }, 60_000);
    }

    it('never answers random bytes or random CSV-ish text with a 5xx', async () => {
      const store = await ctx.server.newStore('random');
      await aCustomer(store, { email: 'f1@example.com', balance: 10 });
      const alphabet = fc.constantFrom('f1@example.com', '1', '-5', ',', ';', '\t', '"', '\n', '\r', ' ', 'é', '\u0000', '2024-01-01T00:00:00Z');
      const texts = fc.array(alphabet, { maxLength: 80 }).map((cs) => `email,points,createdAt,reference\n${cs.join('')}`);
      const bytes = fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b));
      await fc.assert(
        fc.asyncProperty(fc.oneof(texts, bytes), fc.constantFrom(...TYPES), fc.boolean(), async (body, type, dryRun) => {
          await tryFile(store, type, body, dryRun);
        }),
        { numRuns: 60 },
      );
      await expect.poll(() => leftovers(store.id), { timeout: 30_000 }).toBe(0);
    }, 120_000);
  });
}
