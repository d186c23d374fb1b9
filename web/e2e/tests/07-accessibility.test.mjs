// Accessibility in every area: each form control has a label, each button a name, there
// is one h1, tabs work with the arrow keys, and a reload keeps the tab's session; axe-core
// finds no WCAG 2 A/AA violation (AA text contrast among them) on the login page, the UC
// client, the tenant console and the system console, also with an error, a call or a
// dialog showing; and the keyboard focus is visible on everything the Tab key reaches.
// First of all, both checks are shown to fail on a page broken on purpose.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  apiCall, apiLogin, assertFocusVisible, assertNoAxeViolations, assertNoConsoleErrors, axeCheck,
  focusWalk, launch, login, logoutAll, openPage,
} from '../lib/harness.mjs';

/**
 * Violations axe finds today that are allowed, each only for its rule and kind of element
 * in the views that have it: none. (A listed one that is no longer found fails the test.)
 */
const CLIENT_KNOWN = [];

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** Controls without a label and buttons without a name, described for the failure message. */
function unnamed(page) {
  return page.evaluate(() => {
    const problems = [];
    for (const control of document.querySelectorAll('input, select, textarea')) {
      const labelled = control.labels?.length || control.getAttribute('aria-label') || control.getAttribute('aria-labelledby');
      if (!labelled && control.type !== 'hidden') problems.push(`${control.tagName.toLowerCase()}[name=${control.name}] has no label`);
    }
    for (const button of document.querySelectorAll('button')) {
      if (!(button.textContent.trim() || button.getAttribute('aria-label'))) problems.push(`a button has no name: ${button.outerHTML.slice(0, 80)}`);
    }
    const h1 = document.querySelectorAll('h1').length;
    if (h1 !== 1) problems.push(`${h1} h1 headings`);
    return problems;
  });
}

test('the UC client: labels and names, and a reload keeps the session', async () => {
  const page = await openPage(browser, { name: 'dieter' });
  await login(page, { tenant: 'acme', username: 'dieter' });
  await page.locator('.blf-tile').first().waitFor();
  assert.deepEqual(await unnamed(page), []);
  await page.getByRole('tab', { name: 'Directory' }).click();
  await page.locator('.directory-entry').first().waitFor();
  assert.deepEqual(await unnamed(page), []);
  await page.reload();
  await page.getByRole('heading', { name: 'Dieter Wolf' }).waitFor();
  await page.locator('.connection[data-state="connected"]').waitFor();
  await logoutAll(page);
  assertNoConsoleErrors(page);
});

test('the consoles: labels and names in every tab and dialog; arrow keys move between tabs', async () => {
  const boss = await openPage(browser, { name: 'boss' });
  await login(boss, { tenant: 'acme', username: 'boss', client: 'admin' });
  await boss.getByRole('tab', { name: 'Users' }).focus();
  for (const tab of ['Devices', 'Sites', 'Contacts', 'License use', 'Audit log']) {
    await boss.keyboard.press('ArrowRight');
    await boss.getByRole('tab', { name: tab, selected: true }).waitFor();
    assert.equal(await boss.evaluate(() => document.activeElement.textContent), tab);
    await boss.locator('.tab-panel table.data').first().waitFor();
    assert.deepEqual(await unnamed(boss), [], tab);
  }
  await boss.getByRole('tab', { name: 'Users' }).click();
  await boss.getByRole('button', { name: 'Add user' }).click();
  assert.deepEqual(await unnamed(boss), [], 'the add-user dialog');
  await boss.keyboard.press('Escape');
  await boss.getByRole('dialog').waitFor({ state: 'detached' });
  assert.equal(await boss.evaluate(() => document.activeElement.textContent), 'Add user', 'focus returns to the opener');

  const admin = await openPage(browser, { name: 'admin' });
  await login(admin, { username: 'admin', password: 'demo-admin', client: 'admin' });
  for (const tab of ['Licenses', 'Tenants', 'Phone systems', 'Nodes', 'Audit log']) {
    await admin.getByRole('tab', { name: tab }).click();
    await admin.locator('.tab-panel table.data').first().waitFor();
    assert.deepEqual(await unnamed(admin), [], tab);
  }
  await logoutAll(boss, admin);
  assertNoConsoleErrors(boss, admin);
});

test('the checks can fail: axe finds poor contrast, the focus walk an invisible focus', async () => {
  const page = await openPage(browser, { name: 'broken-on-purpose', bypassCSP: true });
  await page.goto('/');
  await page.getByRole('heading', { name: 'Sign in to ucplus' }).waitFor();
  await page.addStyleTag({ content: 'label { color: #b0b0b0 !important; } :focus-visible { outline: none !important; }' });
  const { violations } = await axeCheck(page);
  const contrast = violations.find((v) => v.rule === 'color-contrast');
  assert.ok(contrast?.nodes.some((n) => /label/.test(n.html)), `axe reports the pale labels: ${JSON.stringify(violations)}`);
  const { visited, problems } = await focusWalk(page);
  assert.ok(visited.length >= 5 && problems.length === visited.length, `every focus is invisible: ${JSON.stringify({ visited, problems })}`);
  assertNoConsoleErrors(page);
});

