// The frame of both admin consoles: a header with who is logged in, tabs whose choice
// is kept in the address (`/admin/users`), and logout.

import { h } from '../dom.js';
import { segments, setPath } from '../router.js';
import { logout } from '../session.js';
import { tabs } from '../ui/tabs.js';

/**
 * `items`: tabs as for ui/tabs.js. `base`: `/admin` or `/system`. `extra`: elements for
 * the header (e.g. the connection state). Answers `{dispose}`.
 */
export function consoleShell(main, { title, subtitle, session, items, base, extra = [] }) {
  document.title = `${title} · ucplus`;
  const [, tab] = segments();
  const view = tabs({
    label: title,
    items,
    selected: items.some((i) => i.id === tab) ? tab : items[0].id,
    onSelect: (id) => setPath(`${base}/${id}`),
  });
  main.replaceChildren(
    h('header', { class: 'topbar' },
      h('div', { class: 'topbar-title' },
        h('img', { src: '/favicon.svg', alt: '', width: '28', height: '28' }),
        h('div', {}, h('h1', { text: title }), h('p', { class: 'muted small', text: subtitle }))),
      h('div', { class: 'topbar-side' },
        extra,
        h('span', { class: 'who', text: session.user.display_name }),
        h('button', { type: 'button', class: 'button', text: 'Log out', on: { click: () => logout() } }))),
    h('div', { class: 'console' }, view.element));
  return { dispose: () => view.dispose() };
}
