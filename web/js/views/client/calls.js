// The user's active calls, one card each, with what can be done in the call's state:
// answer/decline/forward a ringing call; hold, hang up, transfer (blind), consult,
// complete the transfer, conference and send tones in a connected one; retrieve a held one.

import { h, syncKeyed } from '../../dom.js';
import { callStateLabel, duration } from '../../format.js';
import { callAction } from './phone.js';

/** Answers `{element}`; follows `state`'s `calls`. */
export function callsPanel(state) {
  const list = h('div', { class: 'call-list' });
  const empty = h('p', { class: 'muted empty-calls', text: 'No active calls. Dial a number or click a colleague.' });
  const element = h('section', { class: 'panel calls-panel', 'aria-labelledby': 'calls-title' },
    h('h2', { id: 'calls-title', text: 'Calls' }), empty, list);

  function render() {
    const calls = [...state.calls.values()].sort((a, b) => a.started_at.localeCompare(b.started_at));
    empty.hidden = calls.length > 0;
    syncKeyed(list, calls, (c) => c.id, createCard, (card, call) => updateCard(card, call, calls));
  }

  function createCard(call) {
    const title = h('h3', { class: 'call-name', id: `call-${call.id}-name` });
    const card = h('article', { class: 'call', 'aria-labelledby': title.id },
      h('div', { class: 'call-head' },
        h('p', { class: 'call-kind' }),
        title,
        h('p', { class: 'call-meta' },
          h('span', { class: 'call-number' }), ' · ',
          h('span', { class: 'call-state' }), ' · ',
          h('span', { class: 'timer' }))),
      h('div', { class: 'call-actions' }),
      targetForm(call),
      tonesForm(call));
    return card;
  }

  function updateCard(card, call, calls) {
    const incomingRinging = call.state === 'ringing' && call.direction === 'incoming';
    card.dataset.state = call.state;
    card.classList.toggle('incoming-notice', incomingRinging);
    card.querySelector('.call-kind').textContent = incomingRinging
      ? 'Incoming call'
      : `${call.direction === 'incoming' ? 'Incoming' : 'Outgoing'} call${call.conference ? ' · conference' : ''}`;
    card.querySelector('.call-name').textContent = state.partyName(call);
    card.querySelector('.call-number').textContent = call.other?.number ?? 'number withheld';
    card.querySelector('.call-state').textContent = callStateLabel(call.state);
    card.querySelector('.timer').dataset.since = call.answered_at ?? call.started_at;
    tick(card);

    const other = calls.find((c) => c.id !== call.id && c.device_id === call.device_id);
    const signature = `${call.state}|${call.direction}|${other ? `${other.id}:${other.state}` : ''}`;
    const actions = card.querySelector('.call-actions');
    if (actions.dataset.signature !== signature) {
      const focused = actions.contains(document.activeElement) ? document.activeElement.textContent : null;
      actions.dataset.signature = signature;
      actions.replaceChildren(...buttonsFor(call, other));
      // Keep keyboard focus in the card: on the same action if it stays, else the first.
      if (focused !== null) {
        const buttons = [...actions.querySelectorAll('button')];
        (buttons.find((b) => b.textContent === focused) ?? buttons[0])?.focus();
      }
    }
    const target = card.querySelector('.call-target');
    target.hidden = !['ringing', 'connected'].includes(call.state) || (call.state === 'ringing' && call.direction !== 'incoming');
    target.querySelector('.for-ringing').hidden = call.state !== 'ringing';
    for (const b of target.querySelectorAll('.for-connected')) b.hidden = call.state !== 'connected';
    card.querySelector('.call-tones').hidden = call.state !== 'connected';
  }

  function buttonsFor(call, other) {
    const act = (label, action, kind = '', body) => h('button', {
      type: 'button',
      class: `button ${kind}`.trim(),
      text: label,
      on: { click: () => callAction(call.id, action, body) },
    });
    const buttons = [];
    if (call.state === 'ringing' && call.direction === 'incoming') {
      buttons.push(act('Answer', 'answer', 'primary'), act('Decline', 'clear', 'danger'));
    } else if (call.state === 'dialing' || call.state === 'ringing') {
      buttons.push(act('Hang up', 'clear', 'danger'));
    } else if (call.state === 'connected') {
      buttons.push(act('Hold', 'hold'));
      if (other?.state === 'held') {
        buttons.push(act('Complete transfer', 'transfer', 'primary', { call_id: other.id }),
          act('Conference', 'conference', '', { call_id: other.id }));
      }
      buttons.push(act('Hang up', 'clear', 'danger'));
    } else if (call.state === 'held') {
      buttons.push(act('Retrieve', 'retrieve', 'primary'), act('Hang up', 'clear', 'danger'));
    }
    return buttons;
  }

  /** Where to: transfer (blind), consult, or forward a ringing call. */
  function targetForm(call) {
    const input = h('input', { type: 'tel', name: 'to', inputmode: 'tel', autocomplete: 'off', id: `call-${call.id}-to`, 'aria-label': 'Transfer, consult or forward to number' });
    const submit = (action) => async (event) => {
      event.preventDefault();
      const to = input.value.trim();
      if (!to) {
        input.focus();
        return;
      }
      if (await callAction(call.id, action, { to })) input.value = '';
    };
    // Enter forwards a ringing call and transfers a connected one.
    const byState = (event) => {
      const ringing = event.currentTarget.closest('.call')?.dataset.state === 'ringing';
      return submit(ringing ? 'deflect' : 'transfer')(event);
    };
    return h('form', { class: 'call-target', on: { submit: byState } },
      h('label', { for: input.id, class: 'small', text: 'To number' }),
      input,
      h('button', { type: 'submit', class: 'button for-connected', text: 'Transfer' }),
      h('button', { type: 'button', class: 'button for-connected', text: 'Consult', on: { click: submit('consult') } }),
      h('button', { type: 'button', class: 'button for-ringing', text: 'Forward', on: { click: submit('deflect') } }));
  }

  /** DTMF tones in a connected call. */
  function tonesForm(call) {
    const input = h('input', { type: 'text', name: 'digits', inputmode: 'tel', autocomplete: 'off', id: `call-${call.id}-tones`, pattern: '[0-9*#A-D]+' });
    return h('form', {
      class: 'call-tones',
      on: {
        submit: async (event) => {
          event.preventDefault();
          const digits = input.value.trim().toUpperCase();
          if (digits && await callAction(call.id, 'digits', { digits })) input.value = '';
        },
      },
    },
    h('label', { for: input.id, class: 'small', text: 'Tones (DTMF)' }),
    input,
    h('button', { type: 'submit', class: 'button', text: 'Send tones' }));
  }

  function tick(card) {
    const timer = card.querySelector('.timer');
    timer.textContent = duration(Date.now() - Date.parse(timer.dataset.since));
  }

  state.addEventListener('calls', render);
  const clock = setInterval(() => list.querySelectorAll('.call').forEach(tick), 1000);
  render();
  return { element, dispose: () => clearInterval(clock) };
}