test('the login page: no WCAG A/AA violation, also with an error shown; the focus is visible', async () => {
  const page = await openPage(browser, { name: 'visitor', bypassCSP: true });
  await page.goto('/');
  await page.getByRole('heading', { name: 'Sign in to ucplus' }).waitFor();
  await assertNoAxeViolations(page, 'the login page');
  const visited = await assertFocusVisible(page, 'the login page', { atLeast: 5 });
  assert.ok(visited.some((what) => /Sign in/.test(what)), `the Tab key reaches the Sign in button: ${visited.join(', ')}`);

  await page.getByLabel('Tenant').fill('acme');
  await page.getByLabel('Username').fill('anna');
  await page.getByLabel('Password').fill('not-her-password');
  page.allowConsoleError(/status of 401/);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').waitFor();
  await assertNoAxeViolations(page, 'the login page with an error');
  assertNoConsoleErrors(page);
});

test('the UC client: no WCAG A/AA violation with a call ringing, in the directory and the history; the focus is visible', async () => {
  const page = await openPage(browser, { name: 'carla', bypassCSP: true });
  await login(page, { tenant: 'acme', username: 'carla' });
  await page.locator('.blf-tile', { hasText: 'Bert Meyer' }).waitFor();
  await assertNoAxeViolations(page, 'the UC client', { known: CLIENT_KNOWN });
  await assertFocusVisible(page, 'the UC client', { atLeast: 10 });

  // Eva calls carla: the incoming-call notice and eva's busy tile, checked too.
  const eva = await apiLogin({ tenant: 'acme', username: 'eva' });
  const call = await apiCall('POST', '/api/v1/calls', { token: eva, body: { to: '202' } });
  assert.equal(call.status, 201, JSON.stringify(call.body));
  await page.locator('.call.incoming-notice', { hasText: 'Eva Novak' }).waitFor();
  await page.locator('.blf-tile:not([data-phone="idle"])', { hasText: 'Eva Novak' }).waitFor();
  await assertNoAxeViolations(page, 'the UC client with a call ringing', { known: CLIENT_KNOWN });
  await assertFocusVisible(page, 'the UC client with a call ringing', { atLeast: 10 });
  const cleared = await apiCall('POST', `/api/v1/calls/${call.body.id}/clear`, { token: eva });
  assert.equal(cleared.status, 200, JSON.stringify(cleared.body));
  await page.getByText('No active calls').waitFor();
  await apiCall('POST', '/api/v1/auth/logout', { token: eva });

  await page.getByRole('tab', { name: 'Directory' }).click();
  await page.locator('.directory-entry').first().waitFor();
  await assertNoAxeViolations(page, 'the directory', { known: CLIENT_KNOWN });
  await page.getByRole('tab', { name: 'History' }).click();
  await page.locator('.history tbody tr', { hasText: 'Eva Novak' }).waitFor();
  await assertNoAxeViolations(page, 'the call history', { known: CLIENT_KNOWN });
  await logoutAll(page);
  assertNoConsoleErrors(page);
});

test('the tenant console: no WCAG A/AA violation in any tab or the add-user dialog; the focus is visible', async () => {
  const boss = await openPage(browser, { name: 'boss', bypassCSP: true });
  await login(boss, { tenant: 'acme', username: 'boss', client: 'admin' });
  for (const tab of ['Users', 'Devices', 'Sites', 'Contacts', 'License use', 'Audit log']) {
    await boss.getByRole('tab', { name: tab }).click();
    await boss.locator('.tab-panel table.data tbody tr').first().waitFor();
    await boss.waitForFunction(() => !document.querySelector('.panel-body[aria-busy="true"]'));
    await assertNoAxeViolations(boss, `the tenant console's ${tab} tab`);
  }
  await boss.getByRole('tab', { name: 'Users' }).click();
  await boss.locator('.tab-panel table.data tbody tr', { hasText: 'Anna Schmidt' }).waitFor();
  await assertFocusVisible(boss, "the tenant console's Users tab", { atLeast: 10 });

  // The dialog, also with the API's refusal shown at its field.
  await boss.getByRole('button', { name: 'Add user' }).click();
  const dialog = boss.getByRole('dialog', { name: 'Add user' });
  await dialog.getByLabel('Username').fill('xavier');
  await dialog.getByLabel('Display name').fill('Xavier Test');
  await dialog.getByLabel('Password').fill('short');
  boss.allowConsoleError(/status of 400/);
  await dialog.getByRole('button', { name: 'Add user' }).click();
  await dialog.getByText('must be at least 8 characters').waitFor();
  await assertNoAxeViolations(boss, 'the add-user dialog with an error', { known: [] });
  await assertFocusVisible(boss, 'the add-user dialog', { atLeast: 4 });
  await boss.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  await logoutAll(boss);
  assertNoConsoleErrors(boss);
});

test('the system console: no WCAG A/AA violation in any tab; the focus is visible', async () => {
  const admin = await openPage(browser, { name: 'admin', bypassCSP: true });
  await login(admin, { username: 'admin', password: 'demo-admin', client: 'admin' });
  for (const tab of ['Licenses', 'Tenants', 'Phone systems', 'Nodes', 'Audit log']) {
    await admin.getByRole('tab', { name: tab }).click();
    await admin.locator('.tab-panel table.data tbody tr').first().waitFor();
    await admin.waitForFunction(() => !document.querySelector('.panel-body[aria-busy="true"]'));
    if (tab === 'Phone systems') await admin.locator('.badge.link-up').first().waitFor();
    await assertNoAxeViolations(admin, `the system console's ${tab} tab`);
  }
  await admin.getByRole('tab', { name: 'Tenants' }).click();
  await admin.locator('.tab-panel table.data tbody tr', { hasText: 'Initech' }).waitFor();
  await assertFocusVisible(admin, "the system console's Tenants tab", { atLeast: 10 });
  await logoutAll(admin);
  assertNoConsoleErrors(admin);
});
