// Client-side routes: the server answers index.html for /, /app, /admin, /system and
// their sub-paths; this module maps the path to a view and keeps the history in step.

let onRoute = () => {};

/** Starts routing: `handler(path)` runs now and on every navigation. */
export function startRouting(handler) {
  onRoute = handler;
  window.addEventListener('popstate', () => onRoute(location.pathname));
  onRoute(location.pathname);
}

/** Goes to `path` (a new history entry unless `replace`). */
export function navigate(path, { replace = false } = {}) {
  if (path !== location.pathname) {
    if (replace) history.replaceState(null, '', path);
    else history.pushState(null, '', path);
  }
  onRoute(path);
}

/** Changes the address without re-rendering (a tab switch inside a view). */
export function setPath(path) {
  if (path !== location.pathname) history.replaceState(null, '', path);
}

/** The path's segments: `/admin/users` → `['admin', 'users']`. */
export function segments(path = location.pathname) {
  return path.split('/').filter(Boolean);
}
