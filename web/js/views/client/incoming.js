// Incoming-call notices beyond the call card: read out at once by screen readers
// (assertive live region) and, where the user allowed it, a desktop notification.

import { h } from '../../dom.js';

/** Answers `{element (the live region), permissionButton, dispose}`. */
export function incomingNotices(state) {
  const region = h('div', { class: 'visually-hidden', 'aria-live': 'assertive', 'aria-atomic': 'true', id: 'call-alerts' });
  const notifications = new Map();
  const supported = 'Notification' in window;
  const permissionButton = h('button', {
    type: 'button',
    class: 'button small',
    text: 'Enable call notifications',
    hidden: !supported || Notification.permission !== 'default',
    on: {
      click: async () => {
        await Notification.requestPermission();
        permissionButton.hidden = Notification.permission !== 'default';
      },
    },
  });

  function onCalls(event) {
    const { call, previous } = event.detail ?? {};
    if (!call) {
      // A call ended or a snapshot came: close notices of calls that are gone.
      for (const [id, notice] of notifications) {
        if (state.calls.get(id)?.state !== 'ringing') {
          notice.close();
          notifications.delete(id);
        }
      }
      return;
    }
    const ringing = call.state === 'ringing' && call.direction === 'incoming';
    if (ringing && previous?.state !== 'ringing') {
      const who = state.partyName(call);
      const number = call.other?.number && call.other.number !== who ? ` (${call.other.number})` : '';
      region.textContent = `Incoming call from ${who}${number}`;
      if (supported && Notification.permission === 'granted') showNotification(call, `${who}${number}`);
    } else if (!ringing && notifications.has(call.id)) {
      notifications.get(call.id).close();
      notifications.delete(call.id);
    }
  }

  function showNotification(call, body) {
    let notice;
    try {
      notice = new Notification('Incoming call', { body, tag: call.id });
    } catch {
      // Mobile browsers allow notifications only from a service worker: the card and
      // the live region still tell.
      return;
    }
    notice.addEventListener('click', () => {
      window.focus();
      document.querySelector(`[data-key="${call.id}"] .button.primary`)?.focus();
    });
    notifications.set(call.id, notice);
  }

  state.addEventListener('calls', onCalls);
  return {
    element: region,
    permissionButton,
    dispose() {
      state.removeEventListener('calls', onCalls);
      for (const notice of notifications.values()) notice.close();
    },
  };
}
