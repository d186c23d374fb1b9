// Call control requests: dial, and act on a call. Refusals (a busy number, a link that is
// down) are shown in the client's status line with the API's words and code.

import { api } from '../../api.js';
import { announce } from '../../dom.js';

/** Reports of the client: `{success(text), error(error)}`, set by the client view. */
let report = { success: () => {}, error: () => {} };

export function reportTo(status) {
  report = status;
}

/** Calls `number` from the user's phone. */
export async function dial(number, label = number) {
  const to = String(number ?? '').trim();
  if (!to) {
    report.error('Enter a number to call.');
    return null;
  }
  try {
    const call = await api.post('/api/v1/calls', { to });
    announce(`Calling ${label}`);
    return call;
  } catch (error) {
    report.error(error);
    return null;
  }
}

const DONE = {
  answer: 'Answered',
  clear: 'Hung up',
  hold: 'On hold',
  retrieve: 'Back from hold',
  transfer: 'Transferred',
  consult: 'Consulting',
  conference: 'Conference started',
  deflect: 'Forwarded',
  digits: 'Tones sent',
};

/** Runs `action` (answer, clear, hold, …) on call `id` with `body` ({to}, {call_id}, {digits}). */
export async function callAction(id, action, body) {
  try {
    const result = await api.post(`/api/v1/calls/${id}/${action}`, body);
    announce(DONE[action] ?? 'Done');
    return result;
  } catch (error) {
    report.error(error);
    return null;
  }
}
