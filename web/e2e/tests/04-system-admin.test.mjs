// The system admin: loads a license file (issued for this installation's system id with
// the test's vendor key) and sees the pool grow and the use chart move; sets a tenant's
// cap and reservation; sees the phone systems' live link state and the node running them;
// unloads the license.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BINARY, VENDOR_KEY, apiCall, apiLogin, assertNoConsoleErrors, launch, login, logoutAll, openPage, screenshot } from '../lib/harness.mjs';

let browser;
let admin;

before(async () => {
  browser = await launch();
  admin = await openPage(browser, { name: 'admin' });
  await login(admin, { username: 'admin', password: 'demo-admin', client: 'admin' });
});
after(async () => {
  await logoutAll(admin);
  await browser?.close();
});

const poolCell = (type, column) => admin.locator(`table.data tbody tr[data-key="${type}"] td.${column}`);

test('loading a license file grows the pool; the chart follows license use', async () => {
  assert.ok(BINARY && VENDOR_KEY, 'UCPLUS_BIN and UCPLUS_VENDOR_KEY come from run.sh');
  await admin.getByRole('tab', { name: 'Licenses' }).click();
  const systemId = (await admin.locator('.system-id').innerText()).trim();
  const before = Number(await poolCell('desktop', 'pool-total').innerText());

  const dir = mkdtempSync(join(tmpdir(), 'ucplus-e2e-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'extra.lic');
  execFileSync(BINARY, ['license', 'issue', '--key', VENDOR_KEY, '--system-id', systemId,
    '--item', 'desktop=7', '--item', 'attendant=2', '--customer', 'E2E Hosting', '--out', file]);
  await admin.getByLabel('License file').setInputFiles(file);
  await admin.getByRole('button', { name: 'Load license', exact: true }).click();
  await admin.getByText('License loaded: attendant × 2, desktop × 7.').waitFor();
  await admin.locator('table.data tbody tr', { hasText: 'E2E Hosting' }).waitFor();
  await admin.waitForFunction(
    ([expected]) => document.querySelector('tr[data-key="desktop"] td.pool-total')?.textContent === String(expected),
    [before + 7],
  );

  // Two desktop clients log in: the chart's desktop line rises within a poll or two.
  const inUse = Number(await poolCell('desktop', 'pool-in-use').innerText());
  const tokens = [await apiLogin({ tenant: 'initech', username: 'peter' }), await apiLogin({ tenant: 'initech', username: 'milton' })];
  await admin.locator('.legend li', { hasText: `desktop: ${inUse + 2}` }).waitFor({ timeout: 15000 });
  assert.ok(await admin.locator('svg.chart path[data-series="desktop"]').count() === 1);
  await admin.locator('.chart-box').scrollIntoViewIfNeeded();
  await screenshot(admin, 'system-licenses', { fullPage: true });
  for (const token of tokens) await apiCall('POST', '/api/v1/auth/logout', { token });

  // Loading the same file again is refused with its code.
  await admin.getByLabel('License file').setInputFiles(file);
  admin.allowConsoleError(/status of 409/);
  await admin.getByRole('button', { name: 'Load license', exact: true }).click();
  await admin.getByText('(duplicate_license)').waitFor();
  assertNoConsoleErrors(admin);
});

test("a tenant's cap and reservation", async () => {
  await admin.getByRole('tab', { name: 'Tenants' }).click();
  await admin.getByRole('button', { name: 'Limits of Initech' }).click();
  const dialog = admin.getByRole('dialog', { name: 'Limits of Initech' });
  await dialog.getByLabel('desktop: reserved').fill('1000');
  admin.allowConsoleError(/status of 409/);
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.getByText('(reservations_exceed_pool)').waitFor();
  await dialog.getByLabel('desktop: cap').fill('5');
  await dialog.getByLabel('desktop: reserved').fill('2');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.waitFor({ state: 'detached' });
  await admin.locator('tr', { hasText: 'Initech' }).getByText('desktop: cap 5, reserved 2').waitFor();
  assertNoConsoleErrors(admin);
});

test('phone systems with their live link state', async () => {
  await admin.getByRole('tab', { name: 'Phone systems' }).click();
  for (const name of ['Hosted PBX', 'Initech PBX']) {
    await admin.locator('tr', { hasText: name }).locator('.badge.link-up').waitFor();
  }
  assertNoConsoleErrors(admin);
});

test('the nodes: this one, active, running the phone-system links', async () => {
  await admin.getByRole('tab', { name: 'Nodes' }).click();
  const row = admin.locator('table.data tbody tr', { hasText: '(this one)' });
  await row.locator('.badge.link-up', { hasText: 'Active' }).waitFor();
  for (const name of ['Hosted PBX', 'Initech PBX']) {
    await row.locator('td.node-links li', { hasText: `${name}: up` }).waitFor();
  }
  // The same node name as the phone systems' links show.
  const node = (await row.locator('strong').innerText()).trim();
  await admin.getByRole('tab', { name: 'Phone systems' }).click();
  await admin.locator('tr', { hasText: 'Hosted PBX' }).locator('.link-node', { hasText: `on ${node}` }).waitFor();
  assertNoConsoleErrors(admin);
});

test('unloading the license shrinks the pool again', async () => {
  await admin.getByRole('tab', { name: 'Licenses' }).click();
  const before = Number(await poolCell('desktop', 'pool-total').innerText());
  await admin.locator('tr', { hasText: 'E2E Hosting' }).getByRole('button', { name: /^Unload/ }).click();
  await admin.getByRole('alertdialog').getByRole('button', { name: 'Unload' }).click();
  await admin.getByText('The license was unloaded.').waitFor();
  await admin.waitForFunction(
    ([expected]) => document.querySelector('tr[data-key="desktop"] td.pool-total')?.textContent === String(expected),
    [before - 7],
  );
  assertNoConsoleErrors(admin);
});
