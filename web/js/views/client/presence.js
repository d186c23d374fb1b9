// The user's own status: presence state and note, and their phone(s) with its state and
// do-not-disturb switch.

import { api } from '../../api.js';
import { field, h, syncKeyed } from '../../dom.js';
import { PRESENCE_STATES, phoneLabel, presenceLabel } from '../../format.js';

/** Answers `{element}`; `status` reports errors. */
export function presencePanel(state, status) {
  const select = h('select', { name: 'state' }, PRESENCE_STATES.map((s) => h('option', { value: s }, presenceLabel(s))));
  const note = h('input', { name: 'note', maxlength: '200', placeholder: 'e.g. back at 14:00', autocomplete: 'off' });
  const save = h('button', { type: 'submit', class: 'button primary', text: 'Set status' });
  const current = h('p', { class: 'my-presence', 'aria-live': 'polite' });
  const phones = h('ul', { class: 'my-phones' });
  let editing = false;

  const form = h('form', { class: 'presence-form' },
    field('Status', select),
    field('Note', note),
    save);
  form.addEventListener('input', () => { editing = true; });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    save.disabled = true;
    try {
      const updated = await api.put('/api/v1/me/presence', { state: select.value, note: note.value.trim() || null });
      editing = false;
      state.applyPresence(updated);
      status.success(`Your status is now ${presenceLabel(updated.state)}.`);
    } catch (error) {
      status.error(error);
    } finally {
      save.disabled = false;
    }
  });

  function renderPresence() {
    const mine = state.presence.get(state.me.id);
    if (!mine) return;
    current.replaceChildren(
      h('span', { class: `presence-dot presence-${mine.state}`, 'aria-hidden': 'true' }),
      h('strong', { text: presenceLabel(mine.state) }),
      mine.note ? ` — ${mine.note}` : '');
    if (!editing) {
      select.value = mine.state;
      note.value = mine.note ?? '';
    }
  }

  function renderPhones() {
    const devices = state.myDevices();
    if (!devices.length) {
      phones.replaceChildren(h('li', { class: 'muted', text: 'No phone is assigned to you; ask your admin.' }));
      return;
    }
    if (phones.querySelector('.muted')) phones.replaceChildren();
    syncKeyed(phones, devices, (d) => d.device_id, (device) => {
      const dnd = h('input', { type: 'checkbox', class: 'dnd-toggle' });
      dnd.addEventListener('change', async () => {
        dnd.disabled = true;
        try {
          await api.put(`/api/v1/devices/${device.device_id}/dnd`, { on: dnd.checked });
        } catch (error) {
          dnd.checked = !dnd.checked;
          status.error(error);
        } finally {
          dnd.disabled = false;
        }
      });
      return h('li', { class: 'my-phone' },
        h('span', { class: 'lamp', 'aria-hidden': 'true' }),
        h('span', { class: 'phone-text' }),
        h('label', { class: 'check small' }, dnd, ' Do not disturb'));
    }, (item, device) => {
      item.dataset.state = device.state;
      item.querySelector('.phone-text').textContent = `${device.number} · ${phoneLabel(device.state)}${device.forwarding_to ? ` · forwarded to ${device.forwarding_to}` : ''}`;
      const dnd = item.querySelector('.dnd-toggle');
      if (!dnd.disabled) dnd.checked = device.dnd;
      dnd.setAttribute('aria-label', `Do not disturb on phone ${device.number}`);
    });
  }

  state.addEventListener('presence', renderPresence);
  state.addEventListener('devices', renderPhones);
  renderPresence();
  renderPhones();
  const element = h('section', { class: 'panel me-panel', 'aria-labelledby': 'me-title' },
    h('h2', { id: 'me-title', text: 'My status' }), current, form,
    h('h3', { class: 'small-heading', text: 'My phone' }), phones);
  return { element };
}
