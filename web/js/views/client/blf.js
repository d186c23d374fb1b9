// The busy-lamp field: every colleague with their presence and live phone state; a click
// (or Enter) calls them.

import { h, syncKeyed } from '../../dom.js';
import { phoneLabel, presenceLabel } from '../../format.js';
import { dial } from './phone.js';

/** Answers `{element}`; follows `state`'s presence and device states. */
export function blfPanel(state) {
  const filter = h('input', { type: 'search', id: 'blf-filter', placeholder: 'Filter by name or number', autocomplete: 'off' });
  const list = h('ul', { class: 'blf', 'aria-labelledby': 'blf-title' });
  const none = h('p', { class: 'muted', text: 'No colleagues match.', hidden: true });

  function render() {
    const query = filter.value.trim().toLowerCase();
    const colleagues = state.colleagues()
      .map((p) => ({ presence: p, numbers: state.numbersOf(p.user_id) }))
      .filter(({ presence, numbers }) => !query
        || presence.display_name.toLowerCase().includes(query)
        || numbers.some((n) => n.includes(query)));
    none.hidden = colleagues.length > 0 || state.presence.size === 0;
    syncKeyed(list, colleagues, (c) => c.presence.user_id, create, update);
  }

  function create() {
    // The button's name is its visible text; hidden words and punctuation between the
    // parts make it read as a sentence ("Call Bert Meyer, 201. Available. Phone: Free.").
    const hidden = (cls, text) => h('span', { class: `visually-hidden ${cls}`, text });
    const button = h('button', { type: 'button', class: 'blf-tile' },
      h('span', { class: 'lamp', 'aria-hidden': 'true' }),
      h('span', { class: 'blf-text' },
        hidden('blf-verb', 'Call '),
        h('span', { class: 'blf-name' }),
        hidden('', ', '),
        h('span', { class: 'blf-number' }),
        hidden('', '. '),
        h('span', { class: 'blf-presence' }),
        hidden('', '. Phone: '),
        h('span', { class: 'blf-phone' }),
        hidden('', '.')));
    button.addEventListener('click', () => {
      const number = button.dataset.number;
      if (number) dial(number, button.dataset.name);
    });
    return h('li', {}, button);
  }

  function update(item, { presence, numbers }) {
    const button = item.firstElementChild;
    const number = numbers[0];
    button.dataset.number = number ?? '';
    button.dataset.name = presence.display_name;
    button.dataset.phone = presence.phone;
    button.dataset.presence = presence.state;
    button.disabled = !number;
    const presenceText = `${presenceLabel(presence.state)}${presence.note ? ` — ${presence.note}` : ''}`;
    item.querySelector('.blf-name').textContent = presence.display_name;
    item.querySelector('.blf-number').textContent = number ?? 'no phone';
    item.querySelector('.blf-presence').textContent = presenceText;
    item.querySelector('.blf-phone').textContent = phoneLabel(presence.phone);
    item.querySelector('.blf-verb').textContent = number ? 'Call ' : '';
  }

  filter.addEventListener('input', render);
  state.addEventListener('presence', render);
  state.addEventListener('devices', render);
  render();
  const element = h('section', { class: 'panel blf-panel', 'aria-labelledby': 'blf-title' },
    h('div', { class: 'panel-title-row' },
      h('h2', { id: 'blf-title', text: 'Colleagues' }),
      h('label', { for: 'blf-filter', class: 'visually-hidden', text: 'Filter colleagues' }),
      filter),
    list, none);
  return { element };
}
