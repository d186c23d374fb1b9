// The live event stream (`/api/v1/events`): a WebSocket that reconnects by itself with
// exponential backoff. Each message `{type, data}` is dispatched as an event of that type;
// `status` events tell the connection state for the banner.

import { api, currentToken } from './api.js';

/** Close codes of the server. */
const SESSION_ENDED = 4001;
const TOO_SLOW = 4008;

const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 30000;

export class EventStream extends EventTarget {
  constructor() {
    super();
    this.socket = null;
    this.attempts = 0;
    this.timer = null;
    this.stopped = true;
    /** `connecting`, `open`, `reconnecting` (with `retryAt`) or `closed`. */
    this.status = 'closed';
    this.retryAt = null;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.socket) {
      this.socket.onclose = null;
      this.socket.close(1000, 'bye');
      this.socket = null;
    }
    this.setStatus('closed');
  }

  setStatus(status, retryAt = null) {
    this.status = status;
    this.retryAt = retryAt;
    this.dispatchEvent(new CustomEvent('status', { detail: { status, retryAt } }));
  }

  connect() {
    if (this.stopped) return;
    const token = currentToken();
    if (!token) return;
    const url = new URL('/api/v1/events', location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('token', token);
    this.setStatus(this.attempts === 0 ? 'connecting' : 'reconnecting');
    const socket = new WebSocket(url);
    this.socket = socket;
    let opened = false;
    socket.onopen = () => {
      opened = true;
      this.attempts = 0;
      this.setStatus('open');
    };
    socket.onmessage = (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message && typeof message.type === 'string') {
        this.dispatchEvent(new CustomEvent(message.type, { detail: message.data }));
      }
    };
    socket.onerror = () => {
      // The close event follows and decides what to do.
    };
    socket.onclose = (event) => {
      this.socket = null;
      if (this.stopped) return;
      if (event.code === SESSION_ENDED) {
        this.stopped = true;
        this.setStatus('closed');
        this.dispatchEvent(new CustomEvent('session-ended', { detail: event.reason }));
        return;
      }
      if (!opened) this.checkSession();
      this.scheduleReconnect(event.code === TOO_SLOW ? 0 : null);
    };
  }

  /** A socket that never opened may mean the session is gone: a request tells (401 ends it). */
  checkSession() {
    api.get('/api/v1/me').catch(() => {});
  }

  scheduleReconnect(delayMs) {
    const backoff = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** this.attempts);
    const delay = delayMs ?? Math.round(backoff * (0.5 + Math.random() / 2));
    this.attempts += 1;
    this.setStatus('reconnecting', Date.now() + delay);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  /** Reconnects now instead of waiting (the banner's "Retry now"). */
  retryNow() {
    if (this.stopped || this.socket) return;
    clearTimeout(this.timer);
    this.connect();
  }
}
