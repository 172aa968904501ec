import { type RawBuilder, sql } from 'kysely';
import type { Trx } from '../db/committer.js';
import { dialectOf } from '../db/dialect-of.js';
import type { ImportField } from '../domain/import/headers.js';
import type { ImportPlan } from '../domain/import/request.js';
import type { RowErrorCode } from '../domain/import/rows.js';

/**
 * The database's row rules of an import, set-based over the staged rows (import_rows) of one job:
 * never a statement per row. Each step is one or a few statements over the whole upload; a row
 * keeps the first error found (the order of VALIDATION_STEPS), reported in job_errors with its
 * line, column, code and message. The job runs one step per chunk; a dry run runs them all.
 */
export interface StagedJob {
  jobId: number;
  storeId: number;
  plan: ImportPlan;
}

export type Step = (trx: Trx, job: StagedJob) => Promise<void>;

/** The customer a row names, before members are created: who it is, or how the file names them. */
const KEY = sql`coalesce(CAST(r.customer_id AS text), 'x:' || r.external_id, 'e:' || r.email)`;

const column = (job: StagedJob, field: ImportField) => job.plan.columns[field] ?? field;

/**
 * Whether staged row `r` is a pending credit: its availableAt was in the future at upload (the
 * parser keeps it only then). Such a row moves no balance and no lifetime points until it matures.
 */
export const PENDING_ROW = sql<boolean>`r.available_at IS NOT NULL`;
/** The points staged row `r` moves now: none while pending. */
const NOW_POINTS = sql`CASE WHEN ${PENDING_ROW} THEN 0 ELSE r.points END`;

/** Reports the still-valid rows that match `where` with `code`, and marks them invalid. */
async function flag(trx: Trx, job: StagedJob, code: RowErrorCode, col: RawBuilder<string | null>, where: RawBuilder<boolean>, message: RawBuilder<string>): Promise<void> {
  const mine = sql`r.job_id = ${job.jobId} AND r.error IS NULL AND (${where})`;
  await sql`
    INSERT INTO job_errors (job_id, store_id, customer_id, line, column_name, code, message, created_at)
    SELECT ${job.jobId}, ${job.storeId}, r.customer_id, r.line, ${col}, ${code}, ${message}, ${Date.now()}
    FROM import_rows r WHERE ${mine}`.execute(trx);
  await sql`UPDATE import_rows AS r SET error = ${code} WHERE ${mine}`.execute(trx);
}

/**
 * Like flag, for rules about several rows: `hits` selects the offending rows' `id` with a
 * `first` line they repeat (from window functions over the job's valid rows, never a
 * per-row scan), and `message` may read it as `d.first`.
 */
async function flagHits(trx: Trx, job: StagedJob, code: RowErrorCode, col: RawBuilder<string | null>, hits: RawBuilder<unknown>, message: RawBuilder<string>): Promise<void> {
  await sql`
    INSERT INTO job_errors (job_id, store_id, customer_id, line, column_name, code, message, created_at)
    SELECT ${job.jobId}, ${job.storeId}, r.customer_id, r.line, ${col}, ${code}, ${message}, ${Date.now()}
    FROM import_rows r JOIN (${hits}) d ON d.id = r.id WHERE r.job_id = ${job.jobId}`.execute(trx);
  await sql`UPDATE import_rows SET error = ${code} WHERE job_id = ${job.jobId} AND id IN (SELECT h.id FROM (${hits}) h)`.execute(trx);
}

/** Valid rows that repeat an earlier row's `partition`, with that earlier (first) line. */
function repeats(job: StagedJob, partition: RawBuilder<unknown>, also: RawBuilder<boolean> = sql<boolean>`1 = 1`): RawBuilder<unknown> {
  return sql`SELECT x.id, x.first FROM (
      SELECT r.id, r.line, min(r.line) OVER (PARTITION BY ${partition}) AS first
      FROM import_rows r WHERE r.job_id = ${job.jobId} AND r.error IS NULL AND ${also}) x
    WHERE x.line > x.first`;
}

