// End users of one tenant: presence and the busy-lamp field live, a call answered in
// another browser, a blind transfer, hanging up, and both call logs; then hold, tones,
// consultation and conference.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PHONE, assertNoConsoleErrors, launch, login, logoutAll, openPage, screenshot } from '../lib/harness.mjs';

let browser;
let anna;
let bert;
let carla;

before(async () => {
  browser = await launch();
  [anna, bert, carla] = await Promise.all(['anna', 'bert', 'carla'].map((name) => openPage(browser, { name, permissions: ['notifications'] })));
  for (const [page, username] of [[anna, 'anna'], [bert, 'bert'], [carla, 'carla']]) {
    await login(page, { tenant: 'acme', username });
  }
});
after(async () => {
  await logoutAll(anna, bert, carla);
  await browser?.close();
});

const blfTile = (page, name) => page.locator('.blf-tile', { hasText: name });
const callCard = (page, state) => page.locator(`.call[data-state="${state}"]`);

test("anna sees her colleagues' presence change live", async () => {
  await blfTile(anna, 'Bert Meyer').waitFor();
  await bert.getByLabel('Status', { exact: true }).selectOption('in_a_meeting');
  await bert.getByLabel('Note').fill('until 3 pm');
  await bert.getByRole('button', { name: 'Set status' }).click();
  await anna.locator('.blf-tile[data-presence="in_a_meeting"]', { hasText: 'Bert Meyer' }).waitFor();
  // The tile's accessible name is its text, read as a sentence.
  assert.equal(await blfTile(anna, 'Bert Meyer').textContent(), 'Call Bert Meyer, 201. In a meeting — until 3 pm. Phone: Free.');
  assert.match(await blfTile(anna, 'Bert Meyer').innerText(), /until 3 pm/);
  assert.match(await blfTile(anna, 'Carla Rossi').innerText(), /Available/);
  assertNoConsoleErrors(anna, bert, carla);
});

test('anna calls bert from the busy-lamp field, bert answers, transfers to carla, anna hangs up; the logs show it', async () => {
  await blfTile(anna, 'Bert Meyer').click();
  const incoming = bert.locator('.call.incoming-notice');
  await incoming.waitFor();
  assert.match(await incoming.innerText(), /Incoming call[\s\S]*Anna Schmidt[\s\S]*200/i);
  assert.equal(await bert.locator('#call-alerts').innerText(), 'Incoming call from Anna Schmidt (200)');
  await anna.locator('.blf-tile[data-phone="ringing"]', { hasText: 'Bert Meyer' }).waitFor();

  await incoming.getByRole('button', { name: 'Answer' }).click();
  await callCard(anna, 'connected').filter({ hasText: 'Bert Meyer' }).waitFor();
  await callCard(bert, 'connected').filter({ hasText: 'Anna Schmidt' }).waitFor();
  await anna.locator('.blf-tile[data-phone="talking"]', { hasText: 'Bert Meyer' }).waitFor();
  await screenshot(anna, 'client-call');

  // Blind transfer: bert sends anna on to carla (extension 202).
  await bert.getByLabel('To number').fill('202');
  await bert.getByRole('button', { name: 'Transfer', exact: true }).click();
  await callCard(bert, 'connected').waitFor({ state: 'detached' });
  const toCarla = carla.locator('.call.incoming-notice');
  await toCarla.waitFor();
  assert.match(await toCarla.innerText(), /Anna Schmidt/);
  await toCarla.getByRole('button', { name: 'Answer' }).click();
  await callCard(anna, 'connected').filter({ hasText: 'Carla Rossi' }).waitFor();

  await anna.getByRole('button', { name: 'Hang up' }).click();
  await anna.locator('.call').waitFor({ state: 'detached' });
  await carla.locator('.call').waitFor({ state: 'detached' });
  await anna.getByText('No active calls').waitFor();

  // Both call logs: anna's outgoing call (transferred), bert's incoming one from anna.
  const annaRow = anna.locator('.history tbody tr').first();
  await annaRow.filter({ hasText: 'Outgoing' }).waitFor();
  assert.match(await annaRow.innerText(), /transferred: 201/);
  const bertRow = bert.locator('.history tbody tr').first();
  await bertRow.filter({ hasText: 'Anna Schmidt' }).waitFor();
  assert.match(await bertRow.innerText(), /Incoming[\s\S]*transferred: 202/);
  await carla.locator('.history tbody tr', { hasText: 'Anna Schmidt' }).waitFor();
  assertNoConsoleErrors(anna, bert, carla);
});

