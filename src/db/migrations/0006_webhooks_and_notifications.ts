import { type Kysely, sql } from 'kysely';
import { type Dialect, idColumn } from './helpers.js';

/** Webhook endpoints, their deliveries, kept or sent e-mail notifications, and the outbox's fan-out mark. */
export function up(dialect: Dialect) {
  return async (db: Kysely<any>): Promise<void> => {
    const bigint = dialect === 'postgres' ? 'bigint' : 'integer';
    await db.schema
      .createTable('webhook_endpoints')
      .addColumn('id', idColumn(dialect), (c) => c.primaryKey())
      .addColumn('store_id', bigint, (c) => c.notNull().references('stores.id'))
      .addColumn('url', 'text', (c) => c.notNull())
      .addColumn('events', 'text', (c) => c.notNull())
      .addColumn('secret', 'text', (c) => c.notNull())
      .addColumn('previous_secret', 'text')
      .addColumn('previous_secret_until', bigint)
      .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('disabled_reason', 'text')
      .addColumn('failing_since', bigint)
      .addColumn('created_at', bigint, (c) => c.notNull())
      .addColumn('updated_at', bigint, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('webhook_endpoints_store').on('webhook_endpoints').columns(['store_id', 'id']).execute();

    await db.schema
      .createTable('webhook_deliveries')
      .addColumn('id', idColumn(dialect), (c) => c.primaryKey())
      .addColumn('store_id', bigint, (c) => c.notNull())
      .addColumn('endpoint_id', bigint, (c) => c.notNull().references('webhook_endpoints.id').onDelete('cascade'))
      .addColumn('event_id', 'text', (c) => c.notNull())
      .addColumn('event_type', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('event_created_at', bigint, (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempt', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('next_attempt_at', bigint, (c) => c.notNull())
      .addColumn('lease_until', bigint)
      .addColumn('lease_owner', 'text')
      .addColumn('response_status', 'integer')
      .addColumn('error', 'text')
      .addColumn('duration_ms', 'integer')
      .addColumn('created_at', bigint, (c) => c.notNull())
      .addColumn('updated_at', bigint, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('webhook_deliveries_endpoint').on('webhook_deliveries').columns(['endpoint_id', 'id']).execute();
    await db.schema
      .createIndex('webhook_deliveries_due')
      .on('webhook_deliveries')
      .columns(['next_attempt_at', 'id'])
      .where(sql.ref('status'), '=', 'pending')
      .execute();
    await db.schema.createIndex('webhook_deliveries_updated').on('webhook_deliveries').columns(['updated_at', 'id']).execute();

    await db.schema
      .createTable('notifications')
      .addColumn('id', idColumn(dialect), (c) => c.primaryKey())
      .addColumn('store_id', bigint, (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('to_address', 'text', (c) => c.notNull())
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('text_body', 'text', (c) => c.notNull())
      .addColumn('html_body', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('next_attempt_at', bigint, (c) => c.notNull())
      .addColumn('lease_until', bigint)
      .addColumn('sent_at', bigint)
      .addColumn('error', 'text')
      .addColumn('created_at', bigint, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('notifications_store').on('notifications').columns(['store_id', 'id']).execute();
    await db.schema
      .createIndex('notifications_unsent')
      .on('notifications')
      .columns(['next_attempt_at', 'id'])
      .where(sql.ref('sent_at'), 'is', null)
      .execute();

    // Set when the dispatcher has turned the row into deliveries and notifications.
    await db.schema.alterTable('outbox').addColumn('fanned_out_at', bigint).execute();
    await db.schema
      .createIndex('outbox_pending')
      .on('outbox')
      .column('id')
      .where(sql.ref('fanned_out_at'), 'is', null)
      .execute();
  };
}