/** The header of the identifier a row names its customer by. */
function identifierColumn(job: StagedJob): RawBuilder<string> {
  return sql`CASE WHEN r.ref_id IS NOT NULL THEN ${column(job, 'customerId')} WHEN r.external_id IS NOT NULL THEN ${column(job, 'externalId')} ELSE ${column(job, 'email')} END`;
}

/** Finds each row's customer: by id, else by external id, else by e-mail (rows still without one are new or unknown). */
export const resolveCustomers: Step = async (trx, job) => {
  // PostgreSQL plans these from statistics; a freshly staged upload has none yet.
  if (dialectOf(trx) === 'postgres') await sql`ANALYZE import_rows`.execute(trx);
  await resolve(trx, job);
};

/** Gives the rows still without a customer the one they name; answers how many it found. */
async function resolve(trx: Trx, job: StagedJob): Promise<number> {
  let found = 0;
  // Joins (UPDATE … FROM), not a subquery per row: the planner may hash them whatever its statistics.
  const by = async (condition: RawBuilder<boolean>, given: RawBuilder<boolean>) => {
    const r = await sql`
      UPDATE import_rows AS r SET customer_id = c.id FROM customers c
      WHERE r.job_id = ${job.jobId} AND r.error IS NULL AND r.customer_id IS NULL AND ${given}
        AND c.store_id = ${job.storeId} AND ${condition}`.execute(trx);
    found += Number(r.numAffectedRows ?? 0);
  };
  // Only by the identifiers the file has a column for: PostgreSQL planned the join by a column no
  // row held from statistics the previous upload's rows still shaped (a merge join over every
  // customer of the database, 10 s of a 1,000,000-row `set`, issue 13). A job queued by an earlier
  // release may not know its columns: it tries all three.
  const known = Object.keys(job.plan.columns).length > 0;
  const has = (field: ImportField) => !known || job.plan.columns[field] !== undefined;
  if (has('customerId')) await by(sql<boolean>`c.id = r.ref_id`, sql<boolean>`r.ref_id IS NOT NULL`);
  if (has('externalId')) await by(sql<boolean>`c.external_id = r.external_id`, sql<boolean>`r.external_id IS NOT NULL`);
  if (has('email')) await by(sql<boolean>`c.email = r.email`, sql<boolean>`r.email IS NOT NULL`);
  return found;
}

/** add: every row's customer must exist; set/history create missing members, but cannot create one by id alone. */
const unknownCustomers: Step = (trx, job) => {
  const where = job.plan.type === 'add' ? sql<boolean>`r.customer_id IS NULL` : sql<boolean>`r.customer_id IS NULL AND r.external_id IS NULL AND r.email IS NULL`;
  const message = sql<string>`'No customer with ' || CASE WHEN r.ref_id IS NOT NULL THEN 'id ' || r.ref_id
    WHEN r.external_id IS NOT NULL THEN 'external id "' || r.external_id || '"' ELSE 'e-mail ' || r.email END || ' in this store'`;
  return flag(trx, job, 'customer_not_found', identifierColumn(job), where, message);
};

/**
 * add/set: a customer named twice; the first line is kept, later ones are reported. The window
 * runs only over the rows of customers named more than once: of existing customers, the ids the
 * staged rows' customer index shows twice (read off the index alone); of members still to
 * create, the names (external id, else e-mail) a GROUP BY finds twice. A clean file has none:
 * a sort of the names, not a window and its partitions over the whole upload (at 1,000,000 new
 * members on SQLite: 1.7 s instead of 4.4, and a fifth of the memory).
 */
