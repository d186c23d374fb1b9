// The dial pad: type or tap a number, then call it.

import { h } from '../../dom.js';
import { dial } from './phone.js';

const KEYS = [
  ['1', ''], ['2', 'ABC'], ['3', 'DEF'],
  ['4', 'GHI'], ['5', 'JKL'], ['6', 'MNO'],
  ['7', 'PQRS'], ['8', 'TUV'], ['9', 'WXYZ'],
  ['*', ''], ['0', '+'], ['#', ''],
];

export function dialPad() {
  const input = h('input', { type: 'tel', id: 'dial-number', name: 'number', inputmode: 'tel', autocomplete: 'off', placeholder: 'Number or extension' });
  const keys = h('div', { class: 'keypad', role: 'group', 'aria-label': 'Keypad' },
    KEYS.map(([digit, letters]) => h('button', {
      type: 'button',
      class: 'key',
      on: { click: () => { input.value += digit; input.focus(); } },
    }, h('span', { class: 'key-digit', text: digit }), h('span', { class: 'key-letters', 'aria-hidden': 'true', text: letters }))));
  const back = h('button', {
    type: 'button',
    class: 'button',
    text: '⌫',
    'aria-label': 'Delete last digit',
    on: { click: () => { input.value = input.value.slice(0, -1); input.focus(); } },
  });
  const form = h('form', { class: 'dialpad' },
    h('label', { for: input.id, text: 'Number to call' }),
    h('div', { class: 'dial-row' }, input, back),
    keys,
    h('button', { type: 'submit', class: 'button primary call-button', text: 'Call' }));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (await dial(input.value)) input.value = '';
  });
  const element = h('section', { class: 'panel dial-panel', 'aria-labelledby': 'dial-title' },
    h('h2', { id: 'dial-title', text: 'Dial' }), form);
  return { element };
}
