import { sql } from 'kysely';
import { dialectOf } from '../../db/dialect-of.js';
import { JobParamsError } from '../../domain/errors.js';
import type { Actor } from '../../domain/types.js';
import { moveTiers } from '../tier-moves.js';
import { type JobKindSpec, NO_PROGRESS } from './types.js';

/**
 * Moves every customer of a store into the tier their points qualify for after the tier table
 * changed: chunk by chunk over customer ids up to the snapshot (later customers are placed by
 * their own writes), each chunk one transaction holding its customers' locks. Entry rewards go
 * to those who newly qualify; nothing is taken back. Not revertible: tiers follow the table.
 */
export const tierEvaluationKind: JobKindSpec<Record<string, never>> = {
  kind: 'tier_evaluation',
  version: 1,
  revertible: false,

  decode(stored) {
    if (stored.v !== 1) throw new JobParamsError('tier_evaluation', `version ${String(stored.v)} is not one this release understands`);
    return {};
  },

  present() {
    return {};
  },

  async count(db, job) {
    const r = await sql<{ n: number }>`SELECT count(*) AS n FROM customers WHERE store_id = ${job.store_id} AND id <= ${job.snapshot_max_id}`.execute(db);
    return Number(r.rows[0].n);
  },

  async chunk(trx, job, _params, _state, size) {
    const end = Math.min(job.cursor + size, job.snapshot_max_id);
    const customers = sql<boolean>`c.store_id = ${job.store_id} AND c.id > ${job.cursor} AND c.id <= ${end}`;
    const lock = dialectOf(trx) === 'postgres' ? sql`FOR UPDATE` : sql``;
    const { rows } = await sql<{ id: number }>`SELECT c.id FROM customers c WHERE ${customers} ORDER BY c.id ${lock}`.execute(trx);
    const actor: Actor = { type: job.actor_type as Actor['type'], id: job.actor_id, name: job.actor_name };
    if (rows.length > 0) await moveTiers(trx, job.store_id, customers, { actor, jobId: job.id });
    return { ...NO_PROGRESS, cursor: end, state: null, processed: rows.length, succeeded: rows.length, last: end >= job.snapshot_max_id };
  },
};
