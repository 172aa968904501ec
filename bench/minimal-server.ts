/**
 * The ceiling for single adjustments: a minimal Fastify app with one POST route that does only the
 * conditional UPDATE and the ledger INSERT, one transaction per request (no batching), on the same
 * database settings as Tally — SQLite: the same openSqlite() (WAL, synchronous=FULL), one
 * better-sqlite3 connection, prepared statements, BEGIN IMMEDIATE per request; PostgreSQL: a pg
 * Pool of the same size as Tally's, synchronous_commit on, BEGIN … COMMIT per request.
 * No auth, no schema validation, no idempotency, no logging, no response beyond the new balance.
 *
 * Usage: DATABASE_URL=… PORT=… STORE_ID=… node --import tsx bench/minimal-server.ts
 */
import Fastify from 'fastify';
import pg from 'pg';
import { openSqlite } from '../src/db/database.js';

const url = process.env.DATABASE_URL ?? '';
const storeId = Number(process.env.STORE_ID ?? 1);
const app = Fastify();

const UPDATE_SQLITE = 'UPDATE customers SET balance = balance + ? WHERE store_id = ? AND id = ? AND balance + ? >= 0 RETURNING balance';
const INSERT_SQLITE = `INSERT INTO transactions (store_id, customer_id, type, points, tier_points, balance_after, reason,
  visible_to_customer, actor_type, actor_name, created_at) VALUES (?, ?, 'adjustment', ?, 0, ?, ?, 1, 'api_key', 'bench', ?)`;
const UPDATE_PG = 'UPDATE customers SET balance = balance + $1 WHERE store_id = $2 AND id = $3 AND balance + $1 >= 0 RETURNING balance';
const INSERT_PG = `INSERT INTO transactions (store_id, customer_id, type, points, tier_points, balance_after, reason,
  visible_to_customer, actor_type, actor_name, created_at) VALUES ($1, $2, 'adjustment', $3, 0, $4, $5, 1, 'api_key', 'bench', $6)`;

type Adjust = (customerId: number, points: number, reason: string) => Promise<number | undefined>;
let adjust: Adjust;
let close: () => Promise<void>;

if (url.startsWith('sqlite:')) {
  const db = openSqlite(url.slice('sqlite:'.length));
  const update = db.prepare(UPDATE_SQLITE);
  const insert = db.prepare(INSERT_SQLITE);
  const txn = db.transaction((customerId: number, points: number, reason: string) => {
    const row = update.get(points, storeId, customerId, points) as { balance: number } | undefined;
    if (!row) return undefined;
    insert.run(storeId, customerId, points, row.balance, reason, Date.now());
    return row.balance;
  });
  adjust = async (customerId, points, reason) => txn.immediate(customerId, points, reason);
  close = async () => {
    db.close();
  };
} else {
  const pool = new pg.Pool({ connectionString: url, max: Number(process.env.PG_POOL_SIZE ?? 20) });
  pool.on('error', () => undefined);
  // int8 as a JS number, as Tally does.
  pg.types.setTypeParser(20, (v) => Number.parseInt(v, 10));
  adjust = async (customerId, points, reason) => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      // Named statements: parsed and planned once per connection, as Tally's hot path is.
      const { rows } = await client.query<{ balance: number }>({ name: 'min_update', text: UPDATE_PG, values: [points, storeId, customerId] });
      if (rows.length === 0) {
        await client.query('ROLLBACK');
        return undefined;
      }
      await client.query({ name: 'min_insert', text: INSERT_PG, values: [storeId, customerId, points, rows[0].balance, reason, Date.now()] });
      await client.query('COMMIT');
      return rows[0].balance;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  };
  close = () => pool.end();
}

app.get('/healthz', async () => ({ status: 'ok' }));
app.post<{ Params: { id: string }; Body: { points: number; reason: string } }>('/v1/customers/:id/adjustments', async (req, reply) => {
  const balance = await adjust(Number(req.params.id), req.body.points, req.body.reason);
  return balance === undefined ? reply.status(422).send({ error: 'insufficient_points' }) : reply.status(201).send({ balance });
});

await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
const stop = () => void app.close().then(close).then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