test('hold and retrieve, tones, consultation and conference', async () => {
  await anna.getByLabel('Number to call').fill('201');
  await anna.getByRole('button', { name: 'Call', exact: true }).click();
  await bert.locator('.call.incoming-notice').getByRole('button', { name: 'Answer' }).click();
  const call = callCard(anna, 'connected');
  await call.waitFor();

  await call.getByRole('button', { name: 'Hold' }).click();
  await callCard(anna, 'held').getByRole('button', { name: 'Retrieve' }).click();
  await callCard(anna, 'connected').waitFor();
  await anna.getByLabel('Tones (DTMF)').fill('12#');
  await anna.getByRole('button', { name: 'Send tones' }).click();
  await anna.getByText('Tones sent').waitFor({ state: 'attached' });

  // Consult carla (bert is held), then bring all three together.
  await anna.getByLabel('To number').fill('202');
  await anna.getByRole('button', { name: 'Consult' }).click();
  await carla.locator('.call.incoming-notice').getByRole('button', { name: 'Answer' }).click();
  await callCard(anna, 'held').filter({ hasText: 'Bert Meyer' }).waitFor();
  const consultation = callCard(anna, 'connected').filter({ hasText: 'Carla Rossi' });
  await consultation.getByRole('button', { name: 'Conference' }).click();
  // One conference call for each of the three; anna's held call to bert has joined it.
  await callCard(anna, 'held').waitFor({ state: 'detached' });
  for (const page of [anna, bert, carla]) {
    await callCard(page, 'connected').filter({ hasText: 'conference' }).waitFor();
    assert.equal(await page.locator('.call').count(), 1, `${page.userName} has one call`);
  }
  await screenshot(anna, 'client-conference');

  // Everyone leaves, each step waiting for its outcome: anna first (bert and carla stay
  // together), then bert, which ends carla's call too.
  await anna.locator('.call').getByRole('button', { name: 'Hang up' }).click();
  await anna.getByText('No active calls').waitFor();
  await callCard(bert, 'connected').waitFor();
  await callCard(carla, 'connected').waitFor();
  await bert.locator('.call').getByRole('button', { name: 'Hang up' }).click();
  await bert.getByText('No active calls').waitFor();
  await carla.getByText('No active calls').waitFor();
  assertNoConsoleErrors(anna, bert, carla);
});

test('consultation, then completing the transfer: bert and carla are connected, anna is free', async () => {
  await blfTile(anna, 'Bert Meyer').click();
  await bert.locator('.call.incoming-notice').getByRole('button', { name: 'Answer' }).click();
  await callCard(anna, 'connected').waitFor();
  await anna.getByLabel('To number').fill('202');
  await anna.getByRole('button', { name: 'Consult' }).click();
  await carla.locator('.call.incoming-notice').getByRole('button', { name: 'Answer' }).click();
  await callCard(anna, 'connected').filter({ hasText: 'Carla Rossi' }).getByRole('button', { name: 'Complete transfer' }).click();
  await anna.getByText('No active calls').waitFor();
  await callCard(bert, 'connected').waitFor();
  await callCard(carla, 'connected').waitFor();
  await bert.locator('.call').getByRole('button', { name: 'Hang up' }).click();
  await carla.getByText('No active calls').waitFor();
  await bert.getByText('No active calls').waitFor();
  assertNoConsoleErrors(anna, bert, carla);
});

test('the busy-lamp field at phone width', async () => {
  const phone = await openPage(browser, { name: 'eva-phone', viewport: PHONE });
  await login(phone, { tenant: 'acme', username: 'eva', client: 'mobile' });
  await blfTile(phone, 'Bert Meyer').waitFor();
  // Something to see: bert is called while eva looks.
  await anna.getByLabel('Number to call').fill('201');
  await anna.getByRole('button', { name: 'Call', exact: true }).click();
  await phone.locator('.blf-tile[data-phone="ringing"]', { hasText: 'Bert Meyer' }).waitFor();
  const width = await phone.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 390, `no sideways scrolling at phone width (${width}px)`);
  await phone.locator('.blf-panel').scrollIntoViewIfNeeded();
  await screenshot(phone, 'blf-phone');
  await anna.locator('.call').getByRole('button', { name: 'Hang up' }).click();
  await anna.getByText('No active calls').waitFor();
  await logoutAll(phone);
  assertNoConsoleErrors(anna, bert, carla, phone);
});
