// A tab's panel for one kind of record: heading, toolbar, status line and a table that
// is loaded from the API and reloaded after each change.

import { h } from '../dom.js';
import { statusLine } from './status.js';

/**
 * `load()` answers the records; `render(records)` answers the element showing them.
 * `toolbar` holds the panel's buttons. Answers `{refresh, status, records}`.
 */
export function resourcePanel(panel, { title, description, toolbar = [], load, render }) {
  const status = statusLine();
  const body = h('div', { class: 'panel-body', 'aria-busy': 'true' }, h('p', { class: 'muted', text: 'Loading…' }));
  panel.append(
    h('div', { class: 'panel-head' },
      h('div', {}, h('h2', { text: title }), description ? h('p', { class: 'muted', text: description }) : null),
      h('div', { class: 'toolbar' }, toolbar)),
    status.element,
    body);
  const state = { records: [] };
  let disposed = false;
  async function refresh() {
    body.setAttribute('aria-busy', 'true');
    try {
      const records = await load();
      if (disposed) return;
      state.records = records;
      body.replaceChildren(render(records));
    } catch (error) {
      if (!disposed) status.error(error);
    } finally {
      body.removeAttribute('aria-busy');
    }
  }
  refresh();
  return {
    refresh,
    status,
    get records() { return state.records; },
    dispose() { disposed = true; },
  };
}

/** A small button for a toolbar or a table row. */
export function button(label, onClick, { kind = '', ariaLabel } = {}) {
  return h('button', { type: 'button', class: `button ${kind}`.trim(), 'aria-label': ariaLabel, text: label, on: { click: onClick } });
}
