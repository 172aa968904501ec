// Writes the served OpenAPI document (the app built with buildApp, never listening) to stdout or a file,
// so the admin app's client types (web/src/api/schema.d.ts) are generated from the real routes.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCommitter } from '../src/db/committer.js';
import { openDatabase } from '../src/db/database.js';
import { buildApp } from '../src/http/app.js';

const dir = mkdtempSync(join(tmpdir(), 'tally-openapi-'));
const database = openDatabase(`sqlite:${join(dir, 'doc.db')}`);
try {
  const app = await buildApp({ database, committer: createCommitter(database) }, { rateLimitPerMinute: 0 });
  await app.ready();
  const doc = JSON.stringify(app.swagger(), null, 2);
  await app.close();
  if (process.argv[2]) writeFileSync(process.argv[2], doc + '\n');
  else process.stdout.write(doc + '\n');
} finally {
  await database.close();
  rmSync(dir, { recursive: true, force: true });
}
