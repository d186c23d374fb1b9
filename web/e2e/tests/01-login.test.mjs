// The page is served by ucplus itself without hiding the API, and the login form shows
// the API's refusal in words and code.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BASE, assertNoConsoleErrors, launch, openPage, logoutAll, screenshot } from '../lib/harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('the server answers the page at / and client routes, and keeps /api, /healthz and /metrics', async () => {
  for (const path of ['/', '/app', '/admin/users', '/system']) {
    const response = await fetch(new URL(path, BASE));
    assert.equal(response.status, 200, path);
    assert.match(response.headers.get('content-type'), /^text\/html/, path);
    assert.equal(response.headers.get('cache-control'), 'no-cache');
  }
  const script = await fetch(new URL('/js/main.js', BASE));
  assert.match(script.headers.get('content-type'), /^text\/javascript/);
  const api = await fetch(new URL('/api/v1/no-such-thing', BASE));
  assert.equal(api.status, 404);
  assert.equal((await api.json()).error.code, 'not_found');
  assert.equal((await fetch(new URL('/healthz', BASE))).status, 200);
  assert.match(await (await fetch(new URL('/metrics', BASE))).text(), /ucplus_/);
  const openapi = await (await fetch(new URL('/api/openapi.json', BASE))).json();
  assert.ok(openapi.paths['/api/v1/calls']);
});

test('a wrong password shows the API error; a deep link leads to login and then on', async () => {
  const page = await openPage(browser, { name: 'visitor' });
  await page.goto('/admin/users');
  await page.getByRole('heading', { name: 'Sign in to ucplus' }).waitFor();
  await screenshot(page, 'login');
  await page.getByLabel('Tenant').fill('acme');
  await page.getByLabel('Username').fill('anna');
  await page.getByLabel('Password').fill('not-her-password');
  page.allowConsoleError(/status of 401/);
  await page.getByRole('button', { name: 'Sign in' }).click();
  const error = page.getByRole('alert');
  await error.waitFor();
  assert.match(await error.innerText(), /unknown tenant, username or password \(invalid_credentials\)/);
  assert.equal(await page.evaluate(() => document.activeElement.name), 'password',
    'the password is selected for another try (the alert is read out by itself)');

  // The system admin may not take a client license: the refusal names its code.
  await page.getByLabel('Tenant').fill('');
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill('demo-admin');
  page.allowConsoleError(/status of 403/);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('(license_not_assigned)').waitFor();

  await page.getByLabel('Tenant').fill('acme');
  await page.getByLabel('Username').fill('boss');
  await page.getByLabel('Password').fill('demo1234');
  await page.getByLabel('Client').selectOption('admin');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('tab', { name: 'Users', selected: true }).waitFor();
  assert.match(page.url(), /\/admin\/users$/, 'the deep link is kept through the login');
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByRole('heading', { name: 'Sign in to ucplus' }).waitFor();
  assertNoConsoleErrors(page);
});

test('the login form works with the keyboard alone', async () => {
  const page = await openPage(browser, { name: 'keyboard' });
  await page.goto('/');
  await page.getByLabel('Tenant').focus();
  await page.keyboard.type('acme');
  await page.keyboard.press('Tab');
  await page.keyboard.type('eva');
  await page.keyboard.press('Tab');
  await page.keyboard.type('demo1234');
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/app$/);
  await page.getByRole('heading', { name: 'Eva Novak' }).waitFor();
  await logoutAll(page);
  assertNoConsoleErrors(page);
});
