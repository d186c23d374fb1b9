// The login page: tenant, username, password and client type; the API's refusal is shown
// as it is (e.g. "no desktop license is free (pool_exhausted)").

import { field, h } from '../dom.js';
import { login } from '../session.js';
import { describeError } from '../ui/status.js';

const CLIENTS = [
  ['desktop', 'Desktop client'],
  ['mobile', 'Mobile client'],
  ['attendant', 'Attendant console'],
  ['wallboard', 'Wallboard'],
  ['crm', 'CRM integration'],
  ['api', 'API client'],
  ['admin', 'Admin console'],
];

const REMEMBER_KEY = 'ucplus.login';

/** Renders the login form into `main`; `onLoggedIn(session)` runs after a login. */
export function mountLogin(main, { reason, onLoggedIn }) {
  document.title = 'Sign in · ucplus';
  let remembered = {};
  try {
    remembered = JSON.parse(localStorage.getItem(REMEMBER_KEY) ?? '{}') ?? {};
  } catch {
    remembered = {};
  }
  const tenant = h('input', { name: 'tenant', autocomplete: 'organization', value: remembered.tenant ?? '', spellcheck: 'false', autocapitalize: 'none' });
  const username = h('input', { name: 'username', autocomplete: 'username', required: true, spellcheck: 'false', autocapitalize: 'none' });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const client = h('select', { name: 'client' },
    CLIENTS.map(([value, label]) => h('option', { value, selected: value === (remembered.client ?? 'desktop') }, label)));
  const error = h('div', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true });
  const submit = h('button', { type: 'submit', class: 'button primary wide', text: 'Sign in' });
  const form = h('form', { class: 'login-form', novalidate: true, 'aria-labelledby': 'login-title' },
    h('h1', { id: 'login-title', text: 'Sign in to ucplus' }),
    reason ? h('p', { class: 'notice warning', role: 'alert', text: reason }) : null,
    error,
    field('Tenant', tenant, 'Your organization’s short name. Leave empty for the system administrator.'),
    field('Username', username),
    field('Password', password),
    field('Client', client, 'Admins choose “Admin console”; everyone else their client type.'),
    submit);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.hidden = true;
    if (!username.value.trim() || !password.value) {
      showError('Enter your username and password.');
      (username.value.trim() ? password : username).focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Signing in…';
    form.setAttribute('aria-busy', 'true');
    try {
      const session = await login({
        tenant: tenant.value.trim(),
        username: username.value.trim(),
        password: password.value,
        client: client.value,
      });
      localStorage.setItem(REMEMBER_KEY, JSON.stringify({ tenant: tenant.value.trim(), client: client.value }));
      onLoggedIn(session);
    } catch (problem) {
      showError(describeError(problem));
      password.select();
    } finally {
      submit.disabled = false;
      submit.textContent = 'Sign in';
      form.removeAttribute('aria-busy');
    }
  });

  /** The alert is read out by itself; focus stays where the user can fix things. */
  function showError(text) {
    error.replaceChildren(h('p', { text }));
    error.hidden = false;
  }

  main.replaceChildren(h('div', { class: 'login-page' },
    h('div', { class: 'brand' }, h('img', { src: '/favicon.svg', alt: '', width: '40', height: '40' }), h('span', { text: 'ucplus' })),
    form,
    h('p', { class: 'muted small', text: 'Unified communications: presence, calls, history and directory.' })));
  (remembered.tenant ? username : tenant).focus();
  return { dispose() {} };
}
