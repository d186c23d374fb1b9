// Users of the tenant: who they are, their role, site and license types.

import { api } from '../../api.js';
import { h } from '../../dom.js';
import { CLIENT_TYPES } from '../../format.js';
import { confirmDialog, formDialog } from '../../ui/dialog.js';
import { button, resourcePanel } from '../../ui/panel.js';
import { dataTable, rowActions } from '../../ui/table.js';

const ROLES = [{ value: 'user', label: 'User' }, { value: 'admin', label: 'Tenant admin' }];
const LICENSE_OPTIONS = CLIENT_TYPES.map((type) => ({ value: type, label: type }));

export function renderUsers(panel, session) {
  let sites = [];
  const view = resourcePanel(panel, {
    title: 'Users',
    description: 'People of your organization, their role, site and the client types (licenses) they may use.',
    toolbar: [button('Add user', () => addUser(), { kind: 'primary' })],
    load: async () => {
      const [users, siteList] = await Promise.all([api.get('/api/v1/users'), api.get('/api/v1/sites')]);
      sites = siteList;
      return users.sort((a, b) => a.username.localeCompare(b.username));
    },
    render: (users) => dataTable({
      caption: 'Users',
      rows: users,
      rowKey: (u) => u.username,
      columns: [
        { label: 'Username', render: (u) => h('strong', { text: u.username }) },
        { label: 'Name', render: (u) => u.display_name },
        { label: 'Role', render: (u) => (u.role === 'admin' ? 'Tenant admin' : 'User') },
        { label: 'Site', render: (u) => sites.find((s) => s.id === u.site_id)?.name ?? '—' },
        { label: 'Licenses', render: (u) => h('span', { class: 'chips' }, u.licenses.map((l) => h('span', { class: 'chip', text: l }))) },
        { label: 'E-mail', render: (u) => u.email ?? '' },
        {
          label: 'Actions',
          class: 'actions-cell',
          render: (u) => rowActions(
            button('Edit', () => editUser(u), { ariaLabel: `Edit ${u.username}` }),
            u.id === session.user.id ? null : button('Delete', () => deleteUser(u), { kind: 'danger', ariaLabel: `Delete ${u.username}` })),
        },
      ],
    }),
  });

  const siteOptions = () => [{ value: '', label: 'No site' }, ...sites.map((s) => ({ value: s.id, label: s.name }))];

  async function addUser() {
    const created = await formDialog({
      title: 'Add user',
      submitLabel: 'Add user',
      fields: [
        { name: 'username', label: 'Username', required: true, hint: 'Used to log in, e.g. anna.' },
        { name: 'display_name', label: 'Display name', required: true },
        { name: 'password', label: 'Password', type: 'password', required: true, autocomplete: 'new-password' },
        { name: 'role', label: 'Role', type: 'select', options: ROLES, value: 'user' },
        { name: 'site_id', label: 'Site', type: 'select', options: siteOptions(), value: '' },
        { name: 'licenses', label: 'Licenses (client types)', type: 'checkboxes', options: LICENSE_OPTIONS, value: ['desktop'] },
        { name: 'email', label: 'E-mail', type: 'email' },
      ],
      onSubmit: (v) => api.post('/api/v1/users', {
        username: v.username.trim(),
        display_name: v.display_name.trim(),
        password: v.password,
        role: v.role,
        site_id: v.site_id || null,
        licenses: v.licenses,
        email: v.email.trim() || null,
      }),
    });
    if (created) {
      view.status.success(`User ${created.username} was added.`);
      view.refresh();
    }
  }

  async function editUser(user) {
    const updated = await formDialog({
      title: `Edit ${user.username}`,
      fields: [
        { name: 'display_name', label: 'Display name', value: user.display_name, required: true },
        { name: 'role', label: 'Role', type: 'select', options: ROLES, value: user.role },
        { name: 'site_id', label: 'Site', type: 'select', options: siteOptions(), value: user.site_id ?? '' },
        { name: 'licenses', label: 'Licenses (client types)', type: 'checkboxes', options: LICENSE_OPTIONS, value: user.licenses },
        { name: 'email', label: 'E-mail', type: 'email', value: user.email ?? '' },
        { name: 'password', label: 'New password', type: 'password', autocomplete: 'new-password', hint: 'Leave empty to keep the password. A new one ends the user’s sessions.' },
      ],
      onSubmit: (v) => {
        const patch = {
          display_name: v.display_name.trim(),
          role: v.role,
          site_id: v.site_id || null,
          licenses: v.licenses,
          email: v.email.trim() || null,
        };
        if (v.password) patch.password = v.password;
        return api.patch(`/api/v1/users/${user.id}`, patch);
      },
    });
    if (updated) {
      view.status.success(`User ${user.username} was saved.`);
      view.refresh();
    }
  }

  async function deleteUser(user) {
    const yes = await confirmDialog({
      title: `Delete ${user.username}?`,
      message: `${user.display_name} loses access at once; their phones stay in the tenant without a user.`,
    });
    if (!yes) return;
    try {
      await api.delete(`/api/v1/users/${user.id}`);
      view.status.success(`User ${user.username} was deleted.`);
      view.refresh();
    } catch (error) {
      view.status.error(error);
    }
  }

  return () => view.dispose();
}