const duplicateRows: Step = async (trx, job) => {
  const message = sql<string>`'The same customer is already on line ' || d.first`;
  const twice = sql`SELECT customer_id FROM import_rows WHERE job_id = ${job.jobId} AND customer_id IS NOT NULL GROUP BY customer_id HAVING count(*) > 1`;
  await flagHits(trx, job, 'duplicate_row', identifierColumn(job), repeats(job, sql`r.customer_id`, sql<boolean>`r.customer_id IN (${twice})`), message);
  if (job.plan.type !== 'set') return;
  const unknown = sql`r.job_id = ${job.jobId} AND r.error IS NULL AND r.customer_id IS NULL`;
  const named = sql`SELECT ${KEY} FROM import_rows r WHERE ${unknown} GROUP BY ${KEY} HAVING count(*) > 1`;
  await flagHits(trx, job, 'duplicate_row', identifierColumn(job), repeats(job, KEY, sql<boolean>`r.customer_id IS NULL AND ${KEY} IN (${named})`), message);
};

/** A reference the store already applied, or one an earlier line of the file holds. */
const duplicateReferences: Step = async (trx, job) => {
  // A file without a reference column has none to check (the step stays, a no-op: the steps'
  // numbering is what a half-validated job's state counts by). The columns are the file's own
  // (never empty: a file has at least an identifier and points), so an unknown map checks all.
  const { columns } = job.plan;
  if (Object.keys(columns).length > 0 && columns.reference === undefined) return;
  const col = sql<string>`${column(job, 'reference')}`;
  await flag(
    trx,
    job,
    'duplicate_reference',
    col,
    sql<boolean>`r.reference IS NOT NULL AND EXISTS (SELECT 1 FROM transactions t WHERE t.store_id = ${job.storeId} AND t.reference = r.reference)`,
    sql<string>`'Reference "' || r.reference || '" was already applied in this store'`,
  );
  await flagHits(
    trx,
    job,
    'duplicate_reference',
    col,
    repeats(job, sql`r.reference`, sql<boolean>`r.reference IS NOT NULL`),
    sql<string>`'Reference "' || r.reference || '" is already on line ' || d.first`,
  );
};

/** history: a customer who already has ledger rows keeps their own history (never a mixed one). */
const existingHistory: Step = (trx, job) =>
  flag(
    trx,
    job,
    'customer_has_history',
    identifierColumn(job),
    sql<boolean>`r.customer_id IS NOT NULL AND EXISTS (SELECT 1 FROM transactions t WHERE t.store_id = ${job.storeId} AND t.customer_id = r.customer_id)`,
    sql<string>`'Customer ' || r.customer_id || ' already has a points history in this store'`,
  );

/**
 * add: a deduction larger than the balance. history: a deduction at which the customer's running
 * balance (over their valid rows, in time order) goes below zero. Reporting just those rows is
 * enough: taking a deduction out only raises the running balance after it.
 */
const insufficientPoints: Step = async (trx, job) => {
  const points = sql.ref('r.points');
  if (job.plan.type === 'add') {
    return flag(
      trx,
      job,
      'insufficient_points',
      sql`${column(job, 'points')}`,
      sql<boolean>`r.points < 0 AND (SELECT c.balance FROM customers c WHERE c.id = r.customer_id) + r.points < 0`,
      sql<string>`'The balance ' || (SELECT c.balance FROM customers c WHERE c.id = r.customer_id) || ' is less than the ' || (-${points}) || ' points to deduct'`,
    );
  }
  const tie = await tieOrder(trx, job);
  const negative = sql`SELECT x.id FROM (
      SELECT r.id, r.points, sum(${NOW_POINTS}) OVER (PARTITION BY ${KEY} ORDER BY r.at, ${tie} ROWS UNBOUNDED PRECEDING) AS run
      FROM import_rows r WHERE r.job_id = ${job.jobId} AND r.error IS NULL) x
    WHERE x.points < 0 AND x.run < 0`;
  return flag(
    trx,
    job,
    'insufficient_points',
    sql`${column(job, 'points')}`,
    sql<boolean>`r.id IN (${negative})`,
    sql<string>`'The running balance would go below zero at this row (' || r.points || ' points)'`,
  );
};

/**
 * The order of a history's rows with the same time: file order, or the reverse for a file
 * written newest first (as Tally's own transactions export is), so that rows of one moment are
 * replayed in the order they happened.
 */
