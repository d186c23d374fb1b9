// The logged-in session: token, user, tenant and client type; kept per browser tab.

import { api, setToken, whenSessionEnds } from './api.js';

const STORAGE_KEY = 'ucplus.session';

/** `{token, user, tenant, client, expires_at}` of the logged-in user, or null. */
let current = null;
const endListeners = new Set();

export function session() {
  return current;
}

/** Where a session belongs: the system console, the tenant console or the UC client. */
export function homeOf(value) {
  if (!value) return '/';
  if (value.client === 'admin') return value.user.role === 'system_admin' ? '/system' : '/admin';
  return '/app';
}

/** Logs in; answers the session or throws the API's error (e.g. `pool_exhausted`). */
export async function login({ tenant, username, password, client }) {
  const answer = await api.post('/api/v1/auth/login', {
    tenant: tenant ? tenant : null,
    username,
    password,
    client,
  });
  start({ ...answer, client });
  return current;
}

function start(value) {
  current = value;
  setToken(value.token);
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(value));
  whenSessionEnds(() => end('Your session has ended. Please log in again.'));
}

/** Takes up the tab's session after a reload, if the server still knows it. */
export async function restore() {
  const stored = sessionStorage.getItem(STORAGE_KEY);
  if (!stored) return null;
  let value;
  try {
    value = JSON.parse(stored);
  } catch {
    sessionStorage.removeItem(STORAGE_KEY);
    return null;
  }
  if (!value?.token || Date.parse(value.expires_at) <= Date.now()) {
    sessionStorage.removeItem(STORAGE_KEY);
    return null;
  }
  setToken(value.token);
  try {
    const me = await api.get('/api/v1/me');
    start({ ...value, user: me.user, tenant: me.tenant, client: me.client });
    return current;
  } catch {
    forget();
    return null;
  }
}

function forget() {
  current = null;
  setToken(null);
  sessionStorage.removeItem(STORAGE_KEY);
}

/** Logs out on the server (returns the license) and forgets the session. */
export async function logout() {
  if (current) {
    try {
      await api.post('/api/v1/auth/logout');
    } catch {
      // The session may already be gone; forgetting it is all that is left to do.
    }
  }
  end(null);
}

/** Ends the session here; `reason` is shown on the login page (null for a plain logout). */
export function end(reason) {
  if (!current) return;
  forget();
  for (const listener of endListeners) listener(reason);
}

export function onSessionEnd(listener) {
  endListeners.add(listener);
}
