// Phone systems (PBX connections, system admin): kind, owner, address and the live link
// state (from the event stream), with adding, assigning devices to tenants and removing.

import { api } from '../../api.js';
import { h } from '../../dom.js';
import { dateTime, fullDateTime } from '../../format.js';
import { confirmDialog, formDialog } from '../../ui/dialog.js';
import { button, resourcePanel } from '../../ui/panel.js';
import { dataTable, rowActions } from '../../ui/table.js';

const KINDS = [
  { value: 'sim', label: 'Simulator (built in)' },
  { value: 'csta', label: 'CSTA link (TCP)' },
  { value: 'uacsta', label: 'uaCSTA handsets (SIP)' },
];

const LINK_LABELS = { up: 'Up', down: 'Down', connecting: 'Connecting' };

/** The link badge: state, since when, the node running it, and the error if any. */
export function linkBadge(link) {
  if (!link) return h('span', { class: 'badge neutral', text: 'Not running' });
  return h('span', { class: 'link-state' },
    h('span', { class: `badge link-${link.state}`, text: LINK_LABELS[link.state] ?? link.state }),
    ' ', h('time', { class: 'muted small', datetime: link.since, title: fullDateTime(link.since), text: `since ${dateTime(link.since)}` }),
    link.node ? h('span', { class: 'muted small link-node', text: ` on ${link.node}` }) : null,
    link.error ? h('span', { class: 'small bad', text: ` — ${link.error}` }) : null);
}

function address(pbx) {
  const settings = pbx.settings ?? {};
  if (pbx.kind === 'sim') return `devices ${settings.devices ?? '?'}${settings.traffic ? `, ${settings.traffic} calls/s` : ''}`;
  if (pbx.kind === 'uacsta') return settings.sip_domain ?? '';
  return `${pbx.host ?? ''}:${pbx.port ?? ''}`;
}

/** `links`: the live link states by PBX id and an EventTarget firing `link` on changes. */
export function renderPbxs(panel, { links }) {
  let tenants = [];
  const view = resourcePanel(panel, {
    title: 'Phone systems',
    description: 'PBX connections. A shared (hosted) PBX serves several tenants; assign its devices to them.',
    toolbar: [button('Add phone system', () => addPbx(), { kind: 'primary' })],
    load: async () => {
      const [pbxs, tenantList] = await Promise.all([api.get('/api/v1/pbxs'), api.get('/api/v1/tenants')]);
      tenants = tenantList;
      for (const pbx of pbxs) if (pbx.link && !links.states.has(pbx.id)) links.states.set(pbx.id, pbx.link);
      return pbxs.sort((a, b) => a.name.localeCompare(b.name));
    },
    render: (pbxs) => dataTable({
      caption: 'Phone systems',
      rows: pbxs,
      rowKey: (p) => p.id,
      columns: [
        { label: 'Name', render: (p) => h('strong', { text: p.name }) },
        { label: 'Kind', render: (p) => KINDS.find((k) => k.value === p.kind)?.label ?? p.kind },
        { label: 'Owner', render: (p) => (p.tenant_id ? tenants.find((t) => t.id === p.tenant_id)?.name ?? '?' : 'Shared (hosted)') },
        { label: 'Address', render: (p) => address(p) },
        { label: 'Link', class: 'link-cell', render: (p) => linkBadge(links.states.get(p.id) ?? p.link) },
        {
          label: 'Actions',
          class: 'actions-cell',
          render: (p) => rowActions(
            button('Assign devices', () => assign(p), { ariaLabel: `Assign devices of ${p.name}` }),
            button('Delete', () => remove(p), { kind: 'danger', ariaLabel: `Delete ${p.name}` })),
        },
      ],
    }),
  });

  const onLink = (event) => {
    const row = panel.querySelector(`tr[data-key="${event.detail.pbx_id}"] td.link-cell`);
    if (row) row.replaceChildren(linkBadge(event.detail));
  };
  links.events.addEventListener('link', onLink);

  async function addPbx() {
    const created = await formDialog({
      title: 'Add phone system',
      submitLabel: 'Add',
      fields: [
        { name: 'name', label: 'Name', required: true },
        { name: 'kind', label: 'Kind', type: 'select', options: KINDS, value: 'sim' },
        { name: 'tenant_id', label: 'Owner', type: 'select', value: '', options: [{ value: '', label: 'Shared (hosted)' }, ...tenants.map((t) => ({ value: t.id, label: t.name }))] },
        { name: 'host', label: 'Host (CSTA)', hint: 'The PBX’s address, for a CSTA link.' },
        { name: 'port', label: 'Port (CSTA)', type: 'number', min: '1' },
        { name: 'devices', label: 'Devices (simulator)', hint: 'Ranges, e.g. 200-299,400.' },
        { name: 'traffic', label: 'Generated calls per second (simulator)', type: 'number', min: '0', value: '0' },
        { name: 'sip_domain', label: 'SIP domain (uaCSTA)' },
      ],
      onSubmit: (v) => {
        const body = { name: v.name.trim(), kind: v.kind, tenant_id: v.tenant_id || null };
        if (v.kind === 'csta') Object.assign(body, { host: v.host.trim(), port: v.port });
        if (v.kind === 'sim') Object.assign(body, { devices: v.devices.trim(), traffic: v.traffic ?? 0 });
        if (v.kind === 'uacsta') body.sip_domain = v.sip_domain.trim();
        return api.post('/api/v1/pbxs', body);
      },
    });
    if (created) {
      view.status.success(`Phone system ${created.name} was added.`);
      view.refresh();
    }
  }

  async function assign(pbx) {
    const owners = pbx.tenant_id ? tenants.filter((t) => t.id === pbx.tenant_id) : tenants;
    const result = await formDialog({
      title: `Assign devices of ${pbx.name}`,
      description: 'Puts devices of this phone system into a tenant. On a shared PBX this is the only way a device joins a tenant.',
      submitLabel: 'Assign',
      fields: [
        { name: 'tenant_id', label: 'Tenant', type: 'select', options: owners.map((t) => ({ value: t.id, label: t.name })) },
        { name: 'device_ids', label: 'Device ids', required: true, hint: 'Comma-separated ids and ranges, e.g. 200, 210-219.' },
        { name: 'strip_prefix', label: 'Strip prefix for extensions', hint: 'e.g. 1: device 1200 is dialled as 200 in the tenant.' },
      ],
      onSubmit: (v) => api.post(`/api/v1/pbxs/${pbx.id}/devices`, {
        tenant_id: v.tenant_id,
        device_ids: v.device_ids.split(',').map((s) => s.trim()).filter(Boolean),
        strip_prefix: v.strip_prefix.trim() || null,
      }),
    });
    if (result) view.status.success(`${result.assigned} device(s) were assigned.`);
  }

  async function remove(pbx) {
    const yes = await confirmDialog({ title: `Delete ${pbx.name}?`, message: 'The link is closed and the devices of this phone system leave their tenants.' });
    if (!yes) return;
    try {
      await api.delete(`/api/v1/pbxs/${pbx.id}`);
      view.status.success(`Phone system ${pbx.name} was deleted.`);
      view.refresh();
    } catch (error) {
      view.status.error(error);
    }
  }

  return () => {
    links.events.removeEventListener('link', onLink);
    view.dispose();
  };
}
