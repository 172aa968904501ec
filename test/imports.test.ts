import { parse } from 'csv-parse/sync';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Committer, createCommitter } from '../src/db/committer.js';
import { JobRunner } from '../src/jobs/runner.js';
import { DIALECTS } from './support/databases.js';
import { aCustomer, assertLedgerInvariants } from './support/fixtures.js';
import { startServer, type TestServer, type TestStore, waitForJob } from './support/server.js';

for (const dialect of DIALECTS) {
  describe(`${dialect}: CSV imports`, () => {
    let server: TestServer;
    beforeAll(async () => {
      // Small chunks, so that every import below spans several chunk transactions.
      server = await startServer(dialect, { workers: { chunkSize: 2, idleMs: 20 }, importMaxBytes: 64 * 1024 });
    });
    afterAll(async () => {
      await assertLedgerInvariants(server.database);
      await server.close();
    });

    const csv = (lines: string[]) => `${lines.join('\n')}\n`;
    async function upload(as: TestStore, query: string, body: string, headers: Record<string, string> = {}) {
      return as.api('POST', `/v1/imports?${query}`, body, { 'content-type': 'text/csv', ...headers });
    }
    async function imported(as: TestStore, query: string, body: string, headers: Record<string, string> = {}) {
      const res = await upload(as, query, body, headers);
      expect(res.status, res.text).toBe(202);
      return waitForJob(as, res.body.job.id);
    }
    async function errorsOf(as: TestStore, jobId: number) {
      const res = await as.api('GET', `/v1/jobs/${jobId}/errors.csv`);
      expect(res.status).toBe(200);
      expect(res.text.split(/\r?\n/)[0]).toBe('line,column,code,message,customerId');
      return (parse(res.text, { columns: true }) as Record<string, string>[]).map((r) => [Number(r.line), r.column, r.code]);
    }
    const balance = async (as: TestStore, id: number) => (await as.api('GET', `/v1/customers/${id}`)).body.balance as number;
    async function countRows() {
      const r = await sql<{ n: number }>`SELECT count(*) AS n FROM transactions`.execute(server.database.db);
      return Number(r.rows[0].n);
    }

    it('adds points to existing members by id, external id or e-mail, reporting each bad row with its line', async () => {
      const s = await server.newStore('add');
      const a = await aCustomer(s, { balance: 10, email: 'a@example.com' });
      const b = await aCustomer(s, { balance: 5, externalId: 'shop-b' });
      const c = await aCustomer(s, { balance: 0 });
      const d = await aCustomer(s, { balance: 5 });
      const job = await imported(
        s,
        'type=add&reason=Spring%20migration',
        csv([
          'Customer ID,External ID,E-mail,Points,Reason,Reference',
          `${c.id},,,7,"a note, with ""quotes""\nand a second line",ref-1`,
          ',,a@example.com,15,,',
          ',shop-b,,-3,,ref-2',
          ',nobody,,4,,',
          ',,,4,,',
          ',,a@example.com,1,,',
          ',shop-b,,x,,',
          `${c.id + 1000},,,4,,`,
          `${d.id},,,-100,,ref-3`,
        ]),
      );
      expect(job).toMatchObject({ kind: 'import', status: 'completed', total: 9, processed: 9, succeeded: 3, failed: 6, totalPoints: 19 });
      expect(await balance(s, a.id)).toBe(25);
      expect(await balance(s, b.id)).toBe(2);
      expect(await balance(s, c.id)).toBe(7);
      const errors = await errorsOf(s, job.id);
      expect(errors.sort((x, y) => (x[0] as number) - (y[0] as number))).toEqual([
        [5, 'External ID', 'customer_not_found'],
        [6, '', 'missing_identifier'],
        [7, 'E-mail', 'duplicate_row'],
        [8, 'Points', 'invalid_points'],
        [9, 'Customer ID', 'customer_not_found'],
        [10, 'Points', 'insufficient_points'],
      ]);
      const rows = await server.database.db.selectFrom('transactions').selectAll().where('job_id', '=', job.id).orderBy('job_line').execute();
      expect(rows.map((r) => [r.job_line, r.type, r.points, r.reference])).toEqual([
        [2, 'import', 7, 'ref-1'],
        [3, 'import', 15, null],
        [4, 'import', -3, 'ref-2'],
      ]);
      expect(rows[0].reason).toBe('a note, with "quotes"\nand a second line');
      expect(rows[1].reason).toBe('Spring migration');
    });

    it('never applies a reference twice, across files and within one', async () => {
      const s = await server.newStore('references');
      const a = await aCustomer(s, { email: 'r1@example.com' });
      const b = await aCustomer(s, { email: 'r2@example.com' });
      const first = await imported(s, 'type=add', csv(['email,points,reference', 'r1@example.com,10,order-1']));
      expect(first).toMatchObject({ succeeded: 1, failed: 0 });
      const second = await imported(s, 'type=add', csv(['email,points,reference', 'r1@example.com,10,order-1', 'r2@example.com,5,order-2', 'r2@example.com,5,order-2']));
      expect(second).toMatchObject({ succeeded: 1, failed: 2 });
      expect((await errorsOf(s, second.id)).map((e) => [e[0], e[2]]).sort()).toEqual([
        [2, 'duplicate_reference'],
        [4, 'duplicate_row'],
      ]);
      expect(await balance(s, a.id)).toBe(10);
      expect(await balance(s, b.id)).toBe(5);
    });

    it('sets balances with one transaction each, creating missing members with their names', async () => {
      const s = await server.newStore('set');
      const a = await aCustomer(s, { balance: 40, externalId: 'm-1' });
      const b = await aCustomer(s, { balance: 25, email: 'same@example.com' });
      const job = await imported(
        s,
        'type=set',
        csv(['externalId,email,First Name,Last Name,Points Balance', 'm-1,,,,100', ',same@example.com,,,25', 'm-new,new@example.com,Ada,Lovelace,70', ',fresh@example.com,Bo,,0', 'm-1,,,,3']),
      );
      expect(job).toMatchObject({ status: 'completed', total: 5, succeeded: 4, failed: 1, totalPoints: 130 });
      expect(await balance(s, a.id)).toBe(100);
      expect(await balance(s, b.id)).toBe(25);
      const made = (await s.api('GET', '/v1/customers?externalId=m-new')).body.data[0];
      expect(made).toMatchObject({ email: 'new@example.com', firstName: 'Ada', lastName: 'Lovelace', balance: 70, lifetimePoints: 70 });
      const fresh = (await s.api('GET', '/v1/customers?email=fresh@example.com')).body.data[0];
      expect(fresh).toMatchObject({ firstName: 'Bo', balance: 0 });
      const rows = await server.database.db.selectFrom('transactions').select(['customer_id', 'points']).where('job_id', '=', job.id).execute();
      expect(rows).toHaveLength(2);
      expect(await errorsOf(s, job.id)).toEqual([[6, 'externalId', 'duplicate_row']]);
    });

    it('brings a history over in time order with its original dates, refusing a customer who has one', async () => {
      const s = await server.newStore('history');
      const old = await aCustomer(s, { balance: 5, externalId: 'has-history' });
      const job = await imported(
        s,
        'type=history',
        csv([
          'externalId,email,points_amount,type,internal_note,external_note,applied_at',
          'h-1,h1@example.com,-30,redemption,Spent,Thanks!,2024-03-01T10:00:00Z',
          'h-1,,100,,Opening,,2024-01-01T10:00:00Z',
          'h-2,,-5,,Too much,,2024-01-01T10:00:00Z',
          'h-2,,20,,Later,,2024-02-01T10:00:00Z',
          'has-history,,10,,,,2024-01-01T10:00:00Z',
          'h-3,,10,,,,2024-01-01T10:00:00',
        ]),
      );
      expect(job).toMatchObject({ status: 'completed', total: 6, succeeded: 3, failed: 3 });
      expect((await errorsOf(s, job.id)).map((e) => [e[0], e[2]]).sort()).toEqual([
        [4, 'insufficient_points'],
        [6, 'customer_has_history'],
        [7, 'invalid_date'],
      ]);
      const h1 = (await s.api('GET', '/v1/customers?externalId=h-1')).body.data[0];
      expect(h1).toMatchObject({ email: 'h1@example.com', balance: 70, lifetimePoints: 70, lastActivityAt: '2024-03-01T10:00:00.000Z' });
      const history = (await s.api('GET', `/v1/customers/${h1.id}/transactions`)).body.data;
      expect(history.map((t: any) => [t.type, t.points, t.balanceAfter, t.createdAt, t.reason, t.customerMessage])).toEqual([
        ['redemption', -30, 70, '2024-03-01T10:00:00.000Z', 'Spent', 'Thanks!'],
        ['import', 100, 100, '2024-01-01T10:00:00.000Z', 'Opening', null],
      ]);
      const asOf = (await s.api('GET', `/v1/customers/${h1.id}/balance?at=2024-02-01T00:00:00Z`)).body;
      expect(asOf).toMatchObject({ balance: 100 });
      expect(await balance(s, old.id)).toBe(5);
    });

    it('applies nothing in atomic mode when a row fails, and the good rows in partial mode', async () => {
      const s = await server.newStore('atomic');
      const a = await aCustomer(s, { email: 'at@example.com' });
      const file = csv(['email,points', 'at@example.com,10', 'ghost@example.com,10']);
      const before = await countRows();
      const atomic = await imported(s, 'type=add&mode=atomic', file);
      expect(atomic).toMatchObject({ status: 'completed', processed: 2, succeeded: 0, skipped: 1, failed: 1 });
      expect(await countRows()).toBe(before);
      expect(await errorsOf(s, atomic.id)).toEqual([[3, 'email', 'customer_not_found']]);
      const partial = await imported(s, 'type=add&mode=partial', file);
      expect(partial).toMatchObject({ succeeded: 1, failed: 1 });
      expect(await balance(s, a.id)).toBe(10);
    });

    it('previews an import without writing anything', async () => {
      const s = await server.newStore('preview');
      await server.database.db.insertInto('tiers').values({ store_id: s.id, name: 'Gold', threshold: 100, entry_reward_points: null, created_at: Date.now() }).execute();
      const a = await aCustomer(s, { balance: 90, email: 'p1@example.com' });
      await aCustomer(s, { balance: 50, email: 'p2@example.com' });
      const before = await countRows();
      const res = await upload(s, 'type=add&dryRun=true', csv(['email,points', 'p1@example.com,20', 'p2@example.com,-10', 'p3@example.com,5', 'p2@example.com,1']));
      expect(res.status, res.text).toBe(200);
      expect(res.body.preview).toEqual({
        rows: 4,
        valid: 2,
        invalid: 2,
        totalPoints: 10,
        pendingPoints: 0,
        tierUps: 1,
        tierDowns: 0,
        errors: [
          { line: 4, column: 'email', code: 'customer_not_found', message: expect.stringContaining('p3@example.com') },
          { line: 5, column: 'email', code: 'duplicate_row', message: expect.stringContaining('line 3') },
        ],
      });
      expect(await countRows()).toBe(before);
      expect(await balance(s, a.id)).toBe(90);
      expect((await s.api('GET', '/v1/jobs')).body.data).toEqual([]);
      const staged = await sql<{ n: number }>`SELECT count(*) AS n FROM import_rows`.execute(server.database.db);
      expect(Number(staged.rows[0].n)).toBe(0);
    });

    it('answers the first job for the same upload with the same Idempotency-Key, and 409 for another upload', async () => {
      const s = await server.newStore('idempotent');
      const a = await aCustomer(s, { email: 'i@example.com' });
      const file = csv(['email,points', 'i@example.com,10']);
      const first = await upload(s, 'type=add', file, { 'idempotency-key': 'upload-1' });
      expect(first.status).toBe(202);
      await waitForJob(s, first.body.job.id);
      const again = await upload(s, 'type=add', file, { 'idempotency-key': 'upload-1' });
      expect(again.status).toBe(202);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(again.body.job.id).toBe(first.body.job.id);
      const other = await upload(s, 'type=add', csv(['email,points', 'i@example.com,11']), { 'idempotency-key': 'upload-1' });
      expect(other.status).toBe(409);
      expect(other.body.error.code).toBe('idempotency_key_reused');
      const dry = await upload(s, 'type=add&dryRun=true', file, { 'idempotency-key': 'upload-1' });
      expect(dry.status).toBe(409);
      expect(await balance(s, a.id)).toBe(10);
      expect((await s.api('GET', '/v1/jobs')).body.data).toHaveLength(1);
    });

    it('refuses an upload over the size cap with 413 before anything is written', async () => {
      const s = await server.newStore('too large');
      await aCustomer(s, { email: 'big@example.com' });
      const big = csv(['email,points', ...Array.from({ length: 5000 }, () => 'big@example.com,1')]);
      const res = await upload(s, 'type=add', big);
      expect(res.status).toBe(413);
      expect(res.body.error.code).toBe('payload_too_large');
      expect((await s.api('GET', '/v1/jobs')).body.data).toEqual([]);
      const chunked = await fetch(`${server.url}/v1/imports?type=add`, {
        method: 'POST',
        headers: { authorization: `Bearer ${s.apiKey}`, 'content-type': 'text/csv' },
        body: new Blob([big]).stream(),
        duplex: 'half',
      } as RequestInit);
      expect(chunked.status).toBe(413);
      const staged = await sql<{ n: number }>`SELECT count(*) AS n FROM import_rows`.execute(server.database.db);
      expect(Number(staged.rows[0].n)).toBe(0);
      expect((await s.api('GET', '/v1/jobs')).body.data).toEqual([]);
    });

    it('takes a browser form upload (multipart/form-data with one file field)', async () => {
      const s = await server.newStore('multipart');
      const a = await aCustomer(s, { email: 'form@example.com' });
      const form = new FormData();
      form.append('note', 'ignored');
      form.append('file', new Blob([csv(['email,points', 'form@example.com,12'])], { type: 'text/csv' }), 'points.csv');
      const res = await fetch(`${server.url}/v1/imports?type=add`, { method: 'POST', headers: { authorization: `Bearer ${s.apiKey}` }, body: form });
      expect(res.status).toBe(202);
      const { job } = (await res.json()) as { job: { id: number } };
      expect(await waitForJob(s, job.id)).toMatchObject({ status: 'completed', succeeded: 1 });
      expect(await balance(s, a.id)).toBe(12);
      const empty = new FormData();
      empty.append('note', 'no file');
      const none = await fetch(`${server.url}/v1/imports?type=add`, { method: 'POST', headers: { authorization: `Bearer ${s.apiKey}` }, body: empty });
      expect(none.status).toBe(422);
      const big = new FormData();
      big.append('file', new Blob([csv(['email,points', ...Array.from({ length: 5000 }, () => 'form@example.com,1')])], { type: 'text/csv' }), 'big.csv');
      const tooLarge = await fetch(`${server.url}/v1/imports?type=add`, { method: 'POST', headers: { authorization: `Bearer ${s.apiKey}` }, body: big });
      expect(tooLarge.status).toBe(413);
      expect(((await tooLarge.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');
      expect(await balance(s, a.id)).toBe(12);
      const text = await s.api('POST', '/v1/imports?type=add', { file: 'x' });
      expect(text.status).toBe(415);
    });

    it('reverts an import with one reversal per imported row, skipping points spent since', async () => {
      const s = await server.newStore('revert');
      const job = await imported(
        s,
        'type=history',
        csv(['externalId,points,createdAt', 'rv-1,100,2024-01-01T00:00:00Z', 'rv-1,-40,2024-01-02T00:00:00Z', 'rv-1,25,2024-01-03T00:00:00Z', 'rv-2,50,2024-01-01T00:00:00Z']),
      );
      expect(job).toMatchObject({ succeeded: 4 });
      const rv2 = (await s.api('GET', '/v1/customers?externalId=rv-2')).body.data[0];
      const spend = await s.api('POST', `/v1/customers/${rv2.id}/adjustments`, { points: -30, reason: 'Spent meanwhile' });
      expect(spend.status).toBe(201);
      const revert = await s.api('POST', `/v1/jobs/${job.id}/revert`, { reason: 'Wrong file' });
      expect(revert.status, revert.text).toBe(202);
      const done = await waitForJob(s, revert.body.job.id);
      expect(done).toMatchObject({ status: 'completed', processed: 4, succeeded: 3, skipped: 1 });
      const rv1 = (await s.api('GET', '/v1/customers?externalId=rv-1')).body.data[0];
      expect(rv1).toMatchObject({ balance: 0, lifetimePoints: 0 });
      expect(await balance(s, rv2.id)).toBe(20);
    });

    it('sweeps the staged rows of a finished import, completed or cancelled, once the job shows it', async () => {
      const s = await server.newStore('sweep');
      const members = await Promise.all(Array.from({ length: 30 }, () => aCustomer(s)));
      const stagedOf = async (jobId: number) =>
        Number((await sql<{ n: number }>`SELECT count(*) AS n FROM import_rows WHERE job_id = ${jobId}`.execute(server.database.db)).rows[0].n);
      const swept = async (jobId: number) => {
        // Up to 30 s: the sweep runs after the job, between other stores' chunks (a full suite, two files at once).
        for (const end = Date.now() + 30_000; Date.now() < end && (await stagedOf(jobId)) > 0; ) await new Promise((r) => setTimeout(r, 25));
        return stagedOf(jobId);
      };
      const done = await imported(s, 'type=add', csv(['customerId,points', ...members.map((c) => `${c.id},1`)]));
      expect(done).toMatchObject({ status: 'completed', succeeded: 30 });
      expect(await swept(done.id)).toBe(0);
      // Cancelled as soon as it is queued (the worker runs two rows a chunk): what it staged goes too.
      const res = await upload(s, 'type=add', csv(['customerId,points', ...members.map((c) => `${c.id},1`)]));
      expect(res.status, res.text).toBe(202);
      await s.api('POST', `/v1/jobs/${res.body.job.id}/cancel`);
      const cancelled = await waitForJob(s, res.body.job.id);
      expect(cancelled.status).toBe('cancelled');
      expect(await swept(cancelled.id)).toBe(0);
    });

    it('sweeps an import that ends while a sweep step runs: the wake that step missed is kept', async () => {
      // A server without a worker of its own; this runner sleeps a minute when idle, unless woken.
      const bare = await startServer(dialect);
      try {
        const s = await bare.newStore('sweep race');
        const members = await Promise.all(Array.from({ length: 3 }, () => aCustomer(s)));
        const res = await upload(s, 'type=add', csv(['customerId,points', ...members.map((c) => `${c.id},1`)]));
        expect(res.status, res.text).toBe(202);
        const id = res.body.job.id as number;
        const stagedOf = async () =>
          Number((await sql<{ n: number }>`SELECT count(*) AS n FROM import_rows WHERE job_id = ${id}`.execute(bare.database.db)).rows[0].n);
        expect(await stagedOf()).toBe(3);
        // Not runnable yet, so the runner's first round is a sweep step alone, which finds nothing;
        // the job ends (cancelled, the runner woken) after that step read, before it returns.
        await bare.database.db.updateTable('jobs').set({ status: 'uploading' }).where('id', '=', id).execute();
        const committer = createCommitter(bare.database);
        let runner: JobRunner | undefined;
        let endJob = true;
        const racing: Committer = {
          dialect: committer.dialect,
          run: async (work, opts) => {
            const out = await committer.run(work, opts);
            if (endJob) {
              endJob = false;
              await bare.database.db.updateTable('jobs').set({ status: 'cancelled' }).where('id', '=', id).execute();
              runner?.wake();
            }
            return out;
          },
        };
        runner = new JobRunner(bare.database.db, racing, { idleMs: 60_000, scheduleMs: 0 });
        runner.start();
        await expect.poll(stagedOf, { timeout: 10_000 }).toBe(0);
        expect(endJob).toBe(false);
        await runner.stop();
      } finally {
        await bare.close();
      }
    });

    it('stages a file of many batches and writes (12,000 rows) with every good row once and every bad one at its line', async () => {
      const big = await startServer(dialect, { workers: { idleMs: 20 } });
      try {
        const s = await big.newStore('many batches');
        // Bad rows on both sides of the parser's batches (1,000 rows) and of PostgreSQL's writes (5,000);
        // a NUL past the first 64 KB (there, the file is refused as binary).
        const bad = new Map([[1001, 'x'], [1002, '-1'], [5001, '1.5'], [5002, 'x'], [10_001, 'x'], [10_002, '\u0000'], [12_001, 'x']]);
        const lines = ['externalId,balance'];
        for (let line = 2; line <= 12_001; line++) lines.push(`m-${line},${bad.get(line) ?? line % 97}`);
        const res = await upload(s, 'type=set&reason=Many', csv(lines));
        expect(res.status, res.text).toBe(202);
        const job = await waitForJob(s, res.body.job.id);
        expect(job).toMatchObject({ status: 'completed', total: 12_000, succeeded: 12_000 - bad.size, failed: bad.size });
        expect((await errorsOf(s, job.id)).map((e) => e[0]).sort((a, b) => (a as number) - (b as number))).toEqual([...bad.keys()]);
        const written = await big.database.db.selectFrom('transactions').select(['job_line', 'points']).where('job_id', '=', job.id).orderBy('job_line').execute();
        const good = [...Array(12_000).keys()].map((i) => i + 2).filter((line) => !bad.has(line) && line % 97 !== 0);
        expect(written.map((r) => [Number(r.job_line), Number(r.points)])).toEqual(good.map((line) => [line, line % 97]));
        // Rows of long texts: on PostgreSQL a write ends at 2 MB of the file, before its 5,000 rows.
        const reason = (line: number) => `${line} ${'é'.repeat(490)}`;
        const adds = ['externalId,points,reason', ...good.slice(0, 6000).map((line) => `m-${line},1,${reason(line)}`)];
        const added = await imported(s, 'type=add&reason=Long', csv(adds));
        expect(added).toMatchObject({ status: 'completed', succeeded: 6000, failed: 0 });
        const long = await big.database.db.selectFrom('transactions').select(['job_line', 'reason']).where('job_id', '=', added.id).orderBy('job_line').execute();
        expect(long.map((r) => r.reason)).toEqual(good.slice(0, 6000).map(reason));
        await assertLedgerInvariants(big.database);
      } finally {
        await big.close();
      }
    });

    it('finishes an add or set job an earlier release left before its ordering pass by apply position, each row once', async () => {
      // A server without a worker of its own: the chunks run here, one at a time.
      const bare = await startServer(dialect);
      try {
        const s = await bare.newStore('earlier release');
        // Customer ids unlike apply positions (1…7): a position read as a customer id would show.
        await Promise.all(Array.from({ length: 9 }, () => aCustomer(s)));
        const members = await Promise.all(Array.from({ length: 7 }, () => aCustomer(s, { balance: 1 })));
        const runner = new JobRunner(bare.database.db, createCommitter(bare.database), { chunkSize: 2 });
        const stateOf = async (id: number) => {
          const job = await bare.database.db.selectFrom('jobs').select('state').where('id', '=', id).executeTakeFirstOrThrow();
          return JSON.parse(job.state ?? '{}') as { phase?: string };
        };
        for (const [type, rows] of [
          ['add', members.map((c, i) => `${c.id},${i + 1}`)],
          ['set', [...members.map((c, i) => `${c.id},${10 * (i + 1)}`), `${members[0].id},99`]],
        ] as const) {
          const res = await upload(s, `type=${type}&reason=Earlier`, csv(['customerId,points', ...rows]));
          expect(res.status, res.text).toBe(202);
          const id = res.body.job.id as number;
          // Validated as every release validates; then put back where an earlier release kept it.
          while ((await stateOf(id)).phase !== 'apply') await runner.runChunk(id, s.id);
          await bare.database.db.updateTable('jobs').set({ state: JSON.stringify({ phase: 'order' }), cursor: 0 }).where('id', '=', id).execute();
          // The ordering pass and a first apply chunk: the cursor is now an apply position, no customer id.
          await runner.runChunk(id, s.id);
          await runner.runChunk(id, s.id);
          expect(await stateOf(id)).toEqual({ phase: 'apply', last: 7 });
          await runner.runJob(id);
          const job = (await s.api('GET', `/v1/jobs/${id}`)).body;
          expect(job).toMatchObject({ status: 'completed', succeeded: 7, failed: type === 'set' ? 1 : 0 });
          const written = await bare.database.db.selectFrom('transactions').select('customer_id').where('job_id', '=', id).execute();
          expect(new Set(written.map((r) => r.customer_id)).size).toBe(written.length);
        }
        for (const [i, c] of members.entries()) expect(await balance(s, c.id)).toBe(10 * (i + 1));
        await assertLedgerInvariants(bare.database);
      } finally {
        await bare.close();
      }
    });
  });
}
