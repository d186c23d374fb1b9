// Accessibility basics in every area: each form control has a label, each button a name,
// there is one h1, tabs work with the arrow keys; and a reload keeps the tab's session.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { assertNoConsoleErrors, launch, login, logoutAll, openPage } from '../lib/harness.mjs';

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
  for (const tab of ['Licenses', 'Tenants', 'Phone systems', 'Audit log']) {
    await admin.getByRole('tab', { name: tab }).click();
    await admin.locator('.tab-panel table.data').first().waitFor();
    assert.deepEqual(await unnamed(admin), [], tab);
  }
  await logoutAll(boss, admin);
  assertNoConsoleErrors(boss, admin);
});
