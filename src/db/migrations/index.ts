import type { Migration } from 'kysely';
import type { Dialect } from './helpers.js';
import * as m0001 from './0001_core_ledger.js';
import * as m0002 from './0002_jobs_and_outbox.js';
import * as m0003 from './0003_job_kinds.js';
import * as m0004 from './0004_staff_sessions.js';
import * as m0005 from './0005_imports.js';
import * as m0006 from './0006_webhooks_and_notifications.js';
import * as m0007 from './0007_tiers_rewards_expiry.js';
import * as m0008 from './0008_expiry_notices.js';
import * as m0009 from './0009_ledger_rollup.js';
import * as m0010 from './0010_import_credit_dates.js';
import * as m0011 from './0011_import_rows_partial_indexes.js';

/**
 * The ordered list of migrations. Never edit or rename one after it has shipped:
 * the migrator refuses to run over rewritten history.
 */
export function migrations(dialect: Dialect): Record<string, Migration> {
  return {
    '0001_core_ledger': { up: m0001.up(dialect) },
    '0002_jobs_and_outbox': { up: m0002.up(dialect) },
    '0003_job_kinds': { up: m0003.up(dialect) },
    '0004_staff_sessions': { up: m0004.up(dialect) },
    '0005_imports': { up: m0005.up(dialect) },
    '0006_webhooks_and_notifications': { up: m0006.up(dialect) },
    '0007_tiers_rewards_expiry': { up: m0007.up(dialect) },
    '0008_expiry_notices': { up: m0008.up(dialect) },
    '0009_ledger_rollup': { up: m0009.up(dialect) },
    '0010_import_credit_dates': { up: m0010.up(dialect) },
    '0011_import_rows_partial_indexes': { up: m0011.up(dialect) },
  };
}
