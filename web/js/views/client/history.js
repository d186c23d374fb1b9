// The call history: newest first, names resolved, missed calls marked; call back with a
// click. Reloaded shortly after each of the user's calls ends.

import { api } from '../../api.js';
import { h } from '../../dom.js';
import { dateTime, duration, fullDateTime } from '../../format.js';
import { dataTable } from '../../ui/table.js';
import { describeError } from '../../ui/status.js';
import { dial } from './phone.js';

const PAGE = 25;

function directionText(entry) {
  if (entry.missed) return 'Missed';
  if (entry.outgoing) return 'Outgoing';
  return 'Incoming';
}

export function historyPanel(state) {
  const body = h('div', { class: 'history-body' }, h('p', { class: 'muted', text: 'Loading…' }));
  const more = h('button', { type: 'button', class: 'button', text: 'Show older calls', hidden: true });
  let entries = [];
  let disposed = false;

  async function load(offset) {
    try {
      const page = await api.get('/api/v1/call-log', { limit: PAGE, offset });
      if (disposed) return;
      entries = offset === 0 ? page.calls : [...entries, ...page.calls];
      more.hidden = page.calls.length < PAGE;
      body.replaceChildren(render());
    } catch (error) {
      if (!disposed) body.replaceChildren(h('p', { class: 'form-error', role: 'alert', text: describeError(error) }));
    }
  }

  function render() {
    return dataTable({
      caption: 'Call history',
      rows: entries,
      rowKey: (e) => e.id,
      empty: 'No calls yet.',
      columns: [
        { label: 'When', render: (e) => h('time', { datetime: e.started_at, title: fullDateTime(e.started_at), text: dateTime(e.started_at) }) },
        {
          label: 'Who',
          render: (e) => h('span', { class: 'who-cell' },
            h('strong', { text: e.other_name ?? e.other_number ?? 'Unknown' }),
            e.other_name && e.other_number ? h('span', { class: 'muted small', text: ` ${e.other_number}` }) : null),
        },
        {
          label: 'Call',
          render: (e) => h('span', { class: 'call-cell' },
            h('span', { class: e.missed ? 'badge missed' : 'badge neutral', text: directionText(e) }),
            e.transferred.length ? h('span', { class: 'muted small', text: ` transferred: ${e.transferred.join(', ')}` }) : null),
        },
        { label: 'Duration', render: (e) => (e.answered ? duration(e.talk_ms) : '—') },
        {
          label: 'Call back',
          render: (e) => (e.other_number
            ? h('button', { type: 'button', class: 'button small', text: 'Call', 'aria-label': `Call ${e.other_name ?? e.other_number} back`, on: { click: () => dial(e.other_number, e.other_name ?? e.other_number) } })
            : ''),
        },
      ],
    });
  }

  more.addEventListener('click', () => load(entries.length));
  // The log row is written just after the call_ended event: reload a moment later.
  let reloadTimer = null;
  const reloadSoon = () => {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(() => load(0), 700);
  };
  state.addEventListener('call-ended', reloadSoon);
  load(0);
  const element = h('div', { class: 'history' }, body, more);
  return {
    element,
    dispose() {
      disposed = true;
      clearTimeout(reloadTimer);
      state.removeEventListener('call-ended', reloadSoon);
    },
  };
}
