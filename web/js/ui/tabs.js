// Accessible tabs (WAI-ARIA tabs pattern): arrow keys move between tabs, each tab's
// panel is rendered when it is selected and told to clean up when it is left.

import { h } from '../dom.js';

/**
 * `items`: `[{id, label, render(panel) → cleanup?}]`. `onSelect(id)` runs on each switch
 * (to put the tab in the address). Answers `{element, select(id)}`.
 */
export function tabs({ label, items, selected, onSelect = () => {} }) {
  const buttons = new Map();
  const panel = h('div', { class: 'tab-panel', role: 'tabpanel', tabindex: '-1' });
  const list = h('div', { class: 'tab-list', role: 'tablist', 'aria-label': label });
  let cleanup = null;
  let current = null;

  for (const item of items) {
    const button = h('button', {
      type: 'button',
      role: 'tab',
      id: `tab-${item.id}`,
      'aria-controls': 'tab-panel',
      'aria-selected': 'false',
      tabindex: '-1',
      text: item.label,
      on: { click: () => select(item.id, true) },
    });
    buttons.set(item.id, button);
    list.append(button);
  }
  panel.id = 'tab-panel';

  list.addEventListener('keydown', (event) => {
    const ids = items.map((i) => i.id);
    const index = ids.indexOf(current);
    const moves = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
    let next = null;
    if (event.key in moves) next = ids[(index + moves[event.key] + ids.length) % ids.length];
    if (event.key === 'Home') next = ids[0];
    if (event.key === 'End') next = ids[ids.length - 1];
    if (next) {
      event.preventDefault();
      select(next, true);
      buttons.get(next).focus();
    }
  });

  function select(id, byUser = false) {
    const item = items.find((i) => i.id === id) ?? items[0];
    if (item.id === current) return;
    if (typeof cleanup === 'function') cleanup();
    current = item.id;
    for (const [key, button] of buttons) {
      const on = key === item.id;
      button.setAttribute('aria-selected', String(on));
      button.tabIndex = on ? 0 : -1;
    }
    panel.setAttribute('aria-labelledby', `tab-${item.id}`);
    panel.replaceChildren();
    cleanup = item.render(panel);
    if (byUser) onSelect(item.id);
  }

  select(selected ?? items[0].id);
  return {
    element: h('div', { class: 'tabs' }, list, panel),
    select,
    dispose: () => typeof cleanup === 'function' && cleanup(),
  };
}
