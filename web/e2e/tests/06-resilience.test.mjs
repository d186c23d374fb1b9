// Staying truthful when things break: a dropped event stream reconnects by itself (the
// banner says so meanwhile), and a telephone-system link that goes down is shown to the
// tenant's users and, live, in the system console.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { apiCall, apiLogin, assertNoConsoleErrors, launch, login, logoutAll, openPage } from '../lib/harness.mjs';

let browser;
let peter;
let admin;
let adminToken;

before(async () => {
  browser = await launch();
  peter = await openPage(browser, { name: 'peter' });
  admin = await openPage(browser, { name: 'admin' });
  adminToken = await apiLogin({ username: 'admin', password: 'demo-admin', client: 'admin' });
});
after(async () => {
  await apiCall('POST', '/api/v1/auth/logout', { token: adminToken });
  await logoutAll(peter, admin);
  await browser?.close();
});

test('a dropped event stream reconnects with backoff and the banner tells', async () => {
  // The test stands between page and server, so it can cut the connection.
  const sockets = [];
  await peter.routeWebSocket(/\/api\/v1\/events/, (socket) => {
    socket.connectToServer();
    sockets.push(socket);
  });
  await login(peter, { tenant: 'initech', username: 'peter' });
  assert.equal(sockets.length, 1);
  await sockets[0].close({ code: 1012, reason: 'server restart' });
  const banner = peter.locator('.connection');
  await peter.locator('.connection[data-state="reconnecting"]').waitFor();
  assert.match(await banner.innerText(), /Connection lost — reconnecting/);
  await peter.locator('.connection[data-state="connected"]').waitFor({ timeout: 15000 });
  assert.equal(sockets.length, 2, 'one new connection after the drop');
  // Still live after the reconnect: a colleague's status change arrives.
  const milton = await apiLogin({ tenant: 'initech', username: 'milton' });
  await apiCall('PUT', '/api/v1/me/presence', { token: milton, body: { state: 'away', note: 'stapler hunt' } });
  await peter.locator('.blf-tile', { hasText: 'stapler hunt' }).waitFor();
  await apiCall('POST', '/api/v1/auth/logout', { token: milton });
  assertNoConsoleErrors(peter);
});

test("a PBX link that goes down shows in the tenant's clients and live in the system console", async () => {
  await login(admin, { username: 'admin', password: 'demo-admin', client: 'admin' });
  await admin.getByRole('tab', { name: 'Phone systems' }).click();
  const row = admin.locator('tr', { hasText: 'Initech PBX' });
  await row.locator('.badge.link-up').waitFor();
  const pbxs = await apiCall('GET', '/api/v1/pbxs', { token: adminToken });
  const initech = pbxs.body.find((p) => p.name === 'Initech PBX');

  // A broken setting stops the simulated PBX's link.
  const broken = await apiCall('PATCH', `/api/v1/pbxs/${initech.id}`, { token: adminToken, body: { traffic: -1 } });
  assert.equal(broken.status, 200, JSON.stringify(broken.body));
  await peter.locator('.connection[data-state="link-down"]').waitFor();
  await peter.locator('.connection', { hasText: /Telephone system link down since .*: invalid settings: traffic/ }).waitFor();
  await row.getByText('invalid settings').waitFor();
  await row.locator('.badge.link-down').waitFor();

  const fixed = await apiCall('PATCH', `/api/v1/pbxs/${initech.id}`, { token: adminToken, body: { traffic: initech.settings.traffic ?? 0 } });
  assert.equal(fixed.status, 200, JSON.stringify(fixed.body));
  await peter.locator('.connection[data-state="connected"]').waitFor();
  await row.locator('.badge.link-up').waitFor();
  assertNoConsoleErrors(peter, admin);
});
