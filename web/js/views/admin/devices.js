// Devices (extensions, handsets) of the tenant: name, number, user, phone system.

import { api } from '../../api.js';
import { h } from '../../dom.js';
import { phoneLabel } from '../../format.js';
import { confirmDialog, formDialog } from '../../ui/dialog.js';
import { button, resourcePanel } from '../../ui/panel.js';
import { dataTable, rowActions } from '../../ui/table.js';

const numberOf = (device) => device.extension ?? device.device_id;

export function renderDevices(panel) {
  let users = [];
  let pbxs = [];
  let states = new Map();
  const addButton = button('Add device', () => addDevice(), { kind: 'primary' });
  addButton.hidden = true;
  const view = resourcePanel(panel, {
    title: 'Devices',
    description: 'Phones and extensions. Devices of a shared (hosted) phone system are assigned by your provider; you name them and give them a user.',
    toolbar: [addButton],
    load: async () => {
      const [devices, userList, pbxList, stateList] = await Promise.all([
        api.get('/api/v1/devices'),
        api.get('/api/v1/users'),
        api.get('/api/v1/pbxs'),
        api.get('/api/v1/devices/states'),
      ]);
      users = userList;
      pbxs = pbxList;
      states = new Map(stateList.map((s) => [s.device_id, s]));
      addButton.hidden = pbxs.length === 0;
      return devices.sort((a, b) => numberOf(a).localeCompare(numberOf(b), undefined, { numeric: true }));
    },
    render: (devices) => dataTable({
      caption: 'Devices',
      rows: devices,
      rowKey: (d) => numberOf(d),
      columns: [
        { label: 'Extension', render: (d) => h('strong', { text: numberOf(d) }) },
        { label: 'Name', render: (d) => d.name },
        { label: 'User', render: (d) => users.find((u) => u.id === d.user_id)?.display_name ?? '—' },
        { label: 'Phone system', render: (d) => pbxs.find((p) => p.id === d.pbx_id)?.name ?? 'Hosted (shared)' },
        { label: 'Device id', render: (d) => h('code', { text: d.device_id }) },
        { label: 'State', render: (d) => phoneLabel(states.get(d.id)?.state ?? 'idle') },
        {
          label: 'Actions',
          class: 'actions-cell',
          render: (d) => rowActions(
            button('Edit', () => editDevice(d), { ariaLabel: `Edit device ${numberOf(d)}` }),
            button('Delete', () => deleteDevice(d), { kind: 'danger', ariaLabel: `Delete device ${numberOf(d)}` })),
        },
      ],
    }),
  });

  const userOptions = () => [{ value: '', label: 'No user' },
    ...users.map((u) => ({ value: u.id, label: `${u.display_name} (${u.username})` }))];

  async function addDevice() {
    const created = await formDialog({
      title: 'Add device',
      description: 'A device of a phone system that belongs to your organization.',
      submitLabel: 'Add device',
      fields: [
        { name: 'pbx_id', label: 'Phone system', type: 'select', options: pbxs.map((p) => ({ value: p.id, label: p.name })) },
        { name: 'device_id', label: 'Device id on the phone system', required: true, hint: 'e.g. 305' },
        { name: 'extension', label: 'Extension (number to dial)', hint: 'Leave empty to dial the device id.' },
        { name: 'name', label: 'Name', hint: 'e.g. Reception phone' },
        { name: 'user_id', label: 'User', type: 'select', options: userOptions(), value: '' },
      ],
      onSubmit: (v) => api.post('/api/v1/devices', {
        pbx_id: v.pbx_id,
        device_id: v.device_id.trim(),
        extension: v.extension.trim() || null,
        name: v.name.trim() || null,
        user_id: v.user_id || null,
      }),
    });
    if (created) {
      view.status.success(`Device ${numberOf(created)} was added.`);
      view.refresh();
    }
  }

  async function editDevice(device) {
    const updated = await formDialog({
      title: `Edit device ${numberOf(device)}`,
      fields: [
        { name: 'name', label: 'Name', value: device.name, required: true },
        { name: 'extension', label: 'Extension (number to dial)', value: device.extension ?? '', hint: `Leave empty to dial the device id ${device.device_id}.` },
        { name: 'user_id', label: 'User', type: 'select', options: userOptions(), value: device.user_id ?? '' },
      ],
      onSubmit: (v) => api.patch(`/api/v1/devices/${device.id}`, {
        name: v.name.trim(),
        extension: v.extension.trim() || null,
        user_id: v.user_id || null,
      }),
    });
    if (updated) {
      view.status.success(`Device ${numberOf(updated)} was saved.`);
      view.refresh();
    }
  }

  async function deleteDevice(device) {
    const yes = await confirmDialog({
      title: `Delete device ${numberOf(device)}?`,
      message: 'The device leaves your organization; its calls are no longer shown.',
    });
    if (!yes) return;
    try {
      await api.delete(`/api/v1/devices/${device.id}`);
      view.status.success(`Device ${numberOf(device)} was deleted.`);
      view.refresh();
    } catch (error) {
      view.status.error(error);
    }
  }

  return () => view.dispose();
}
