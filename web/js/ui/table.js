// Data tables: a caption, column headers and one row per record, inside a scroll box so
// wide tables stay usable at phone width.

import { h } from '../dom.js';

/**
 * `columns`: `[{label, render(row) → node|string, class?}]`. `empty`: the sentence shown
 * when there are no rows. `rowKey(row)`: sets `data-key` for tests and updates.
 */
export function dataTable({ caption, columns, rows, empty = 'Nothing here yet.', rowKey }) {
  const table = h('table', { class: 'data' },
    caption ? h('caption', { class: 'visually-hidden', text: caption }) : null,
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.class, text: c.label })))),
    h('tbody', {}, rows.length
      ? rows.map((row) => h('tr', { dataset: rowKey ? { key: rowKey(row) } : undefined },
        columns.map((c) => h('td', { class: c.class, 'data-label': c.label }, c.render(row)))))
      : h('tr', {}, h('td', { colspan: columns.length, class: 'empty', text: empty }))));
  return h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': caption ?? 'table' }, table);
}

/** A row of small action buttons for a table cell. */
export function rowActions(...buttons) {
  return h('div', { class: 'row-actions' }, buttons.filter(Boolean));
}
