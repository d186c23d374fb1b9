// The UC client for end users: calls, own status, dial pad, colleagues (busy-lamp field),
// history and directory — all kept live by the event stream.

import { h } from '../../dom.js';
import { end, logout } from '../../session.js';
import { tabs } from '../../ui/tabs.js';
import { statusLine } from '../../ui/status.js';
import { EventStream } from '../../ws.js';
import { connectionIndicator } from '../connection.js';
import { blfPanel } from './blf.js';
import { callsPanel } from './calls.js';
import { dialPad } from './dialpad.js';
import { directoryPanel } from './directory.js';
import { historyPanel } from './history.js';
import { incomingNotices } from './incoming.js';
import { reportTo } from './phone.js';
import { presencePanel } from './presence.js';
import { CtiState } from './state.js';

export function mountClient(main, session) {
  document.title = `${session.user.display_name} · ucplus`;
  const state = new CtiState(session.user);
  const stream = new EventStream();
  state.follow(stream);
  stream.addEventListener('session-ended', () => end('Your session has ended. Please log in again.'));

  const status = statusLine();
  reportTo(status);
  const connection = connectionIndicator(stream, { linkProblem: () => state.linkProblem() });
  state.addEventListener('links', () => connection.update());
  const notices = incomingNotices(state);
  const calls = callsPanel(state);
  const more = tabs({
    label: 'History and directory',
    items: [
      {
        id: 'history',
        label: 'History',
        render: (panel) => {
          const history = historyPanel(state);
          panel.append(history.element);
          return () => history.dispose();
        },
      },
      { id: 'directory', label: 'Directory', render: (panel) => { panel.append(directoryPanel().element); } },
    ],
  });

  main.replaceChildren(
    h('header', { class: 'topbar' },
      h('div', { class: 'topbar-title' },
        h('img', { src: '/favicon.svg', alt: '', width: '28', height: '28' }),
        h('div', {},
          h('h1', { text: session.user.display_name }),
          h('p', { class: 'muted small', text: `${session.tenant?.name ?? ''} · ${session.client} client` }))),
      h('div', { class: 'topbar-side' },
        connection.element,
        notices.permissionButton,
        h('button', { type: 'button', class: 'button', text: 'Log out', on: { click: () => logout() } }))),
    notices.element,
    h('div', { class: 'client-status' }, status.element),
    h('div', { class: 'client-grid' },
      h('div', { class: 'client-side' }, presencePanel(state, status).element, dialPad().element),
      h('div', { class: 'client-main' },
        calls.element,
        h('section', { class: 'panel more-panel', 'aria-label': 'History and directory' }, more.element)),
      blfPanel(state).element));

  stream.start();
  return {
    dispose() {
      stream.stop();
      connection.dispose();
      notices.dispose();
      calls.dispose();
      more.dispose();
    },
  };
}
