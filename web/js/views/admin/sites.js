// Sites (locations) of the tenant.

import { api } from '../../api.js';
import { h } from '../../dom.js';
import { dateTime } from '../../format.js';
import { confirmDialog, formDialog } from '../../ui/dialog.js';
import { button, resourcePanel } from '../../ui/panel.js';
import { dataTable, rowActions } from '../../ui/table.js';

export function renderSites(panel) {
  const view = resourcePanel(panel, {
    title: 'Sites',
    description: 'Your organization’s locations; users belong to a site.',
    toolbar: [button('Add site', () => edit(null), { kind: 'primary' })],
    load: () => api.get('/api/v1/sites'),
    render: (sites) => dataTable({
      caption: 'Sites',
      rows: sites,
      rowKey: (s) => s.name,
      columns: [
        { label: 'Name', render: (s) => h('strong', { text: s.name }) },
        { label: 'Address', render: (s) => s.address ?? '' },
        { label: 'Created', render: (s) => dateTime(s.created_at) },
        {
          label: 'Actions',
          class: 'actions-cell',
          render: (s) => rowActions(
            button('Edit', () => edit(s), { ariaLabel: `Edit site ${s.name}` }),
            button('Delete', () => remove(s), { kind: 'danger', ariaLabel: `Delete site ${s.name}` })),
        },
      ],
    }),
  });

  async function edit(site) {
    const saved = await formDialog({
      title: site ? `Edit ${site.name}` : 'Add site',
      fields: [
        { name: 'name', label: 'Name', value: site?.name ?? '', required: true },
        { name: 'address', label: 'Address', type: 'textarea', rows: 3, value: site?.address ?? '' },
      ],
      onSubmit: (v) => {
        const body = { name: v.name.trim(), address: v.address.trim() || null };
        return site ? api.patch(`/api/v1/sites/${site.id}`, body) : api.post('/api/v1/sites', body);
      },
    });
    if (saved) {
      view.status.success(`Site ${saved.name} was saved.`);
      view.refresh();
    }
  }

  async function remove(site) {
    if (!await confirmDialog({ title: `Delete ${site.name}?`, message: 'Users of this site keep their accounts and lose the site.' })) return;
    try {
      await api.delete(`/api/v1/sites/${site.id}`);
      view.status.success(`Site ${site.name} was deleted.`);
      view.refresh();
    } catch (error) {
      view.status.error(error);
    }
  }

  return () => view.dispose();
}
