// Directory search: colleagues (with presence), the tenant's shared contacts and the
// user's personal contacts; click a number to call it.

import { api } from '../../api.js';
import { debounce, h } from '../../dom.js';
import { phoneLabel, presenceLabel } from '../../format.js';
import { describeError } from '../../ui/status.js';
import { dial } from './phone.js';

const KIND_LABELS = { user: 'Colleague', contact: 'Company directory', personal: 'My contacts' };

export function directoryPanel() {
  const search = h('input', { type: 'search', id: 'directory-q', name: 'q', placeholder: 'Name, company or number', autocomplete: 'off' });
  const results = h('ul', { class: 'directory-results', 'aria-label': 'Directory results' });
  const summary = h('p', { class: 'muted small', role: 'status', 'aria-live': 'polite' });
  let request = 0;

  async function run() {
    const mine = ++request;
    try {
      const entries = await api.get('/api/v1/directory', { q: search.value.trim() });
      if (mine !== request) return;
      summary.textContent = `${entries.length} ${entries.length === 1 ? 'entry' : 'entries'}`;
      results.replaceChildren(...entries.map(entryView));
    } catch (error) {
      if (mine === request) summary.textContent = describeError(error);
    }
  }

  function entryView(entry) {
    const presence = entry.presence
      ? h('span', { class: 'small' },
        h('span', { class: `presence-dot presence-${entry.presence.state}`, 'aria-hidden': 'true' }),
        ` ${presenceLabel(entry.presence.state)} · ${phoneLabel(entry.presence.phone)}`)
      : null;
    return h('li', { class: 'directory-entry' },
      h('div', {},
        h('strong', { text: entry.name }),
        h('span', { class: 'muted small', text: ` · ${KIND_LABELS[entry.kind] ?? entry.kind}${entry.company ? ` · ${entry.company}` : ''}` }),
        presence ? h('div', {}, presence) : null),
      h('div', { class: 'directory-numbers' }, entry.numbers.length
        ? entry.numbers.map((n) => h('button', {
          type: 'button',
          class: 'button small',
          'aria-label': `Call ${entry.name}${n.label ? ` ${n.label}` : ''}, ${n.number}`,
          on: { click: () => dial(n.number, entry.name) },
        }, `${n.label ? `${n.label}: ` : ''}${n.number}`))
        : h('span', { class: 'muted small', text: 'no number' })));
  }

  search.addEventListener('input', debounce(run, 250));
  const form = h('form', { class: 'directory-search', role: 'search', on: { submit: (e) => { e.preventDefault(); run(); } } },
    h('label', { for: search.id, text: 'Search the directory' }), search);
  run();
  return { element: h('div', { class: 'directory' }, form, summary, results) };
}
