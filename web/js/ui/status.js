// A panel's status line: success and error messages, read out by screen readers.

import { ApiError } from '../api.js';
import { h } from '../dom.js';

/** The API's sentence and its stable code, e.g. "No license is free (pool_exhausted)". */
export function describeError(error) {
  if (error instanceof ApiError) return `${error.message} (${error.code})`;
  return error?.message ?? String(error);
}

/** Answers `{element, success(text), error(errorOrText), clear()}`. */
export function statusLine() {
  const element = h('p', { class: 'status-line', role: 'status', 'aria-live': 'polite', hidden: true });
  let timer = null;
  const show = (text, kind, sticky) => {
    clearTimeout(timer);
    element.textContent = text;
    element.className = `status-line ${kind}`;
    element.hidden = false;
    if (!sticky) timer = setTimeout(() => { element.hidden = true; }, 6000);
  };
  return {
    element,
    success: (text) => show(text, 'success', false),
    error: (error) => show(typeof error === 'string' ? error : describeError(error), 'error', true),
    clear: () => { element.hidden = true; },
  };
}
