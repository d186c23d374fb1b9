// The connection banner: live (connected), reconnecting (with a countdown and "Retry
// now"), or a telephone-system link that is down — so nobody trusts a stale screen.

import { h } from '../dom.js';

/**
 * `stream`: the EventStream. `linkProblem()`: a sentence when a PBX link is not up, else
 * null (the UC client passes one; the consoles show links in their own table).
 * Answers `{element, update(), dispose()}`.
 */
export function connectionIndicator(stream, { linkProblem = () => null } = {}) {
  const text = h('span', { class: 'connection-text' });
  // The countdown changes every second: shown, but not read out each time.
  const countdown = h('span', { class: 'countdown', 'aria-hidden': 'true' });
  const retry = h('button', { type: 'button', class: 'button small', text: 'Retry now', hidden: true, on: { click: () => stream.retryNow() } });
  const element = h('div', { class: 'connection', role: 'status', 'aria-live': 'polite', dataset: { state: 'connecting' } },
    h('span', { class: 'dot', 'aria-hidden': 'true' }), text, countdown, retry);
  let timer = null;

  function update() {
    clearTimeout(timer);
    const { status, retryAt } = stream;
    let state;
    let sentence;
    if (status === 'open') {
      const problem = linkProblem();
      state = problem ? 'link-down' : 'connected';
      sentence = problem ?? 'Connected';
    } else if (status === 'reconnecting') {
      state = 'reconnecting';
      sentence = 'Connection lost — reconnecting';
      const seconds = retryAt ? Math.max(0, Math.ceil((retryAt - Date.now()) / 1000)) : 0;
      countdown.textContent = seconds > 0 ? ` in ${seconds} s` : '…';
      if (retryAt && seconds > 0) timer = setTimeout(update, 1000);
    } else if (status === 'connecting') {
      state = 'connecting';
      sentence = 'Connecting…';
    } else {
      state = 'closed';
      sentence = 'Not connected';
    }
    element.dataset.state = state;
    if (text.textContent !== sentence) text.textContent = sentence;
    retry.hidden = state !== 'reconnecting';
    if (state !== 'reconnecting') countdown.textContent = '';
  }

  stream.addEventListener('status', update);
  update();
  return {
    element,
    update,
    dispose() {
      clearTimeout(timer);
      stream.removeEventListener('status', update);
    },
  };
}
