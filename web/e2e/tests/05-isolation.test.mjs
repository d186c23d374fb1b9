// Tenants are separate in every view: while globex people are busy (a status note, a
// call on the shared hosted PBX, a contact), no acme user — end user or tenant admin —
// ever sees a name, note or number that only globex has. That globex's own people do see
// all of it (in the API and in the same views of their client) is checked first, so a
// leak would be found.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { apiCall, apiLogin, assertNoConsoleErrors, launch, login, logoutAll, openPage, pageText } from '../lib/harness.mjs';

const GLOBEX_ONLY = ['Globex', 'Gina', 'Marsh', 'Hank', 'Scorpio', 'Ida Berg', 'Jon Fox', 'globex-secret', 'Initech', 'Gibbons', 'Milton', 'Lumbergh', '5550199'];

let browser;
let anna;
let boss;
let hank;
let globex;

function assertNothingOfGlobex(text, where) {
  for (const word of GLOBEX_ONLY) {
    assert.ok(!text.includes(word), `${where} shows "${word}" of another tenant`);
  }
}

/** Asserts an API answer's status, naming the step and showing the body when it is wrong. */
function expectStatus(answer, status, step) {
  assert.equal(answer.status, status, `${step}: ${JSON.stringify(answer.body)}`);
  return answer.body;
}

/** Polls a GET as `token` until `accept(body)`; bounded, says what it waited for. */
async function waitForApi(path, token, accept, what, timeout = 10000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const body = expectStatus(await apiCall('GET', path, { token }), 200, `GET ${path}`);
    if (accept(body)) return body;
    assert.ok(Date.now() < deadline, `${what}: not within ${timeout} ms; last answer: ${JSON.stringify(body)}`);
    await new Promise((resolve) => { setTimeout(resolve, 100); });
  }
}

/** Globex's ringing call as its two people see it through the API (empty while it is not so). */
async function globexCall() {
  const [fromGina, toHank] = await Promise.all([
    apiCall('GET', '/api/v1/calls', { token: globex.gina }),
    apiCall('GET', '/api/v1/calls', { token: globex.hank }),
  ]);
  expectStatus(fromGina, 200, "gina's calls");
  expectStatus(toHank, 200, "hank's calls");
  return {
    outgoing: fromGina.body.find((c) => c.direction === 'outgoing' && c.other?.number === '201'),
    incoming: toHank.body.find((c) => c.direction === 'incoming' && c.other?.name === 'Gina Marsh' && c.other?.number === '200'),
  };
}

before(async () => {
  browser = await launch();
  // Globex is busy: a note, a shared contact, and gina calling hank on the hosted PBX
  // (their extensions 200/201 are the same numbers as anna's and bert's).
  globex = {
    gina: await apiLogin({ tenant: 'globex', username: 'gina' }),
    hank: await apiLogin({ tenant: 'globex', username: 'hank' }),
    boss: await apiLogin({ tenant: 'globex', username: 'boss', client: 'admin' }),
  };
  expectStatus(await apiCall('PUT', '/api/v1/me/presence', { token: globex.gina, body: { state: 'busy', note: 'globex-secret note' } }), 200, "gina's status note");
  expectStatus(await apiCall('POST', '/api/v1/contacts', { token: globex.boss, body: { name: 'Globex Supplier', numbers: [{ label: 'work', number: '+4930 5550199' }] } }), 201, "globex's contact");
  expectStatus(await apiCall('POST', '/api/v1/calls', { token: globex.gina, body: { to: '201' } }), 201, "gina's call to hank");

  // All of it is there for globex itself: otherwise "acme sees nothing" would prove nothing.
  await waitForApi('/api/v1/presence', globex.hank,
    (people) => people.some((p) => p.display_name === 'Gina Marsh' && p.state === 'busy' && p.note === 'globex-secret note'),
    "hank sees gina's note");
  await waitForApi('/api/v1/directory?q=555', globex.gina,
    (entries) => entries.some((e) => e.name === 'Globex Supplier' && e.numbers.some((n) => n.number.includes('5550199'))),
    'globex finds its contact');
  const call = await globexCall();
  assert.ok(call.outgoing, 'gina has her call to 201');
  await waitForApi('/api/v1/calls', globex.hank,
    (calls) => calls.some((c) => c.direction === 'incoming' && c.other?.name === 'Gina Marsh' && c.state === 'ringing'),
    "hank's phone rings with gina's call");

  anna = await openPage(browser, { name: 'anna' });
  boss = await openPage(browser, { name: 'boss' });
  hank = await openPage(browser, { name: 'hank' });
  await login(anna, { tenant: 'acme', username: 'anna' });
  await login(boss, { tenant: 'acme', username: 'boss', client: 'admin' });
  await login(hank, { tenant: 'globex', username: 'hank' });
});

after(async () => {
  for (const token of Object.values(globex ?? {})) await apiCall('POST', '/api/v1/auth/logout', { token });
  await logoutAll(anna, boss, hank);
  await browser?.close();
});

test("globex's own client shows what acme must not see: the note, the call, the contact", async () => {
  // The same views and words the acme checks below look for, so they can find a leak.
  await hank.locator('.blf-tile', { hasText: 'Gina Marsh' }).filter({ hasText: 'globex-secret note' }).waitFor();
  await hank.locator('.call.incoming-notice', { hasText: 'Gina Marsh' }).waitFor();
  await hank.getByRole('tab', { name: 'Directory' }).click();
  await hank.getByLabel('Search the directory').fill('555');
  await hank.locator('.directory-entry', { hasText: 'Globex Supplier' }).waitFor();
  assert.match(await pageText(hank), /5550199/);
  assertNoConsoleErrors(hank);
});

test('an acme user sees nothing of globex in the client: colleagues, calls, history, directory', async () => {
  await anna.locator('.blf-tile', { hasText: 'Bert Meyer' }).waitFor();
  assertNothingOfGlobex(await pageText(anna), 'the UC client');
  // Globex's extension 201 rings; acme's 201 (bert) does not, and anna has no call.
  assert.equal(await anna.locator('.blf-tile[data-phone="ringing"]').count(), 0, 'a phone rings in acme');
  assert.equal(await anna.locator('.call').count(), 0, 'anna has a call');
  await anna.getByRole('tab', { name: 'Directory' }).click();
  await anna.locator('.directory-entry', { hasText: 'Pizza Planet' }).waitFor();
  assertNothingOfGlobex(await pageText(anna), 'the directory');
  await anna.getByLabel('Search the directory').fill('555');
  // The search has answered when every entry shown has 555 in it (acme's own contacts do).
  await anna.waitForFunction(() => {
    const entries = [...document.querySelectorAll('.directory-entry')];
    return entries.length > 0 && entries.every((entry) => entry.textContent.replace(/\s/g, '').includes('555'));
  });
  assertNothingOfGlobex(await pageText(anna), 'a directory search for 555');
  await anna.getByRole('tab', { name: 'History' }).click();
  await anna.locator('.history table').waitFor();
  assertNothingOfGlobex(await pageText(anna), 'the call history');
  const call = await globexCall();
  assert.ok(call.outgoing && call.incoming, "globex's call lasted through the checks");
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
  // Globex's admin meanwhile sees its own contact in the same tab.
  const contacts = expectStatus(await apiCall('GET', '/api/v1/contacts', { token: globex.boss }), 200, "globex's contacts");
  assert.ok(contacts.some((c) => c.name === 'Globex Supplier'), JSON.stringify(contacts));
  assertNoConsoleErrors(boss);
});
