// Tenants are separate in every view: while globex people are busy (a status note, a
// call on the shared hosted PBX, a contact), no acme user — end user or tenant admin —
// ever sees a name, note or number that only globex has.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { apiCall, apiLogin, assertNoConsoleErrors, launch, login, logoutAll, openPage, pageText } from '../lib/harness.mjs';

const GLOBEX_ONLY = ['Globex', 'Gina', 'Marsh', 'Hank', 'Scorpio', 'Ida Berg', 'Jon Fox', 'globex-secret', 'Initech', 'Gibbons', 'Milton', 'Lumbergh', '5550199'];

let browser;
let anna;
let boss;
let globexTokens = [];

function assertNothingOfGlobex(text, where) {
  for (const word of GLOBEX_ONLY) {
    assert.ok(!text.includes(word), `${where} shows "${word}" of another tenant`);
  }
}

before(async () => {
  browser = await launch();
  // Globex is busy: a note, a shared contact, and gina calling hank on the hosted PBX
  // (their extensions 200/201 are the same numbers as anna's and bert's).
  const gina = await apiLogin({ tenant: 'globex', username: 'gina' });
  const globexBoss = await apiLogin({ tenant: 'globex', username: 'boss', client: 'admin' });
  globexTokens = [gina, globexBoss];
  await apiCall('PUT', '/api/v1/me/presence', { token: gina, body: { state: 'busy', note: 'globex-secret note' } });
  await apiCall('POST', '/api/v1/contacts', { token: globexBoss, body: { name: 'Globex Supplier', numbers: [{ label: 'work', number: '+4930 5550199' }] } });
  const call = await apiCall('POST', '/api/v1/calls', { token: gina, body: { to: '201' } });
  assert.equal(call.status, 201, JSON.stringify(call.body));

  anna = await openPage(browser, { name: 'anna' });
  boss = await openPage(browser, { name: 'boss' });
  await login(anna, { tenant: 'acme', username: 'anna' });
  await login(boss, { tenant: 'acme', username: 'boss', client: 'admin' });
});

after(async () => {
  for (const token of globexTokens) await apiCall('POST', '/api/v1/auth/logout', { token });
  await logoutAll(anna, boss);
  await browser?.close();
});

test('an acme user sees nothing of globex in the client: colleagues, calls, history, directory', async () => {
  await anna.locator('.blf-tile', { hasText: 'Bert Meyer' }).waitFor();
  assertNothingOfGlobex(await pageText(anna), 'the UC client');
  await anna.getByRole('tab', { name: 'Directory' }).click();
  await anna.locator('.directory-entry', { hasText: 'Pizza Planet' }).waitFor();
  assertNothingOfGlobex(await pageText(anna), 'the directory');
  await anna.getByLabel('Search the directory').fill('555');
  await anna.getByText(/\d+ entr(y|ies)/).waitFor();
  assertNothingOfGlobex(await pageText(anna), 'a directory search for 555');
  await anna.getByRole('tab', { name: 'History' }).click();
  await anna.locator('.history table').waitFor();
  assertNothingOfGlobex(await pageText(anna), 'the call history');
  assertNoConsoleErrors(anna);
});

test('an acme tenant admin sees nothing of globex in any tab of the console', async () => {
  const tabs = ['Users', 'Devices', 'Sites', 'Contacts', 'License use', 'Audit log'];
  for (const tab of tabs) {
    await boss.getByRole('tab', { name: tab }).click();
    await boss.locator('.tab-panel table.data tbody tr').first().waitFor();
    await boss.waitForFunction(() => !document.querySelector('.panel-body[aria-busy="true"]'));
    assertNothingOfGlobex(await pageText(boss), `the ${tab} tab`);
  }
  assertNoConsoleErrors(boss);
});
