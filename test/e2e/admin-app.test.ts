import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCustomer } from '../../src/ledger/customers.js';
import { launchBrowser, seriousViolations } from '../support/browser.js';
import { startServer, type TestServer } from '../support/server.js';

// The admin app in a real browser against a real server on a fresh SQLite database. The tests run
// in order, as one staff member's session: first run, log in, work with customers, bulk, CSRF.
describe('admin app in the browser', () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  const owner = { email: 'owner@example.com', password: 'correct horse battery' };
  let adaId = 0;
  let agentPassword = '';

  beforeAll(async () => {
    server = await startServer('sqlite', { workers: { idleMs: 50 } });
    browser = await launchBrowser();
    page = await (await browser.newContext({ viewport: { width: 1024, height: 800 }, locale: 'en-US' })).newPage();
    page.setDefaultTimeout(10_000);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  const expectAccessible = async () => expect(await seriousViolations(page)).toEqual([]);
  const adaNow = async (): Promise<{ balance: number; lifetimePoints: number }> =>
    (await server.app.inject({ method: 'GET', url: `/v1/customers/${adaId}`, cookies: await cookies() })).json();
  const sessionCsrf = () => page.evaluate(() => fetch('/v1/session').then((r) => r.json()).then((s) => s.csrfToken as string));
  const openAda = async () => {
    await page.getByRole('link', { name: 'Customers' }).click();
    await page.getByLabel('Search', { exact: true }).fill('lovel');
    await page.getByRole('link', { name: 'Ada Lovelace' }).click();
    await page.getByRole('heading', { name: 'Ada Lovelace' }).waitFor();
  };

  it('an empty database shows the first-run setup, which creates the store and logs the owner in', async () => {
    await page.goto(server.url);
    await page.getByRole('heading', { name: 'Welcome to Tally' }).waitFor();
    await expectAccessible();
    await page.getByLabel('Store name').fill('Corner Bakery');
    await page.getByLabel('Owner e-mail').fill(owner.email);
    await page.getByLabel('Owner password').fill(owner.password);
    await page.getByLabel('Add sample customers').uncheck();
    await page.getByRole('button', { name: 'Create store' }).click();
    await page.getByRole('heading', { name: 'Customers' }).waitFor();
    await page.getByText('No customers yet').waitFor();
    await expectAccessible();
    const storeId = (await page.evaluate(() => fetch('/v1/session').then((r) => r.json()))).store.id as number;
    await server.committer.run(async (trx) => {
      adaId = (await createCustomer(trx, storeId, { email: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace', externalId: 'shop-1' })).id;
      for (let i = 1; i <= 5; i++) await createCustomer(trx, storeId, { email: `member${i}@example.com`, firstName: 'Member', lastName: String(i) });
    });
  });

  it('logs out, refuses a wrong password and logs in again', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('heading', { name: 'Log in to Tally' }).waitFor();
    await expectAccessible();
    await page.getByLabel('E-mail').fill(owner.email);
    await page.getByLabel('Password').fill('wrong password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').waitFor();
    await page.getByLabel('Password').fill(owner.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Customers' }).waitFor();
  });

  it('finds a customer by search, adjusts the balance and shows the new history row', async () => {
    await page.getByLabel('Search', { exact: true }).fill('lovel');
    await page.getByRole('link', { name: 'Ada Lovelace' }).click();
    await page.getByRole('heading', { name: 'Ada Lovelace' }).waitFor();
    await expect.poll(() => page.getByTestId('balance').textContent()).toBe('0');
    await page.getByRole('button', { name: 'Adjust points' }).click();
    const dialog = page.getByRole('dialog', { name: 'Adjust points' });
    await dialog.getByLabel('Points').fill('1250');
    await dialog.getByLabel('Reason (internal)').fill('Welcome bonus');
    await dialog.getByLabel('Customer comment').fill('Thanks for joining!');
    await expect.poll(() => dialog.getByTestId('preview').textContent()).toContain((1250).toLocaleString('en-US'));
    await expectAccessible();
    await dialog.getByLabel('Reason (internal)').press('Enter');
    await dialog.waitFor({ state: 'hidden' });
    await expect.poll(() => page.getByTestId('balance').textContent()).toBe((1250).toLocaleString('en-US'));
    const row = page.getByRole('table', { name: 'Points history' }).getByRole('row').nth(1);
    await expect.poll(() => row.textContent()).toContain('Welcome bonus');
    expect(await row.textContent()).toContain('Thanks for joining!');
    await expectAccessible();
  });

  it('a deduction larger than the balance shows the insufficient-points error inline and changes nothing', async () => {
    await page.getByRole('button', { name: 'Adjust points' }).click();
    const dialog = page.getByRole('dialog', { name: 'Adjust points' });
    await dialog.getByLabel('Points').fill('-5000');
    await dialog.getByLabel('Reason (internal)').fill('Too much');
    await dialog.getByRole('button', { name: 'Save adjustment' }).click();
    await expect.poll(() => dialog.getByRole('alert').textContent()).toContain('Not enough points');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    const ada = await server.app.inject({ method: 'GET', url: `/v1/customers/${adaId}`, cookies: await cookies() });
    expect(ada.json().balance).toBe(1250);
  });

  it('quick adjust from the search bar adjusts the picked customer in place', async () => {
    await page.getByRole('textbox', { name: 'Quick adjust: find a customer' }).fill('ada@');
    await page.getByRole('option', { name: /Ada Lovelace/ }).click();
    const dialog = page.getByRole('dialog', { name: 'Adjust points' });
    await dialog.getByLabel('Points').fill('-250');
    await dialog.getByLabel('Reason (internal)').fill('Redeemed at the counter');
    await dialog.getByRole('button', { name: 'Save adjustment' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await expect.poll(() => page.getByTestId('balance').textContent()).toBe((1000).toLocaleString('en-US'));
  });

  it('bulk-adjusts the customers of a filter after the dry-run review and shows the job complete', async () => {
    await page.getByRole('link', { name: 'Customers' }).click();
    await page.getByLabel('Balance to').fill('0');
    await expect.poll(() => page.getByRole('table', { name: 'Customers' }).getByRole('row').count()).toBe(6);
    await page.getByRole('button', { name: 'Bulk adjust every match of this filter' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Points per customer').fill('40');
    await dialog.getByLabel('Reason (internal)').fill('Spring promotion');
    await dialog.getByRole('button', { name: 'Review' }).click();
    await expect.poll(() => dialog.getByRole('list', { name: 'Dry run' }).textContent()).toContain('Customers in the selection: 5');
    await expectAccessible();
    await dialog.getByRole('button', { name: 'Apply to 5 customers' }).click();
    await page.getByRole('heading', { name: /Job #\d+/ }).waitFor();
    await expect.poll(() => page.getByTestId('job-status').textContent(), { timeout: 20_000 }).toBe('completed');
    expect(await page.getByTestId('job-succeeded').textContent()).toContain('5');
    await expectAccessible();
    await page.getByRole('link', { name: 'Jobs' }).click();
    await page.getByRole('table', { name: 'Jobs' }).getByText('completed').waitFor();
  });

  it('reverses a transaction from the customer history, with a reason, and links the reversal', async () => {
    await page.getByRole('link', { name: 'Customers' }).click();
    await page.getByLabel('Search', { exact: true }).fill('lovel');
    await page.getByRole('link', { name: 'Ada Lovelace' }).click();
    await expect.poll(() => page.getByTestId('balance').textContent()).toBe((1000).toLocaleString('en-US'));
    const history = page.getByRole('table', { name: 'Points history' });
    // The newest row is the quick adjust's −250.
    await expect.poll(() => history.getByRole('row').nth(1).textContent()).toContain('Redeemed at the counter');
    await history.getByRole('row').nth(1).getByRole('button', { name: /^Reverse transaction/ }).click();
    const dialog = page.getByRole('dialog', { name: /^Reverse transaction/ });
    await dialog.getByLabel('Reason').fill('Redeemed by mistake');
    await expectAccessible();
    await dialog.getByRole('button', { name: 'Reverse' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await expect.poll(() => page.getByTestId('balance').textContent()).toBe((1250).toLocaleString('en-US'));
    await expect.poll(() => history.getByRole('row').nth(1).textContent()).toContain('Redeemed by mistake');
    expect(await history.getByRole('row').nth(1).textContent()).toMatch(/reversal.*reverses #\d+/);
  });

  it('resets every customer only after the typed phrase, then reverts that job and the balances come back', async () => {
    await page.getByRole('link', { name: 'Customers' }).click();
    await page.getByRole('button', { name: 'Bulk adjust all customers' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('Reset to 0').click();
    await dialog.getByLabel('Reason (internal)').fill('Programme relaunch');
    await dialog.getByRole('button', { name: 'Review' }).click();
    await expect.poll(() => dialog.getByRole('list', { name: 'Dry run' }).textContent()).toContain('Customers in the selection: 6');
    const apply = dialog.getByRole('button', { name: 'Reset 6 customers' });
    expect(await apply.isDisabled()).toBe(true);
    await dialog.getByLabel('Type RESET ALL CUSTOMERS to confirm').fill('reset all customers');
    expect(await apply.isDisabled()).toBe(true);
    await dialog.getByLabel('Type RESET ALL CUSTOMERS to confirm').fill('RESET ALL CUSTOMERS');
    await expectAccessible();
    await apply.click();
    await page.getByRole('heading', { name: /Job #\d+ \(bulk/ }).waitFor();
    await expect.poll(() => page.getByTestId('job-status').textContent(), { timeout: 20_000 }).toBe('completed');
    const balances = async () => (await server.app.inject({ method: 'GET', url: '/v1/customers?limit=50', cookies: await cookies() })).json().data.map((c: { balance: number }) => c.balance);
    expect(await balances()).toEqual([0, 0, 0, 0, 0, 0]);
    await page.getByRole('button', { name: 'Revert job' }).click();
    const revert = page.getByRole('dialog', { name: /^Revert job/ });
    await revert.getByLabel('Reason').fill('Relaunch postponed');
    await expectAccessible();
    await revert.getByRole('button', { name: 'Revert', exact: true }).click();
    await page.getByRole('heading', { name: /Job #\d+ \(revert\)/ }).waitFor();
    await expect.poll(() => page.getByTestId('job-status').textContent(), { timeout: 20_000 }).toBe('completed');
    expect((await balances()).sort((a: number, b: number) => a - b)).toEqual([40, 40, 40, 40, 40, 1250]);
    await expectAccessible();
  });

  it('a report for a range matches the ledger: outstanding, credited and debited, by type, and its CSV', async () => {
    const ledger = (await server.app.inject({ method: 'GET', url: '/v1/transactions?limit=500', cookies: await cookies() })).json().data as { type: string; points: number }[];
    const sum = (rows: { points: number }[]) => rows.reduce((s, r) => s + r.points, 0);
    const fmt = (n: number) => new Intl.NumberFormat('en-US', { signDisplay: 'exceptZero' }).format(n);
    const settings = await server.app.inject({ method: 'PATCH', url: '/v1/settings', payload: { pointValue: 0.01 }, cookies: await cookies(), headers: { 'x-csrf-token': await csrfToken() } });
    expect(settings.statusCode, settings.body).toBe(200);
    await page.getByRole('link', { name: 'Reports' }).click();
    await page.getByRole('heading', { name: 'Reports' }).waitFor();
    const totals = page.getByRole('list', { name: 'Totals for the range' });
    await expect.poll(() => page.getByTestId('report-closing').textContent()).toBe(sum(ledger).toLocaleString('en-US'));
    expect(await totals.textContent()).toContain(`Points credited${fmt(sum(ledger.filter((r) => r.points > 0)))}`);
    expect(await totals.textContent()).toContain(`Points debited${fmt(sum(ledger.filter((r) => r.points < 0)))}`);
    expect(await totals.textContent()).toContain('Outstanding at the start0');
    expect(await totals.textContent()).toContain(`Liability at the end${(sum(ledger) * 0.01).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`);
    const resets = ledger.filter((r) => r.type === 'reset');
    const resetRow = page.getByRole('table', { name: 'By type' }).getByRole('row', { name: /^reset/ });
    expect(await resetRow.textContent()).toBe(`reset0${fmt(sum(resets))}${fmt(sum(resets))}`);
    // 30 days by day, then the same range by week: fewer periods, the same end.
    expect(await page.getByRole('table', { name: 'Report by period' }).getByRole('row').count()).toBe(31);
    await expectAccessible();
    await page.getByText('By week').click();
    await expect.poll(() => page.getByRole('table', { name: 'Report by period' }).getByRole('row').count()).toBe(6);
    expect(await page.getByTestId('report-closing').textContent()).toBe(sum(ledger).toLocaleString('en-US'));
    const href = await page.getByRole('link', { name: 'Download CSV' }).getAttribute('href');
    const csv = await page.evaluate((u) => fetch(u!).then((r) => r.text()), href);
    const lines = csv.trim().split('\n');
    expect(lines).toHaveLength(6);
    expect(lines[0]).toMatch(/^periodStart,periodEnd,openingBalance,credited,debited,closingBalance,liability/);
    expect(lines[5].split(',')[5]).toBe(String(sum(ledger)));
  });

  it('the Import screen offers the upload, the type and the mode, and passes axe', async () => {
    await page.getByRole('link', { name: 'Import' }).click();
    await page.getByRole('heading', { name: 'Import points' }).waitFor();
    await page.getByRole('region', { name: 'CSV file drop zone' }).getByRole('button', { name: 'Choose a file' }).waitFor();
    expect(await page.getByRole('button', { name: 'Check the file' }).isDisabled()).toBe(true);
    await expectAccessible();
  });

  it('imports a CSV with one bad row: the check reports it by line, the import applies the others', async () => {
    const before = (await page.evaluate(() => fetch('/v1/customers?email=member1%40example.com').then((r) => r.json()))).data[0].balance as number;
    const csv = 'Email,Points\nmember1@example.com,100\nnobody@example.com,50\n"member2@example.com",200\n';
    await page.getByLabel('CSV file', { exact: true }).setInputFiles({ name: 'points.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByLabel('Reason (internal)').fill('Points from the old app');
    await page.getByRole('button', { name: 'Check the file' }).click();
    const errors = page.getByRole('table', { name: 'Rows with errors' });
    await expect.poll(() => errors.getByRole('row').nth(1).textContent()).toContain('customer_not_found');
    expect(await errors.getByRole('row').nth(1).getByRole('cell').first().textContent()).toBe('3');
    expect(await page.getByRole('list', { name: 'Dry run' }).textContent()).toContain('With errors1');
    await expectAccessible();
    await page.getByRole('button', { name: 'Import 2 valid rows' }).click();
    await page.getByRole('heading', { name: /Job #\d+/ }).waitFor();
    await expect.poll(() => page.getByTestId('job-status').textContent(), { timeout: 20_000 }).toBe('completed');
    const after = (await page.evaluate(() => fetch('/v1/customers?email=member1%40example.com').then((r) => r.json()))).data[0].balance as number;
    expect(after).toBe(before + 100);
    await expectAccessible();
  });

  it('a state-changing request with the session cookie but without the CSRF token is refused with 403', async () => {
    const refused = await page.evaluate(async (id) => {
      const r = await fetch(`/v1/customers/${id}/adjustments`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ points: 5, reason: 'no token' }) });
      return { status: r.status, body: await r.json() };
    }, adaId);
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('csrf_invalid');
  });

  it('settings: adds an agent with a one-time password and creates an API key shown once', async () => {
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('tab', { name: 'Staff and API keys' }).click();
    await page.getByRole('table', { name: 'Staff users' }).getByText(owner.email).first().waitFor();
    await page.getByLabel('E-mail of the new staff member').fill('agent@example.com');
    await page.getByRole('textbox', { name: 'Role', exact: true }).click();
    await page.getByRole('option', { name: 'agent' }).click();
    await page.getByRole('button', { name: 'Add staff member' }).click();
    const oneTime = page.getByText('Give agent@example.com this password:').locator('code');
    agentPassword = (await oneTime.textContent()) ?? '';
    expect(agentPassword.length).toBeGreaterThanOrEqual(8);
    await page.getByLabel('Key name').fill('Storefront');
    await page.getByRole('button', { name: 'Create API key' }).click();
    const key = (await page.getByTestId('new-api-key').textContent()) ?? '';
    expect(key).toMatch(/^tally_/);
    const listed = await fetch(`${server.url}/v1/customers?limit=1`, { headers: { authorization: `Bearer ${key}` } });
    expect(listed.status).toBe(200);
    await expectAccessible();
  });

  it('settings: sets tiers, the re-evaluation job completes in place, and the customer page shows the tier and its progress', async () => {
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('tab', { name: 'Tiers' }).click();
    await page.getByText('No tiers yet').waitFor();
    await page.getByRole('button', { name: 'Add tier' }).click();
    await page.getByLabel('Name of tier 1').fill('Silver');
    await page.getByLabel('Threshold of tier 1').fill('500');
    await page.getByRole('button', { name: 'Add tier' }).click();
    await page.getByLabel('Name of tier 2').fill('Gold');
    await page.getByLabel('Threshold of tier 2').fill('100000');
    await page.getByRole('textbox', { name: 'Entry reward of tier 2' }).click();
    await page.getByRole('option', { name: 'Points' }).click();
    await page.getByLabel('Entry points of tier 2').fill('250');
    await expectAccessible();
    await page.getByRole('button', { name: 'Save tiers' }).click();
    await expect.poll(() => page.getByTestId('inline-job-status').textContent(), { timeout: 20_000 }).toBe('completed');
    const tiers = (await server.app.inject({ method: 'GET', url: '/v1/tiers', cookies: await cookies() })).json().data;
    expect(tiers.map((t: { name: string; threshold: number; entryReward: unknown }) => [t.name, t.threshold, t.entryReward])).toEqual([
      ['Silver', 500, null],
      ['Gold', 100000, { points: 250, rewardId: null }],
    ]);
    await expectAccessible();
    await openAda();
    await expect.poll(() => page.getByTestId('tier-name').textContent()).toBe('Silver');
    const lifetime = (await adaNow()).lifetimePoints as number;
    expect(await page.getByTestId('tier-progress').textContent()).toContain(`${(100000 - lifetime).toLocaleString('en-US')} lifetime points to Gold`);
    await page.getByRole('button', { name: 'Change tier' }).click();
    const change = page.getByRole('dialog', { name: 'Change tier' });
    await change.getByRole('textbox', { name: 'Tier' }).click();
    await page.getByRole('option', { name: /^Gold/ }).click();
    await change.getByRole('button', { name: 'Assign tier' }).click();
    await change.getByText('Give a reason of at least 3 characters').waitFor();
    await change.getByLabel('Reason').fill('Catering partner');
    await expectAccessible();
    await change.getByRole('button', { name: 'Assign tier' }).click();
    await change.waitFor({ state: 'hidden' });
    await expect.poll(() => page.getByTestId('tier-name').textContent()).toBe('Gold');
    await page.getByText('manual', { exact: true }).waitFor();
    await page.getByRole('tab', { name: 'Tier history' }).click();
    await expect.poll(() => page.getByRole('table', { name: 'Tier history' }).getByRole('row').nth(1).textContent()).toMatch(/Silver.*Gold.*by hand.*Catering partner/);
    await expectAccessible();
    await page.getByRole('button', { name: 'Change tier' }).click();
    await change.getByRole('textbox', { name: 'Tier' }).click();
    await page.getByRole('option', { name: /^Clear the manual tier/ }).click();
    await change.getByLabel('Reason').fill('Partnership ended');
    await change.getByRole('button', { name: 'Clear manual tier' }).click();
    await change.waitFor({ state: 'hidden' });
    await expect.poll(() => page.getByTestId('tier-name').textContent()).toBe('Silver');
    expect(await page.getByText('manual', { exact: true }).count()).toBe(0);
  });

  it('an adjustment available from a later day is a pending credit, listed and cancelled with a reason', async () => {
    const later = new Date(Date.now() + 10 * 86_400_000).toLocaleDateString('sv-SE');
    const before = await adaNow();
    await page.getByRole('button', { name: 'Adjust points' }).click();
    const dialog = page.getByRole('dialog', { name: 'Adjust points' });
    await dialog.getByLabel('Points').fill('75');
    await dialog.getByLabel('Reason (internal)').fill('Pre-order bonus');
    await dialog.getByLabel('Available from').fill(later);
    await expect.poll(() => dialog.getByTestId('preview').textContent()).toContain('75 points pending until');
    await expectAccessible();
    await dialog.getByRole('button', { name: 'Save adjustment' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await expect.poll(() => page.getByTestId('pending').textContent()).toBe('75');
    expect((await adaNow()).balance).toBe(before.balance);
    await page.getByRole('tab', { name: 'Pending credits' }).click();
    await page.getByRole('button', { name: 'Cancel the pending credit of 75 points' }).click();
    const cancel = page.getByRole('dialog', { name: 'Cancel the pending credit of 75 points' });
    await cancel.getByLabel('Reason').fill('Order cancelled');
    await cancel.getByRole('button', { name: 'Cancel credit' }).click();
    await cancel.waitFor({ state: 'hidden' });
    await expect.poll(() => page.getByTestId('pending').textContent()).toBe('0');
    await page.getByText('No pending credits').waitFor();
  });

  it('gives a reward from the catalog with its points deducted: the coupon code, the new balance, the coupon listed; too few points shown inline', async () => {
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('tab', { name: 'Rewards' }).click();
    for (const [name, cost] of [['5 off your order', '300'], ['Cake for a year', '900000']]) {
      await page.getByRole('button', { name: 'New reward' }).click();
      const create = page.getByRole('dialog', { name: 'New reward' });
      await create.getByLabel('Reward name').fill(name);
      await create.getByLabel('Cost in points').fill(cost);
      await create.getByLabel('Amount off').fill('5');
      if (name === 'Cake for a year') await expectAccessible();
      await create.getByRole('button', { name: 'Create reward' }).click();
      await create.waitFor({ state: 'hidden' });
      await page.getByRole('table', { name: 'Rewards' }).getByText(name).waitFor();
    }
    await expectAccessible();
    await openAda();
    const before = (await adaNow()).balance as number;
    await page.getByRole('button', { name: 'Give reward' }).click();
    const dialog = page.getByRole('dialog', { name: 'Give reward' });
    await dialog.getByRole('textbox', { name: 'Reward' }).click();
    await page.getByRole('option', { name: /^Cake for a year/ }).click();
    await expect.poll(() => dialog.getByText('Not enough points').count()).toBe(1);
    expect(await dialog.getByRole('button', { name: 'Give reward' }).isDisabled()).toBe(true);
    await dialog.getByRole('textbox', { name: 'Reward' }).click();
    await page.getByRole('option', { name: /^5 off your order/ }).click();
    await dialog.getByLabel('Reason').fill('Asked at the counter');
    await expectAccessible();
    await dialog.getByRole('button', { name: 'Give reward' }).click();
    const code = ((await dialog.getByTestId('coupon-code').textContent()) ?? '').trim();
    expect(code).toMatch(/^[A-Z0-9]{10,}$/);
    await dialog.getByRole('button', { name: 'Done' }).click();
    await expect.poll(() => page.getByTestId('balance').textContent()).toBe((before - 300).toLocaleString('en-US'));
    expect((await adaNow()).balance).toBe(before - 300);
    await page.getByRole('tab', { name: 'Coupons' }).click();
    await page.getByRole('table', { name: 'Coupons' }).getByText(code).waitFor();
    await expectAccessible();
    await page.getByRole('tab', { name: 'History', exact: true }).click();
    await expect.poll(() => page.getByRole('table', { name: 'Points history' }).getByRole('row').nth(1).textContent()).toContain('Asked at the counter');
  });

  it('settings: a changed expiry rule shows the dry run preview and is saved only on confirm', async () => {
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('tab', { name: 'Points rules' }).click();
    await page.getByText('Days after each credit').click();
    await page.getByLabel('Days until credited points expire').fill('365');
    await page.getByRole('button', { name: 'Save points rules' }).click();
    const confirm = page.getByRole('dialog', { name: 'Change the expiry rule?' });
    const preview = await confirm.getByTestId('expiry-preview').textContent();
    const expected = (
      await server.app.inject({ method: 'PATCH', url: '/v1/settings?dryRun=true', cookies: await cookies(), headers: { 'x-csrf-token': await sessionCsrf() }, payload: { expiry: { mode: 'per_credit', days: 365 } } })
    ).json().preview;
    expect(preview).toContain(`${expected.points.toLocaleString('en-US')} points from ${expected.customers.toLocaleString('en-US')} customers`);
    const settingsNow = async () => (await server.app.inject({ method: 'GET', url: '/v1/settings', cookies: await cookies() })).json();
    expect((await settingsNow()).expiry.mode).toBe('none');
    await expectAccessible();
    await confirm.getByRole('button', { name: 'Save the new rule' }).click();
    await confirm.waitFor({ state: 'hidden' });
    await expect.poll(async () => (await settingsNow()).expiry).toEqual({ mode: 'per_credit', days: 365 });
    await expectAccessible();
  });

  it('settings: registers a webhook (the secret shown once), shows its empty delivery log, disables and removes it', async () => {
    // No dispatcher runs in this server: nothing is ever sent to the loopback address registered here.
    server.context.allowPrivateWebhooks = true;
    await page.getByRole('tab', { name: 'Webhooks' }).click();
    await page.getByText('No webhooks yet').waitFor();
    await page.getByLabel('Endpoint URL').fill('http://127.0.0.1:9/tally');
    await page.getByRole('textbox', { name: 'Events' }).fill('job.comp');
    await page.getByRole('option', { name: 'job.completed' }).click();
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Add webhook' }).click();
    expect(await page.getByTestId('webhook-secret').textContent()).toMatch(/^whsec_/);
    await page.getByRole('table', { name: 'Webhooks' }).getByText('http://127.0.0.1:9/tally').waitFor();
    expect((await server.app.inject({ method: 'GET', url: '/v1/webhooks', cookies: await cookies() })).json().data[0].events).toEqual(['transaction.created', 'job.completed']);
    await expectAccessible();
    await page.getByRole('button', { name: 'Delivery log of http://127.0.0.1:9/tally' }).click();
    const log = page.getByRole('dialog', { name: /^Deliveries to/ });
    await log.getByText('No deliveries yet').waitFor();
    await page.keyboard.press('Escape');
    await log.waitFor({ state: 'hidden' });
    await page.getByLabel('http://127.0.0.1:9/tally enabled').click({ force: true });
    await expect.poll(async () => (await server.app.inject({ method: 'GET', url: '/v1/webhooks', cookies: await cookies() })).json().data[0].enabled).toBe(false);
    await page.getByRole('button', { name: 'Remove http://127.0.0.1:9/tally' }).click();
    await page.getByRole('dialog', { name: 'Remove this webhook?' }).getByRole('button', { name: 'Remove webhook' }).click();
    await page.getByText('No webhooks yet').waitFor();
    server.context.allowPrivateWebhooks = false;
  });

  it('sorts the list by its columns, counts the matches and selects all of them beyond the page for a bulk change', async () => {
    const storeId = (await page.evaluate(() => fetch('/v1/session').then((r) => r.json()))).store.id as number;
    await server.committer.run(async (trx) => {
      for (let i = 1; i <= 60; i++) await createCustomer(trx, storeId, { email: `crowd${i}@example.com`, firstName: 'Crowd', lastName: `Member ${String(i).padStart(2, '0')}` });
    });
    const everyone = (await server.app.inject({ method: 'GET', url: '/v1/customers?limit=500', cookies: await cookies() })).json().data as { firstName: string | null; lastName: string | null; balance: number }[];
    const nameOf = (c: { firstName: string | null; lastName: string | null }) => [c.firstName, c.lastName].filter(Boolean).join(' ');
    const richest = [...everyone].sort((a, b) => b.balance - a.balance)[0];
    const byName = everyone.map(nameOf).sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1));
    await page.getByRole('link', { name: 'Customers' }).click();
    const table = page.getByRole('table', { name: 'Customers' });
    const firstRow = () => table.getByRole('row').nth(1).textContent();
    await page.getByRole('button', { name: 'Sort by balance, descending' }).click();
    await expect.poll(firstRow).toContain(nameOf(richest));
    expect(await table.getByRole('columnheader', { name: /^Sort by balance/ }).getAttribute('aria-sort')).toBe('descending');
    await page.getByRole('button', { name: 'Sort by name, ascending' }).click();
    await expect.poll(firstRow).toContain(byName[0]);
    await page.getByRole('button', { name: 'Sort by name, descending' }).click();
    await expect.poll(firstRow).toContain(byName[byName.length - 1]);
    await expectAccessible();

    await page.getByLabel('Search', { exact: true }).fill('crowd');
    await expect.poll(() => page.getByTestId('customer-count').textContent()).toBe('60 customers matching these filters');
    await expect.poll(() => table.getByRole('row').count()).toBe(51);
    await page.getByLabel('Select this page').check();
    await page.getByRole('button', { name: 'Select all 60 customers matching these filters' }).click();
    await page.getByText('All 60 customers matching these filters are selected.').waitFor();
    await expectAccessible();
    await page.getByRole('button', { name: 'Bulk adjust 60 customers' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Points per customer').fill('7');
    await dialog.getByLabel('Reason (internal)').fill('Crowd welcome');
    await dialog.getByRole('button', { name: 'Review' }).click();
    await expect.poll(() => dialog.getByRole('list', { name: 'Dry run' }).textContent()).toContain('Customers in the selection: 60');
    await dialog.getByRole('button', { name: 'Apply to 60 customers' }).click();
    await expect.poll(() => page.getByTestId('job-status').textContent(), { timeout: 20_000 }).toBe('completed');
    const crowd = (await server.app.inject({ method: 'GET', url: '/v1/customers?search=crowd&limit=500', cookies: await cookies() })).json().data as { balance: number }[];
    expect(crowd.map((c) => c.balance)).toEqual(Array(60).fill(7));
  });

  it('an agent sees no bulk action nor Change tier (Give reward yes), and the API refuses both with 403 forbidden', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('E-mail').fill('agent@example.com');
    await page.getByLabel('Password').fill(agentPassword);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('table', { name: 'Customers' }).waitFor();
    expect(await page.getByRole('button', { name: /Bulk adjust/ }).count()).toBe(0);
    expect(await page.getByRole('link', { name: 'Settings' }).count()).toBe(0);
    const refused = await page.evaluate(async () => {
      const { csrfToken } = await fetch('/v1/session').then((r) => r.json());
      const r = await fetch('/v1/bulk-adjustments', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': csrfToken },
        body: JSON.stringify({ selection: { all: true }, type: 'adjust', points: 5, reason: 'Not allowed' }),
      });
      return { status: r.status, body: await r.json() };
    });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('forbidden');
    await openAda();
    await page.getByTestId('tier-name').waitFor();
    await page.getByRole('button', { name: 'Give reward' }).waitFor();
    expect(await page.getByRole('button', { name: 'Change tier' }).count()).toBe(0);
    const tierStatus = await page.evaluate(async (id) => {
      const { csrfToken } = await fetch('/v1/session').then((r) => r.json());
      const body = JSON.stringify({ tierId: null, reason: 'Not allowed' });
      return (await fetch(`/v1/customers/${id}/tier`, { method: 'PUT', headers: { 'content-type': 'application/json', 'x-csrf-token': csrfToken }, body })).status;
    }, adaId);
    expect(tierStatus).toBe(403);
  });

  async function csrfToken(): Promise<string> {
    return (await page.evaluate(() => fetch('/v1/session').then((r) => r.json()))).csrfToken as string;
  }

  async function cookies(): Promise<Record<string, string>> {
    return Object.fromEntries((await page.context().cookies()).map((c) => [c.name, c.value]));
  }
});