async function tieOrder(trx: Trx, job: StagedJob): Promise<RawBuilder<number>> {
  const ends = await sql<{ first: number | null; last: number | null }>`
    SELECT (SELECT at FROM import_rows WHERE job_id = ${job.jobId} AND at IS NOT NULL ORDER BY line LIMIT 1) AS first,
           (SELECT at FROM import_rows WHERE job_id = ${job.jobId} AND at IS NOT NULL ORDER BY line DESC LIMIT 1) AS last`.execute(trx);
  const { first, last } = ends.rows[0];
  return first !== null && last !== null && Number(first) > Number(last) ? sql<number>`(-r.line)` : sql<number>`r.line`;
}

/** The checks of an import type, in the order a row's first error is found. */
export function validationSteps(plan: Pick<ImportPlan, 'type'>): Step[] {
  const steps: Step[] = [resolveCustomers, unknownCustomers];
  if (plan.type !== 'history') steps.push(duplicateRows);
  steps.push(duplicateReferences);
  if (plan.type === 'history') steps.push(existingHistory);
  if (plan.type !== 'set') steps.push(insufficientPoints);
  return steps;
}

/** Fixes the apply order (and, for history, each row's effect on lifetime points, floored at zero). */
export const orderRows: Step = async (trx, job) => {
  const pg = dialectOf(trx) === 'postgres';
  await order(trx, job, pg);
  // The apply chunks are planned from these rows' statistics: fresh ones, with customers and order.
  if (pg) await sql`ANALYZE import_rows`.execute(trx);
};

async function order(trx: Trx, job: StagedJob, pg: boolean): Promise<void> {
  const least = sql.raw(pg ? 'least' : 'min');
  const mine = sql`r.job_id = ${job.jobId} AND r.error IS NULL`;
  if (job.plan.type !== 'history') {
    await sql`UPDATE import_rows AS u SET seq = x.n
      FROM (SELECT r.id, row_number() OVER (ORDER BY r.customer_id, r.line) AS n FROM import_rows r WHERE ${mine}) x
      WHERE u.id = x.id`.execute(trx);
    return;
  }
  // Lifetime points never go below zero: with the prefix sums d of the rows' tier points and
  // m their running minimum, the floored running total is d − min(0, m), and a row's effect is
  // the step of that total (the closed form of "clamp at zero after each row"). A pending row
  // moves none now and keeps the file's tier points (whether it counts for the tier once matured).
  const tie = await tieOrder(trx, job);
  const w = sql`PARTITION BY k ORDER BY at, tie ROWS UNBOUNDED PRECEDING`;
  const t = sql`CASE WHEN ${PENDING_ROW} THEN 0 ELSE coalesce(r.tier_points, r.points) END`;
  await sql`UPDATE import_rows AS u SET seq = x.n, tier_points = CASE WHEN u.available_at IS NULL THEN x.eff ELSE u.tier_points END
    FROM (
      SELECT id, row_number() OVER (ORDER BY k, at, tie) AS n,
             (d - ${least}(0, m)) - (d - t - ${least}(0, coalesce(mp, 0))) AS eff
      FROM (SELECT b.*, lag(m) OVER (PARTITION BY k ORDER BY at, tie) AS mp
            FROM (SELECT a.*, min(d) OVER (${w}) AS m
                  FROM (SELECT r.id, ${KEY} AS k, r.at, ${tie} AS tie, ${t} AS t,
                               sum(${t}) OVER (PARTITION BY ${KEY} ORDER BY r.at, ${tie} ROWS UNBOUNDED PRECEDING) AS d
                        FROM import_rows r WHERE ${mine}) a) b) c) x
    WHERE u.id = x.id`.execute(trx);
}

