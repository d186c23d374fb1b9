// The tenant admin: creates a user who can then log in, gives them a phone, imports
// directory contacts from CSV, reads license use and the audit log; deleting the user
// ends their session, and their client goes back to the login page.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { assertNoConsoleErrors, launch, login, logoutAll, openPage, screenshot } from '../lib/harness.mjs';

let browser;
let boss;
let zoe;

before(async () => {
  browser = await launch();
  boss = await openPage(browser, { name: 'boss' });
  await login(boss, { tenant: 'acme', username: 'boss', client: 'admin' });
});
after(async () => {
  await logoutAll(boss);
  await browser?.close();
});

const row = (page, text) => page.locator('table.data tbody tr', { hasText: text });

test('the tenant admin creates a user, who can then log in', async () => {
  await boss.getByRole('tab', { name: 'Users' }).click();
  await row(boss, 'Anna Schmidt').waitFor();
  await boss.getByRole('button', { name: 'Add user' }).click();
  const dialog = boss.getByRole('dialog', { name: 'Add user' });
  await dialog.getByLabel('Username').fill('zoe');
  await dialog.getByLabel('Display name').fill('Zoe Park');
  await dialog.getByLabel('Password').fill('short');
  await dialog.getByRole('checkbox', { name: 'mobile' }).check();
  boss.allowConsoleError(/status of 400/);
  await dialog.getByRole('button', { name: 'Add user' }).click();
  await dialog.getByText('must be at least 8 characters').waitFor();
  await dialog.getByLabel('Password').fill('zoe-password-1');
  await dialog.getByRole('button', { name: 'Add user' }).click();
  await dialog.waitFor({ state: 'detached' });
  await row(boss, 'Zoe Park').waitFor();
  assert.match(await row(boss, 'Zoe Park').innerText(), /desktop[\s\S]*mobile/);
  await screenshot(boss, 'tenant-admin-users');

  // Give zoe extension 205.
  await boss.getByRole('tab', { name: 'Devices' }).click();
  await boss.getByRole('button', { name: 'Edit device 205' }).click();
  const edit = boss.getByRole('dialog', { name: 'Edit device 205' });
  await edit.getByLabel('Name').fill('Zoe’s desk phone');
  await edit.getByLabel('User').selectOption({ label: 'Zoe Park (zoe)' });
  await edit.getByRole('button', { name: 'Save' }).click();
  await row(boss, 'Zoe Park').waitFor();

  zoe = await openPage(browser, { name: 'zoe' });
  await login(zoe, { tenant: 'acme', username: 'zoe', password: 'zoe-password-1' });
  await zoe.getByRole('heading', { name: 'Zoe Park' }).waitFor();
  await zoe.locator('.my-phone', { hasText: '205' }).waitFor();
  await zoe.locator('.blf-tile', { hasText: 'Anna Schmidt' }).waitFor();
  assertNoConsoleErrors(boss, zoe);
});

test('contacts import from CSV with a per-row error report; the directory finds them', async () => {
  await boss.getByRole('tab', { name: 'Contacts' }).click();
  await row(boss, 'Pizza Planet').waitFor();
  await boss.getByRole('button', { name: 'Import CSV' }).click();
  await boss.getByLabel('CSV file').setInputFiles({
    name: 'contacts.csv',
    mimeType: 'text/csv',
    buffer: Buffer.from('name,company,phone,mobile\n"Kraus, Karl",Kraus GmbH,+49 30 555 0101,\n,No Name Ltd,+49 30 555 0102,\nLena Lang,,+49 30 555 0103,0171 5550104\nBad Number,,call me,\n'),
  });
  await boss.getByRole('button', { name: 'Import', exact: true }).click();
  await boss.getByText('Imported 2 contacts; 2 rows could not be imported.').waitFor();
  const report = boss.locator('.import-report table');
  assert.match(await report.innerText(), /3\s+name/);
  assert.match(await report.innerText(), /5\s+numbers\[0\] must be a phone number/);
  assert.equal(await boss.locator('.import progress').getAttribute('value'), '1');
  await row(boss, 'Kraus, Karl').waitFor();
  await row(boss, 'Lena Lang').waitFor();

  await zoe.getByRole('tab', { name: 'Directory' }).click();
  await zoe.getByLabel('Search the directory').fill('lang');
  await zoe.locator('.directory-entry', { hasText: 'Lena Lang' }).waitFor();
  assert.match(await zoe.locator('.directory-entry', { hasText: 'Lena Lang' }).innerText(), /mobile: 01715550104/);
  assertNoConsoleErrors(boss, zoe);
});

test('license use and the audit log', async () => {
  await boss.getByRole('tab', { name: 'License use' }).click();
  const desktop = row(boss, 'desktop');
  await desktop.waitFor();
  assert.ok(Number((await desktop.locator('td').nth(1).innerText()).trim()) >= 1, 'zoe holds a desktop license');
  await boss.getByRole('tab', { name: 'Audit log' }).click();
  await row(boss, 'user.create').first().waitFor();
  await row(boss, 'contact.import').first().waitFor();
  assertNoConsoleErrors(boss, zoe);
});

test("deleting the user ends their session: zoe's client returns to the login page", async () => {
  await boss.getByRole('tab', { name: 'Users' }).click();
  await boss.getByRole('button', { name: 'Delete zoe' }).click();
  await boss.getByRole('alertdialog').getByRole('button', { name: 'Delete' }).click();
  await row(boss, 'Zoe Park').waitFor({ state: 'detached' });
  await zoe.getByRole('heading', { name: 'Sign in to ucplus' }).waitFor({ timeout: 10000 });
  await zoe.getByText('Your session has ended. Please log in again.').waitFor();
  assert.equal(new URL(zoe.url()).pathname, '/');
  assertNoConsoleErrors(boss, zoe);
});
