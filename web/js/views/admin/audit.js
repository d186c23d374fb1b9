// The audit log, newest first, a page at a time. The system admin may filter by tenant.

import { api } from '../../api.js';
import { field, h } from '../../dom.js';
import { dateTime, fullDateTime } from '../../format.js';
import { button, resourcePanel } from '../../ui/panel.js';
import { dataTable } from '../../ui/table.js';

const PAGE = 50;

function details(detail) {
  if (!detail || typeof detail !== 'object') return '';
  return Object.entries(detail)
    .map(([key, value]) => `${key}: ${typeof value === 'object' ? JSON.stringify(value) : value}`)
    .join(', ');
}

/** `tenants`: for the system admin, `[{id, name}]` to filter by; none for a tenant admin. */
export function renderAudit(panel, { tenants }) {
  let offset = 0;
  let tenantId = '';
  const older = button('Older', () => { offset += PAGE; view.refresh(); });
  const newer = button('Newer', () => { offset = Math.max(0, offset - PAGE); view.refresh(); });
  const toolbar = [newer, older];
  if (tenants) {
    const select = h('select', { on: { change: () => { tenantId = select.value; offset = 0; view.refresh(); } } },
      h('option', { value: '' }, 'All tenants and the system'),
      tenants.map((t) => h('option', { value: t.id }, t.name)));
    toolbar.unshift(field('Tenant', select));
  }
  const view = resourcePanel(panel, {
    title: 'Audit log',
    description: 'Who changed what, and when.',
    toolbar,
    load: async () => {
      const page = await api.get('/api/v1/audit', { limit: PAGE, offset, tenant_id: tenantId });
      newer.disabled = offset === 0;
      older.disabled = page.entries.length < PAGE;
      return page.entries;
    },
    render: (entries) => dataTable({
      caption: 'Audit log',
      rows: entries,
      columns: [
        { label: 'When', render: (e) => h('time', { datetime: e.at, title: fullDateTime(e.at), text: dateTime(e.at) }) },
        { label: 'Who', render: (e) => e.actor_username },
        { label: 'Action', render: (e) => h('code', { text: e.action }) },
        { label: 'Details', class: 'wrap', render: (e) => details(e.detail) },
        { label: 'From', render: (e) => e.source ?? '' },
      ],
    }),
  });
  return () => view.dispose();
}
