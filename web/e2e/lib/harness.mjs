// What every end-to-end test needs: Debian's headless chromium through playwright-core,
// pages that record console errors (a test fails on any it did not expect), logging in
// through the login form, screenshots, the server's API for setting things up, and the
// accessibility checks (axe-core's WCAG 2 A/AA rules, a visible keyboard focus).

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
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
export async function openPage(browser, { name, viewport = DESKTOP, permissions = [], bypassCSP = false } = {}) {
  const context = await browser.newContext({ viewport, permissions, baseURL: BASE, bypassCSP });
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

/** axe-core's browser script, from node_modules (run.sh checks it is installed). */
const AXE_SCRIPT = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/** The WCAG 2.0/2.1/2.2 level A and AA rules of axe-core (color-contrast among them). */
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

/**
 * Runs axe-core's WCAG A/AA rules on the page as it is now. The page must come from
 * `openPage(browser, {bypassCSP: true})`: the server's Content-Security-Policy (rightly)
 * refuses the injected script otherwise. `known`: violations known today, each
 * `{rule, selector, why}`; a node that matches one (its rule, and the element matches the
 * CSS selector) is counted for it instead of being reported. Answers:
 * - `violations`: the others, each with its rule, impact, and every node's selector, HTML
 *   and axe's summary (colours and ratio for color-contrast);
 * - `knownSeen`: how many nodes each `known` entry matched;
 * - `ran`: the rules that applied to something on the page;
 * - `contrastUnsure`: the elements whose contrast axe could not decide (e.g. text over an
 *   image), for the record.
 */
export async function axeCheck(page, { known = [] } = {}) {
  if (!await page.evaluate(() => typeof window.axe === 'object')) await page.addScriptTag({ path: AXE_SCRIPT });
  return page.evaluate(async ([tags, knownList]) => {
    const result = await window.axe.run(document, { runOnly: { type: 'tag', values: tags }, elementRef: true });
    const knownSeen = knownList.map(() => 0);
    const violations = [];
    for (const rule of result.violations) {
      const nodes = [];
      for (const node of rule.nodes) {
        const index = knownList.findIndex((k) => k.rule === rule.id && node.element?.matches(k.selector));
        if (index >= 0) knownSeen[index] += 1;
        else nodes.push({ target: node.target.join(' '), html: node.html.slice(0, 200), summary: node.failureSummary });
      }
      if (nodes.length) violations.push({ rule: rule.id, impact: rule.impact, help: rule.help, nodes });
    }
    const contrastUnsure = result.incomplete.filter((rule) => rule.id === 'color-contrast')
      .flatMap((rule) => rule.nodes.map((node) => `${node.target.join(' ')}: ${node.any.map((check) => check.message).join('; ')}`));
    return {
      violations,
      knownSeen,
      ran: [...new Set([...result.passes, ...result.violations, ...result.incomplete].map((rule) => rule.id))],
      contrastUnsure,
    };
  }, [AXE_TAGS, known]);
}

/**
 * Fails, listing each rule, element and why, when axe finds a WCAG A/AA violation that is
 * not in `known`; fails too when a `known` entry matched nothing (fixed: remove it).
 */
export async function assertNoAxeViolations(page, where, { known = [] } = {}) {
  const { violations, knownSeen, ran } = await axeCheck(page, { known });
  assert.ok(ran.includes('color-contrast'), `${where}: axe checked no text contrast (rules run: ${ran.join(', ')})`);
  const described = violations.flatMap((v) => v.nodes.map((n) => `  ${v.rule} (${v.impact}) at ${n.target}: ${n.summary.replace(/\s+/g, ' ')}\n    ${n.html}`));
  assert.deepEqual(violations.map((v) => v.rule), [], `${where}: WCAG violations found by axe:\n${described.join('\n')}`);
  const gone = known.filter((k, index) => knownSeen[index] === 0);
  assert.deepEqual(gone, [], `${where}: known violations no longer found (fixed? then remove them from the list)`);
}

/**
 * Walks the page with the Tab key (up to `presses` times, or until focus comes round
 * again) and checks that each element that takes focus shows it: its computed outline or
 * box-shadow while focused must differ from its own look without focus, and an outline
 * must be at least 2px wide with a colour that is not transparent. Answers
 * `{visited, problems}` as readable descriptions.
 */
export async function focusWalk(page, { presses = 60 } = {}) {
  // The look of every element that can take focus, while none of them has it.
  await page.evaluate(() => {
    document.activeElement?.blur?.();
    const look = (element) => {
      const style = getComputedStyle(element);
      return { outlineStyle: style.outlineStyle, outlineWidth: style.outlineWidth, outlineColor: style.outlineColor, boxShadow: style.boxShadow };
    };
    window.focusLook = look;
    window.focusWalkSeen = new WeakSet();
    window.unfocusedLooks = new Map();
    const selector = 'a[href], button, input, select, textarea, summary, [tabindex]';
    for (const element of document.querySelectorAll(selector)) window.unfocusedLooks.set(element, look(element));
  });
  const visited = [];
  const problems = [];
  for (let press = 0; press < presses; press += 1) {
    await page.keyboard.press('Tab');
    const step = await page.evaluate(() => {
      const element = document.activeElement;
      if (!element || element === document.body) return null;
      if (window.focusWalkSeen.has(element)) return { again: true };
      window.focusWalkSeen.add(element);
      const name = (element.getAttribute('aria-label') || element.labels?.[0]?.textContent || element.textContent || element.name || '').trim().replace(/\s+/g, ' ').slice(0, 40);
      const what = `${element.tagName.toLowerCase()}${element.id ? `#${element.id}` : ''} "${name}"`;
      const focused = window.focusLook(element);
      const before = window.unfocusedLooks.get(element);
      const transparent = /rgba\(.*,\s*0\)$/.test(focused.outlineColor) || focused.outlineColor === 'transparent';
      const outline = focused.outlineStyle !== 'none' && parseFloat(focused.outlineWidth) >= 2 && !transparent
        && (!before || before.outlineStyle === 'none' || before.outlineWidth !== focused.outlineWidth || before.outlineColor !== focused.outlineColor);
      const shadow = focused.boxShadow !== 'none' && (!before || before.boxShadow !== focused.boxShadow);
      return { what, visible: outline || shadow, focused, before: before ?? null };
    });
    if (!step) continue;
    if (step.again) break;
    visited.push(step.what);
    if (!step.visible) problems.push(`${step.what}: no visible focus (focused ${JSON.stringify(step.focused)}, unfocused ${JSON.stringify(step.before)})`);
  }
  return { visited, problems };
}

/** Fails unless at least `atLeast` elements took focus from the Tab key, each visibly. */
export async function assertFocusVisible(page, where, { atLeast = 3, presses } = {}) {
  const { visited, problems } = await focusWalk(page, { presses });
  assert.ok(visited.length >= atLeast, `${where}: the Tab key reached only ${visited.length} element(s): ${visited.join(', ')}`);
  assert.deepEqual(problems, [], `${where}: focus not visible:\n${problems.join('\n')}`);
  return visited;
}
