/**
 * The ceiling for single adjustments: a minimal Fastify route that does only the conditional
 * UPDATE and the ledger INSERT, one transaction per request, on the same database settings as
 * Tally (SQLite: WAL, synchronous=FULL; PostgreSQL: a pg pool, synchronous_commit on).
 * Usage: DATABASE_URL=… PORT=… node --import tsx bench/minimal-server.ts
 */
import Fastify from 'fastify';
import pg from 'pg';
import { openSqlite } from '../src/db/database.js';

const url = process.env.DATABASE_URL ?? '';
const app = Fastify();
const now = () => Date.now();
const INSERT_COLUMNS = `store_id, customer_id, type, points, tier_points, balance_after, reason, visible_to_customer, actor_type, actor_name, created_at`;

if (url.startsWith('sqlite:')) {
  const db = openSqlite(url.slice('sqlite:'.length));
  const update = db.prepare('UPDATE customers SET balance = balance + ? WHERE store_id = ? AND id = ? AND balance + ? >= 0 RETURNING balance');
  const insert = db.prepare(`INSERT INTO transactions (${INSERT_COLUMNS}) VALUES (?, ?, 'adjustment', ?, 0, ?, ?, 1, 'api_key', 'bench', ?)`);
  const adjust = db.transaction((id: number, points: number, reason: string) => {
    const row = update.get(points, 1, id, points) as { balance: number } | undefined;
    if (!row) return undefined;
    insert.run(1, id, points, row.balance, reason, now());
    return row.balance;
  });
  app.post<{ Params: { id: string }; Body: { points: number; reason: string } }>('/v1/customers/:id/adjustments', async (req, reply) => {
    const balance = adjust.immediate(Number(req.params.id), req.body.points, req.body.reason);
    return balance === undefined ? reply.status(422).send({ error: 'insufficient' }) : reply.status(201).send({ balance });
  });
} else {
  const pool = new pg.Pool({ connectionString: url, max: 20 });
  app.post<{ Params: { id: string }; Body: { points: number; reason: string } }>('/v1/customers/:id/adjustments', async (req, reply) => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query('UPDATE customers SET balance = balance + $1 WHERE store_id = 1 AND id = $2 AND balance + $1 >= 0 RETURNING balance', [req.body.points, Number(req.params.id)]);
      if (rows.length === 0) {
        await client.query('ROLLBACK');
        return reply.status(422).send({ error: 'insufficient' });
      }
      await client.query(`INSERT INTO transactions (${INSERT_COLUMNS}) VALUES (1, $1, 'adjustment', $2, 0, $3, $4, 1, 'api_key', 'bench', $5)`, [Number(req.params.id), req.body.points, rows[0].balance, req.body.reason, now()]);
      await client.query('COMMIT');
      return reply.status(201).send({ balance: rows[0].balance });
    } finally {
      client.release();
    }
  });
}
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