/**
 * set/history, before members are created: marks the groups of rows that name one member to
 * create (by external id; else by e-mail), with `leader` 0 on every row of a group but its first
 * (1: by external id, 2: by e-mail), the group's earliest time on that first row (`since`: a
 * history member exists as of its first row), and whether the first line naming an e-mail among
 * the external-id groups is this one (`email_ok`: an e-mail goes to one new member). A GROUP BY
 * finds the names and e-mails on several rows (none, in a file of one row per member) and only
 * their rows are written; every other row leads a member of its own unmarked (`leads`), so a clean
 * file's rows are read, never rewritten (on PostgreSQL a rewrite of a million staged rows was 15 s
 * of a `set`). Whether a customer already has a row's e-mail is read here, once, before any member
 * is created (`email_ok` 0): a join per creation chunk would be planned from statistics of a store
 * that had no members yet.
 */
export const markLeaders: Step = (trx, job) => markLeadersBy(trx, job, { windowsOverAll: false });

/**
 * markLeaders, or (`windowsOverAll`) its definition: every pending row of the upload in a group,
 * marked by window functions over all of them, which the groups of several rows must mark alike
 * (test/import-groups.test.ts).
 */
export async function markLeadersBy(trx: Trx, job: StagedJob, opts: { windowsOverAll: boolean }): Promise<void> {
  const pending = sql`r.job_id = ${job.jobId} AND r.error IS NULL AND r.customer_id IS NULL`;
  // `email_ok` 0: a customer has the row's e-mail already (the groups' leaders below read it too).
  await sql`UPDATE import_rows AS r SET email_ok = 0
    WHERE ${pending} AND r.email IS NOT NULL AND EXISTS (SELECT 1 FROM customers c WHERE c.store_id = ${job.storeId} AND c.email = r.email)`.execute(trx);
  const mark = async (leader: 1 | 2, partition: RawBuilder<unknown>, only: RawBuilder<boolean>) => {
    const mine = sql`${pending} AND ${only}`;
    const several = (name: RawBuilder<unknown>) => sql<boolean>`${name} IN (SELECT ${name} FROM import_rows r WHERE ${mine} GROUP BY ${name} HAVING count(*) > 1)`;
    // By external id the e-mail is a group of its own; by e-mail it is the partition.
    const shared = opts.windowsOverAll ? sql<boolean>`1 = 1` : leader === 1 ? sql<boolean>`${several(partition)} OR ${several(sql`r.email`)}` : several(partition);
    await sql`UPDATE import_rows AS r SET leader = 0 WHERE ${mine} AND (${shared})`.execute(trx);
    await sql`
      UPDATE import_rows AS u SET leader = ${leader}, since = x.since,
             email_ok = CASE WHEN x.email_first = u.line AND u.email_ok IS NULL THEN 1 ELSE 0 END
      FROM (SELECT r.id, row_number() OVER (PARTITION BY ${partition} ORDER BY r.line) AS k,
                   min(r.at) OVER (PARTITION BY ${partition}) AS since,
                   min(r.line) OVER (PARTITION BY r.email) AS email_first
            FROM import_rows r WHERE ${mine} AND r.leader = 0) x
      WHERE u.id = x.id AND x.k = 1`.execute(trx);
  };
  await mark(1, sql`r.external_id`, sql<boolean>`r.external_id IS NOT NULL`);
  await mark(2, sql`r.email`, sql<boolean>`r.external_id IS NULL AND r.email IS NOT NULL`);
}

/**
 * Whether staged row `r` leads a member of creation pass `pass` (1: by external id, 2: by
 * e-mail): the first row of its group (markLeaders), or a row of no group, named that pass's way.
 */
export function leads(pass: 1 | 2): RawBuilder<boolean> {
  const named = pass === 1 ? sql`r.external_id IS NOT NULL` : sql`r.external_id IS NULL AND r.email IS NOT NULL`;
  return sql<boolean>`(r.error IS NULL AND r.customer_id IS NULL AND (r.leader = ${pass} OR (r.leader IS NULL AND ${named})))`;
}

