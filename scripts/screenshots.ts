// npm run screenshots: the admin app's main screens as docs/screenshots/*.png, from a fresh
// SQLite database with sample customers (the built app in web/dist, a real server, Debian's chromium).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCommitter } from '../src/db/committer.js';
import { openDatabase, migrate } from '../src/db/database.js';
import { buildApp } from '../src/http/app.js';
import { startWorkers } from '../src/jobs/workers.js';
import { launchBrowser } from '../test/support/browser.js';

const out = new URL('../docs/screenshots/', import.meta.url).pathname;
mkdirSync(out, { recursive: true });
const dir = mkdtempSync(join(tmpdir(), 'tally-shots-'));
const database = openDatabase(`sqlite:${join(dir, 'shots.db')}`);
await migrate(database);
const workers = startWorkers(database, { idleMs: 50 });
const app = await buildApp({ database, committer: createCommitter(database), workers }, { rateLimitPerMinute: 0 });
await app.listen({ port: 0, host: '127.0.0.1' });
const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
const browser = await launchBrowser();
try {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' })).newPage();
  page.setDefaultTimeout(15_000);
  const shot = async (name: string) => {
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(out, `${name}.png`) });
    console.log(`docs/screenshots/${name}.png`);
  };
  await page.goto(url);
  await page.getByLabel('Store name').fill('Corner Bakery');
  await page.getByLabel('Owner e-mail').fill('owner@example.com');
  await page.getByLabel('Owner password').fill('correct horse battery');
  await shot('setup');
  await page.getByRole('button', { name: 'Create store' }).click();
  await page.getByRole('table', { name: 'Customers' }).waitFor();
  await shot('customers');
  await page.getByRole('table', { name: 'Customers' }).getByRole('link').first().click();
  await page.getByRole('button', { name: 'Adjust points' }).click();
  const dialog = page.getByRole('dialog', { name: 'Adjust points' });
  await dialog.getByLabel('Points').fill('150');
  await dialog.getByLabel('Reason (internal)').fill('Birthday bonus');
  await dialog.getByLabel('Customer comment').fill('Happy birthday from Corner Bakery!');
  await shot('adjust-dialog');
  await dialog.getByRole('button', { name: 'Save adjustment' }).click();
  await dialog.waitFor({ state: 'hidden' });
  await page.waitForTimeout(600);
  await shot('customer');
  await page.getByRole('link', { name: 'Customers' }).click();
  await page.getByLabel('Balance to').fill('500');
  await page.getByRole('button', { name: 'Bulk adjust every match of this filter' }).click();
  const bulk = page.getByRole('dialog');
  await bulk.getByLabel('Points per customer').fill('50');
  await bulk.getByLabel('Reason (internal)').fill('Spring promotion');
  await bulk.getByRole('button', { name: 'Review' }).click();
  await bulk.getByRole('list', { name: 'Dry run' }).waitFor();
  await shot('bulk-review');
  await bulk.getByRole('button', { name: /^Apply to/ }).click();
  await page.getByTestId('job-status').getByText('completed').waitFor();
  await shot('job');
  await page.getByRole('link', { name: 'Transactions' }).click();
  await page.getByRole('table', { name: 'Transactions' }).waitFor();
  await shot('transactions');
} finally {
  await browser.close();
  await app.close();
  await workers.stop();
  await database.close();
  rmSync(dir, { recursive: true, force: true });
}
