// Small DOM helpers: build elements, update keyed lists in place, announce to screen readers.

/**
 * Creates an element. `props`: `class`, `text`, `on: {event: fn}`, `dataset`, boolean
 * properties (`hidden`, `disabled`, `checked`), and any other attribute (`aria-*`, `for`...).
 * Children may be nodes, strings, arrays, or null/false (skipped).
 */
export function h(tag, props = {}, ...children) {
  const element = tag.startsWith('svg:')
    ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4))
    : document.createElement(tag);
  for (const [name, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') element.setAttribute('class', value);
    else if (name === 'text') element.textContent = value;
    else if (name === 'on') for (const [event, fn] of Object.entries(value)) element.addEventListener(event, fn);
    else if (name === 'dataset') Object.assign(element.dataset, value);
    else if (name === 'value' && 'value' in element) element.value = value;
    else if (['hidden', 'disabled', 'checked', 'selected', 'required', 'multiple', 'open'].includes(name)) element[name] = Boolean(value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else element.append(child instanceof Node ? child : String(child));
  }
}

/**
 * Updates `container`'s children to match `items` by key, reusing the elements of items
 * that stay (so focus and typed text survive an update). `create(item)` makes an element,
 * `update(element, item)` refreshes it.
 */
export function syncKeyed(container, items, key, create, update) {
  const existing = new Map();
  for (const child of [...container.children]) {
    if (child.dataset.key !== undefined) existing.set(child.dataset.key, child);
  }
  let previous = null;
  for (const item of items) {
    const id = String(key(item));
    let element = existing.get(id);
    if (element) existing.delete(id);
    else {
      element = create(item);
      element.dataset.key = id;
    }
    update(element, item);
    const wanted = previous ? previous.nextElementSibling : container.firstElementChild;
    if (wanted !== element) container.insertBefore(element, wanted);
    previous = element;
  }
  for (const stale of existing.values()) stale.remove();
}

let announceTimer = null;

/** Says `message` to screen-reader users (polite live region). */
export function announce(message) {
  const region = document.getElementById('announcer');
  if (!region) return;
  region.textContent = '';
  clearTimeout(announceTimer);
  announceTimer = setTimeout(() => { region.textContent = message; }, 50);
}

/** A labelled form control: `<div class=field><label>…</label>control hint</div>`. */
export function field(label, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 10)}`;
  control.id = id;
  const hintElement = hint ? h('p', { class: 'hint', id: `${id}-hint`, text: hint }) : null;
  if (hintElement) control.setAttribute('aria-describedby', hintElement.id);
  return h('div', { class: 'field' }, h('label', { for: id, text: label }), control, hintElement);
}

/** Runs `fn` at most once per `ms`, after the last call. */
export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
