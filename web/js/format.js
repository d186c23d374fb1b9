// Words and numbers as people read them: state labels, times, durations.

export const PRESENCE_STATES = ['available', 'away', 'busy', 'dnd', 'in_a_meeting'];

const PRESENCE_LABELS = {
  available: 'Available',
  away: 'Away',
  busy: 'Busy',
  dnd: 'Do not disturb',
  in_a_meeting: 'In a meeting',
};

const PHONE_LABELS = {
  idle: 'Free',
  unknown: 'Unknown (telephone system unreachable)',
  dnd: 'Do not disturb',
  held: 'On hold',
  dialing: 'Dialling',
  ringing: 'Ringing',
  talking: 'On a call',
};

const CALL_LABELS = {
  dialing: 'Calling…',
  ringing: 'Ringing',
  connected: 'Connected',
  held: 'On hold',
};

export const CLIENT_TYPES = ['desktop', 'attendant', 'wallboard', 'mobile', 'crm', 'api'];

export const presenceLabel = (state) => PRESENCE_LABELS[state] ?? state;
export const phoneLabel = (state) => PHONE_LABELS[state] ?? state;
export const callStateLabel = (state) => CALL_LABELS[state] ?? state;

/** `12:04` today, `Mon 12:04` this week, else `2026-11-28 12:04`. */
export function dateTime(text) {
  if (!text) return '';
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) return text;
  const time = date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  const now = new Date();
  if (date.toDateString() === now.toDateString()) return time;
  if (now - date < 6 * 86400000) return `${date.toLocaleDateString([], { weekday: 'short' })} ${time}`;
  return `${date.toISOString().slice(0, 10)} ${time}`;
}

/** Full date and time for a `title`/`datetime` attribute. */
export function fullDateTime(text) {
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? text : date.toLocaleString();
}

/** `0:07`, `12:34`, `1:02:03`. */
export function duration(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, '0');
  return hours ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
}
