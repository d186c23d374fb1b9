// Tenants (system admin): create with a first tenant admin, rename, delete, and set each
// tenant's cap and reservation per client license type.

import { api } from '../../api.js';
import { h } from '../../dom.js';
import { CLIENT_TYPES, dateTime } from '../../format.js';
import { confirmDialog, formDialog } from '../../ui/dialog.js';
import { button, resourcePanel } from '../../ui/panel.js';
import { dataTable, rowActions } from '../../ui/table.js';

function limitsText(limits) {
  const parts = Object.entries(limits ?? {})
    .filter(([, l]) => l.cap !== null || l.reserved > 0)
    .map(([type, l]) => `${type}: cap ${l.cap ?? '—'}, reserved ${l.reserved}`);
  return parts.length ? h('span', { class: 'numbers' }, parts.map((text) => h('span', { text }))) : 'pool only';
}

export function renderTenants(panel) {
  const view = resourcePanel(panel, {
    title: 'Tenants',
    description: 'Your customers. Each tenant is capped per client license type; a reservation keeps licenses free for it.',
    toolbar: [button('Add tenant', () => addTenant(), { kind: 'primary' })],
    load: () => api.get('/api/v1/tenants'),
    render: (tenants) => dataTable({
      caption: 'Tenants',
      rows: tenants.sort((a, b) => a.name.localeCompare(b.name)),
      rowKey: (t) => t.slug,
      columns: [
        { label: 'Name', render: (t) => h('strong', { text: t.name }) },
        { label: 'Slug (login)', render: (t) => h('code', { text: t.slug }) },
        { label: 'Caps and reservations', class: 'wrap', render: (t) => limitsText(t.limits) },
        { label: 'Created', render: (t) => dateTime(t.created_at) },
        {
          label: 'Actions',
          class: 'actions-cell',
          render: (t) => rowActions(
            button('Limits', () => editLimits(t), { ariaLabel: `Limits of ${t.name}` }),
            button('Rename', () => rename(t), { ariaLabel: `Rename ${t.name}` }),
            button('Delete', () => remove(t), { kind: 'danger', ariaLabel: `Delete ${t.name}` })),
        },
      ],
    }),
  });

  async function addTenant() {
    const created = await formDialog({
      title: 'Add tenant',
      description: 'Takes one tenant license. The first tenant admin can then manage the tenant’s users and devices.',
      submitLabel: 'Add tenant',
      fields: [
        { name: 'name', label: 'Name', required: true, hint: 'e.g. ACME Corp' },
        { name: 'slug', label: 'Slug', required: true, hint: 'Short login name: lowercase letters, digits, dashes.' },
        { name: 'admin_username', label: 'Tenant admin username', required: true, value: 'admin' },
        { name: 'admin_password', label: 'Tenant admin password', type: 'password', required: true, autocomplete: 'new-password' },
      ],
      onSubmit: (v) => api.post('/api/v1/tenants', {
        name: v.name.trim(),
        slug: v.slug.trim(),
        admin: { username: v.admin_username.trim(), password: v.admin_password },
      }),
    });
    if (created) {
      view.status.success(`Tenant ${created.name} was added.`);
      view.refresh();
    }
  }

  async function editLimits(tenant) {
    const fields = CLIENT_TYPES.flatMap((type) => {
      const limit = tenant.limits?.[type] ?? { cap: null, reserved: 0 };
      return [
        { name: `${type}_cap`, label: `${type}: cap`, type: 'number', min: '0', value: limit.cap ?? '', hint: 'Empty: only the pool limits.' },
        { name: `${type}_reserved`, label: `${type}: reserved`, type: 'number', min: '0', value: String(limit.reserved) },
      ];
    });
    const saved = await formDialog({
      title: `Limits of ${tenant.name}`,
      description: 'Per client type: at most the cap at once; the reservation is kept free for this tenant.',
      fields,
      onSubmit: (v) => {
        const limits = {};
        for (const type of CLIENT_TYPES) {
          const cap = v[`${type}_cap`];
          const reserved = v[`${type}_reserved`] ?? 0;
          if (cap !== null || reserved > 0) limits[type] = { cap, reserved };
        }
        return api.put(`/api/v1/tenants/${tenant.id}/limits`, limits);
      },
    });
    if (saved) {
      view.status.success(`Limits of ${tenant.name} were saved.`);
      view.refresh();
    }
  }

  async function rename(tenant) {
    const saved = await formDialog({
      title: `Rename ${tenant.name}`,
      fields: [
        { name: 'name', label: 'Name', value: tenant.name, required: true },
        { name: 'slug', label: 'Slug', value: tenant.slug, required: true, hint: 'Users log in with it: changing it changes their login.' },
      ],
      onSubmit: (v) => api.patch(`/api/v1/tenants/${tenant.id}`, { name: v.name.trim(), slug: v.slug.trim() }),
    });
    if (saved) {
      view.status.success(`Tenant ${saved.name} was saved.`);
      view.refresh();
    }
  }

  async function remove(tenant) {
    const yes = await confirmDialog({
      title: `Delete ${tenant.name}?`,
      message: 'All of its users, devices, contacts and call history are deleted and its sessions end. This cannot be undone.',
    });
    if (!yes) return;
    try {
      await api.delete(`/api/v1/tenants/${tenant.id}`);
      view.status.success(`Tenant ${tenant.name} was deleted.`);
      view.refresh();
    } catch (error) {
      view.status.error(error);
    }
  }

  return () => view.dispose();
}