/** Whether any staged row of the job leads a member of creation pass `pass`. */
export async function hasLeaders(trx: Trx, job: StagedJob, pass: 1 | 2): Promise<boolean> {
  const found = await sql`SELECT 1 AS x FROM import_rows r WHERE r.job_id = ${job.jobId} AND ${leads(pass)} LIMIT 1`.execute(trx);
  return found.rows.length > 0;
}

/** A leader row's marks: its member's earliest time, and whether the member gets the row's e-mail. */
export const LEADER_SINCE = sql<number | null>`coalesce(r.since, r.at)`;
export const LEADER_EMAIL_OK = sql<boolean>`coalesce(r.email_ok, 1) = 1`;

/**
 * Creates the members whose leader rows (pass 1: by external id; pass 2: by e-mail, once pass 1's
 * members are resolved) sit on lines (from, to], and gives those rows their new customer: a bounded
 * insert and update per chunk. An e-mail a customer already has is never given again.
 */
export async function createMembers(trx: Trx, job: StagedJob, pass: 1 | 2, from: number, to: number): Promise<void> {
  const created = job.plan.type === 'history' ? sql`coalesce(${LEADER_SINCE}, ${Date.now()})` : sql`${Date.now()}`;
  // Pass 2's e-mails are no customer's: rows naming a customer's e-mail were resolved to them.
  const email = pass === 1 ? sql`CASE WHEN ${LEADER_EMAIL_OK} THEN r.email END` : sql`r.email`;
  const chunk = sql`r.job_id = ${job.jobId} AND r.line > ${from} AND r.line <= ${to} AND ${leads(pass)}`;
  const insert = sql`
    INSERT INTO customers (store_id, external_id, email, first_name, last_name, name_norm, last_name_norm, created_at)
    SELECT ${job.storeId}, ${pass === 1 ? sql`r.external_id` : sql`NULL`}, ${email}, r.first_name, r.last_name,
           CASE WHEN r.first_name IS NULL AND r.last_name IS NULL THEN NULL ELSE lower(trim(coalesce(r.first_name, '') || ' ' || coalesce(r.last_name, ''))) END,
           lower(r.last_name), ${created}
    FROM import_rows r WHERE ${chunk}`;
  // The leaders find their members at once, by the chunk's lines: the pass's whole-upload resolve
  // (resolveMembers) is then left the other rows of the groups (none, in a file of one row per
  // member), never a join of every staged row with every member (on PostgreSQL a join and rewrite
  // of a million rows in one statement, 37 s of a `set`).
  const key = pass === 1 ? 'external_id' : 'email';
  if (dialectOf(trx) === 'postgres') {
    // By the insert's own answer: PostgreSQL plans any read of the customers from statistics of
    // the store before its new members (none), and walked every member created so far, per chunk.
    await sql`WITH made AS (${insert} RETURNING id, ${sql.ref(key)})
      UPDATE import_rows AS r SET customer_id = m.id FROM made m WHERE ${chunk} AND m.${sql.ref(key)} = r.${sql.ref(key)}`.execute(trx);
    return;
  }
  await insert.execute(trx);
  await sql`UPDATE import_rows AS r SET customer_id = c.id FROM customers c
    WHERE ${chunk} AND c.store_id = ${job.storeId} AND c.${sql.ref(key)} = r.${sql.ref(key)}`.execute(trx);
}

/**
 * After a pass of member creation: the rows of its groups but their leaders (createMembers
 * resolved those) find their new customer; fresh statistics on PostgreSQL, of the customers and
 * the staged rows before (most rows have their customer now: the join is planned for the few
 * left), and of the staged rows after if the resolve moved any (the apply chunks are planned
 * from them).
 */
export const resolveMembers: Step = async (trx, job) => {
  const pg = dialectOf(trx) === 'postgres';
  if (pg) await sql`ANALYZE customers, import_rows`.execute(trx);
  // Again only if this resolve moved rows (a history's rows of its members; none in a clean `set`).
  if ((await resolve(trx, job)) > 0 && pg) await sql`ANALYZE import_rows`.execute(trx);
};

export { KEY as CUSTOMER_KEY_SQL };
