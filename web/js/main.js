// Start-up: take up the tab's session, then show the view the address and the session
// call for — login, the UC client (/app), the tenant console (/admin) or the system
// console (/system). A session that ends anywhere leads back to the login page.

import { homeOf, onSessionEnd, restore, session } from './session.js';
import { navigate, segments, startRouting } from './router.js';
import { mountLogin } from './views/login.js';
import { mountClient } from './views/client/client.js';
import { mountTenantConsole } from './views/admin/admin.js';
import { mountSystemConsole } from './views/system/system.js';

const AREAS = {
  app: mountClient,
  admin: mountTenantConsole,
  system: mountSystemConsole,
};

const main = document.getElementById('main');
let view = null;
let loginReason = null;
let wanted = null;

function show(mount, ...args) {
  view?.dispose();
  view = null;
  main.className = '';
  view = mount(main, ...args);
}

function route(path) {
  const current = session();
  const [area] = segments(path);
  if (!current) {
    if (area && area !== 'login') wanted = path;
    if (path !== '/') history.replaceState(null, '', '/');
    const reason = loginReason;
    loginReason = null;
    show(mountLogin, {
      reason,
      onLoggedIn: (started) => {
        const home = homeOf(started);
        const next = wanted && wanted.startsWith(home) ? wanted : home;
        wanted = null;
        navigate(next);
      },
    });
    return;
  }
  const home = homeOf(current);
  if (`/${area}` !== home) {
    navigate(home, { replace: true });
    return;
  }
  show(AREAS[area], current);
  main.focus({ preventScroll: true });
}

onSessionEnd((reason) => {
  loginReason = reason;
  navigate('/', { replace: true });
});

restore().finally(() => startRouting(route));
