import { benchBulk } from './bulk.js';

const customers = Number(process.env.BENCH_CUSTOMERS ?? 1_000_000);
for (const dialect of (process.env.DIALECTS ?? 'sqlite,postgres').split(',') as ('sqlite' | 'postgres')[]) {
  const row = await benchBulk(dialect, customers, (s) => console.error(s));
  console.log(JSON.stringify(row));
}
