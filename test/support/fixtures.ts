import { expect } from 'vitest';
import type { Database } from '../../src/db/database.js';
import type { Customer } from '../../src/domain/types.js';
import { verifyLedger } from '../../src/ledger/verify.js';
import type { TestStore } from './server.js';

let serial = 0;

/** A customer created through the API, with its starting balance given by an adjustment. */
export async function aCustomer(
  store: TestStore,
  opts: { balance?: number; email?: string; externalId?: string; firstName?: string; lastName?: string } = {},
): Promise<Customer> {
  serial += 1;
  const { balance = 0, ...fields } = opts;
  const created = await store.api('POST', '/v1/customers', { externalId: `ext-${process.pid}-${serial}`, ...fields });
  expect(created.status, created.text).toBe(201);
  if (balance === 0) return created.body;
  const adjusted = await store.api('POST', `/v1/customers/${created.body.id}/adjustments`, {
    points: balance,
    reason: 'Opening balance',
  });
  expect(adjusted.status, adjusted.text).toBe(201);
  return adjusted.body.customer;
}

/** balance = Σ points, lifetime = Σ tier points, running balance never negative, … */
export async function assertLedgerInvariants(database: Database, storeId?: number): Promise<void> {
  const report = await verifyLedger(database.db, storeId);
  expect(report.violations).toEqual([]);
}

/**
 * Rate-limit windows are calendar minutes: a test that counts requests within one waits, when a
 * minute is about to end, until the next has begun (at most ~12 s), so no window ends mid-test.
 */
export async function insideOneMinute(): Promise<void> {
  const second = new Date().getSeconds();
  if (second > 48) await new Promise((r) => setTimeout(r, (61 - second) * 1000));
}
