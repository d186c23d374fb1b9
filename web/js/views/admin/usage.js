// The tenant's license use: per client type what is in use, the cap, the reservation and
// today's peak.

import { api } from '../../api.js';
import { h } from '../../dom.js';
import { resourcePanel } from '../../ui/panel.js';
import { dataTable } from '../../ui/table.js';

/** A bar showing `value` of `max` (or of `value` when there is no maximum). */
export function meter(value, max, label) {
  const limit = max ?? Math.max(value, 1);
  return h('meter', { min: '0', max: String(limit), value: String(Math.min(value, limit)), 'aria-label': label, title: label });
}

export function usageTable(licenses, caption) {
  const rows = Object.entries(licenses).map(([type, use]) => ({ type, ...use }));
  return dataTable({
    caption,
    rows,
    rowKey: (r) => r.type,
    empty: 'No client licenses are in use or limited.',
    columns: [
      { label: 'Client type', render: (r) => h('strong', { text: r.type }) },
      { label: 'In use', render: (r) => h('span', { class: 'with-meter' }, String(r.in_use), meter(r.in_use, r.cap, `${r.type}: ${r.in_use} in use${r.cap !== null ? ` of ${r.cap}` : ''}`)) },
      { label: 'Cap', render: (r) => (r.cap === null ? 'pool only' : String(r.cap)) },
      { label: 'Reserved', render: (r) => String(r.reserved) },
      { label: 'Peak today', render: (r) => String(r.peak) },
    ],
  });
}

export function renderUsage(panel) {
  const view = resourcePanel(panel, {
    title: 'License use',
    description: 'Client licenses your users hold right now, within the caps and reservations your provider set.',
    load: async () => (await api.get('/api/v1/licenses/usage')).tenants,
    render: (tenants) => usageTable(tenants[0]?.licenses ?? {}, 'License use by client type'),
  });
  const timer = setInterval(() => view.refresh(), 10000);
  return () => {
    clearInterval(timer);
    view.dispose();
  };
}
