// What every end-to-end test needs: Debian's headless chromium through playwright-core,
// pages that record console errors (a test fails on any it did not expect), logging in
// through the login form, screenshots, and the server's API for setting things up.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const BASE = process.env.UCPLUS_URL;
export const BINARY = process.env.UCPLUS_BIN;
export const VENDOR_KEY = process.env.UCPLUS_VENDOR_KEY;
const SCREENSHOTS = process.env.UCPLUS_SCREENSHOTS;
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

if (!BASE) throw new Error('UCPLUS_URL is not set: run the tests with web/e2e/run.sh');

export const DESKTOP = { width: 1400, height: 900 };
export const PHONE = { width: 390, height: 844 };

/**
 * Starts chromium. Playwright gives each launch a fresh temporary profile (it passes its
 * own --user-data-dir), so no state leaks between runs.
 */
export function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
}

/**
 * A page in a new browser context (its own cookies and storage: another person) that
 * records console errors and uncaught exceptions. `allowConsoleError(pattern)` lets one
 * expected error through (e.g. the 401 of a deliberately wrong password).
 */
export async function openPage(browser, { name, viewport = DESKTOP, permissions = [] } = {}) {
  const context = await browser.newContext({ viewport, permissions, baseURL: BASE });
  context.setDefaultTimeout(10000);
  const page = await context.newPage();
  const problems = [];
  const allowed = [];
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const text = message.text();
    const index = allowed.findIndex((pattern) => pattern.test(text));
    if (index >= 0) allowed.splice(index, 1);
    else problems.push(`${name}: console error: ${text}`);
  });
  page.on('pageerror', (error) => problems.push(`${name}: uncaught exception: ${error.message}`));
  page.allowConsoleError = (pattern) => allowed.push(pattern);
  page.consoleProblems = problems;
  page.userName = name;
  return page;
}

/** Fails when any page recorded a console error or exception. */
export function assertNoConsoleErrors(...pages) {
  const problems = pages.flatMap((page) => page.consoleProblems);
  assert.deepEqual(problems, [], `console errors:\n${problems.join('\n')}`);
}

/**
 * Logs in through the form; waits for the view the session belongs to (for a client, until
 * its connection banner is in state `connection`: `connected`, or e.g. `link-down`).
 */
export async function login(page, { tenant = '', username, password = 'demo1234', client = 'desktop', connection = 'connected' }) {
  await page.goto('/');
  await page.getByLabel('Tenant').fill(tenant);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByLabel('Client').selectOption(client);
  await page.getByRole('button', { name: 'Sign in' }).click();
  if (client === 'admin') {
    await page.waitForURL(tenant ? /\/admin/ : /\/system/);
  } else {
    await page.waitForURL(/\/app/);
    await page.locator(`.connection[data-state="${connection}"]`).waitFor();
  }
}

/** Logs the pages out (returning their licenses at once), where they are logged in. */
export async function logoutAll(...pages) {
  for (const page of pages) {
    const button = page?.getByRole('button', { name: 'Log out' });
    if (button && await button.count()) {
      await button.click();
      await page.getByRole('heading', { name: 'Sign in to ucplus' }).waitFor();
    }
  }
}

/** Saves a screenshot as `NAME.png` when UCPLUS_SCREENSHOTS names a folder. */
export async function screenshot(page, name, options = {}) {
  if (!SCREENSHOTS) return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), ...options });
}

/** A JSON API call from the test itself (setting up, or checking what the UI did). */
export async function apiCall(method, path, { token, body } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(new URL(path, BASE), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/** A token of `username` for API calls from the test. */
export async function apiLogin({ tenant = null, username, password = 'demo1234', client = 'desktop' }) {
  const answer = await apiCall('POST', '/api/v1/auth/login', { body: { tenant, username, password, client } });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body.token;
}

/** The visible text of the whole page. */
export function pageText(page) {
  return page.evaluate(() => document.body.innerText);
}
