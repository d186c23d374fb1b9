// What the UC client knows live: the user's calls, the tenant's phone states, presence
// and PBX links — filled by the event stream's snapshot and kept current by its events.
// Fires `calls`, `devices`, `presence`, `links` and `call-ended` when they change.

import { dateTime } from '../../format.js';

export class CtiState extends EventTarget {
  constructor(user) {
    super();
    this.me = user;
    this.calls = new Map();
    this.devices = new Map();
    this.presence = new Map();
    this.links = new Map();
  }

  emit(kind, detail) {
    this.dispatchEvent(new CustomEvent(kind, { detail }));
  }

  /** Wires the stream's messages to this state. */
  follow(stream) {
    stream.addEventListener('snapshot', (e) => this.applySnapshot(e.detail));
    stream.addEventListener('call', (e) => this.applyCall(e.detail));
    stream.addEventListener('call_ended', (e) => this.applyCallEnded(e.detail));
    stream.addEventListener('device_state', (e) => this.applyDevice(e.detail));
    stream.addEventListener('presence', (e) => this.applyPresence(e.detail));
    stream.addEventListener('link', (e) => this.applyLink(e.detail));
  }

  applySnapshot(snapshot) {
    this.calls = new Map(snapshot.calls.filter((c) => this.isMine(c)).map((c) => [c.id, c]));
    this.devices = new Map(snapshot.devices.map((d) => [d.device_id, d]));
    this.presence = new Map(snapshot.presence.map((p) => [p.user_id, p]));
    this.links = new Map(snapshot.links.map((l) => [l.pbx_id, l]));
    for (const kind of ['calls', 'devices', 'presence', 'links']) this.emit(kind);
  }

  isMine(call) {
    return !call.user_id || call.user_id === this.me.id;
  }

  applyCall(call) {
    if (!this.isMine(call)) return;
    const previous = this.calls.get(call.id);
    this.calls.set(call.id, call);
    this.emit('calls', { call, previous });
  }

  applyCallEnded(ended) {
    const call = this.calls.get(ended.id);
    this.calls.delete(ended.id);
    this.emit('calls');
    if (!ended.user_id || ended.user_id === this.me.id) this.emit('call-ended', { ...ended, call });
  }

  applyDevice(device) {
    this.devices.set(device.device_id, device);
    this.emit('devices', device);
  }

  applyPresence(presence) {
    this.presence.set(presence.user_id, presence);
    this.emit('presence', presence);
  }

  applyLink(link) {
    this.links.set(link.pbx_id, link);
    this.emit('links', link);
  }

  /** The user's own phones. */
  myDevices() {
    return [...this.devices.values()].filter((d) => d.user_id === this.me.id)
      .sort((a, b) => a.number.localeCompare(b.number, undefined, { numeric: true }));
  }

  /** A user's phone numbers, lowest first. */
  numbersOf(userId) {
    return [...this.devices.values()].filter((d) => d.user_id === userId)
      .map((d) => d.number)
      .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  }

  /** The colleague whose phone has `number`, if any. */
  userForNumber(number) {
    const device = [...this.devices.values()].find((d) => d.number === number);
    return device?.user_id ? this.presence.get(device.user_id) ?? null : null;
  }

  /** Everyone of the tenant but the user, by name. */
  colleagues() {
    return [...this.presence.values()].filter((p) => p.user_id !== this.me.id)
      .sort((a, b) => a.display_name.localeCompare(b.display_name));
  }

  /** The name to show for a call's far party: the server's, else a colleague's by number. */
  partyName(call) {
    return call.other?.name || (call.other?.number && this.userForNumber(call.other.number)?.display_name) || call.other?.number || 'Unknown caller';
  }

  /** A sentence when a telephone-system link is not up, else null. */
  linkProblem() {
    const down = [...this.links.values()].find((l) => l.state !== 'up');
    if (!down) return null;
    const what = down.state === 'connecting' ? 'Telephone system connecting' : 'Telephone system link down';
    return `${what} since ${dateTime(down.since)}${down.error ? `: ${down.error}` : ''} — calls cannot be controlled`;
  }
}
