// Modal dialogs (native <dialog>: focus stays inside, Escape cancels): a form whose
// submit calls the API and shows its errors by field, and a yes/no confirmation.

import { ApiError } from '../api.js';
import { h } from '../dom.js';

let dialogCount = 0;

function openModal(dialog) {
  const opener = document.activeElement;
  document.body.append(dialog);
  dialog.showModal();
  return () => {
    if (dialog.open) dialog.close();
    dialog.remove();
    if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
  };
}

/** One form control for a field description (see formDialog). */
function control(spec, id) {
  const common = { id, name: spec.name, required: spec.required, 'aria-describedby': spec.hint ? `${id}-hint` : null };
  switch (spec.type) {
    case 'select':
      return h('select', common, spec.options.map((o) => h('option', { value: o.value, selected: String(o.value) === String(spec.value ?? '') }, o.label)));
    case 'textarea':
      return h('textarea', { ...common, rows: spec.rows ?? 6, spellcheck: 'false' }, spec.value ?? '');
    case 'checkboxes':
      return h('fieldset', { class: 'checkboxes', id },
        h('legend', { text: spec.label }),
        spec.options.map((o) => h('label', { class: 'check' },
          h('input', { type: 'checkbox', name: spec.name, value: o.value, checked: (spec.value ?? []).includes(o.value) }),
          ` ${o.label}`)));
    default:
      return h('input', {
        ...common,
        type: spec.type ?? 'text',
        value: spec.value ?? '',
        autocomplete: spec.autocomplete ?? 'off',
        placeholder: spec.placeholder,
        min: spec.min,
        inputmode: spec.inputmode,
      });
  }
}

function readValues(form, fields) {
  const values = {};
  for (const spec of fields) {
    if (spec.type === 'checkboxes') {
      values[spec.name] = [...form.querySelectorAll(`input[name="${spec.name}"]:checked`)].map((i) => i.value);
    } else if (spec.type === 'number') {
      const text = form.elements[spec.name].value.trim();
      values[spec.name] = text === '' ? null : Number(text);
    } else {
      values[spec.name] = form.elements[spec.name].value;
    }
  }
  return values;
}

/**
 * Shows a form. `fields`: `{name, label, type (text|password|email|number|select|textarea|
 * checkboxes), options: [{value, label}], value, required, hint}`. `onSubmit(values)` may
 * throw an ApiError: its message and field errors are shown and the dialog stays open.
 * Resolves with what `onSubmit` returned, or null when cancelled.
 */
export function formDialog({ title, description, fields, submitLabel = 'Save', onSubmit }) {
  return new Promise((resolve) => {
    dialogCount += 1;
    const prefix = `dlg${dialogCount}`;
    const errorBox = h('div', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true });
    const fieldErrors = new Map();
    const rows = fields.map((spec) => {
      const id = `${prefix}-${spec.name}`;
      const input = control(spec, id);
      const error = h('p', { class: 'field-error', id: `${id}-error`, role: 'alert', hidden: true });
      fieldErrors.set(spec.name, { error, input });
      if (spec.type === 'checkboxes') return h('div', { class: 'field' }, input, error);
      return h('div', { class: 'field' },
        h('label', { for: id, text: spec.label }),
        input,
        spec.hint ? h('p', { class: 'hint', id: `${id}-hint`, text: spec.hint }) : null,
        error);
    });
    const submit = h('button', { type: 'submit', class: 'button primary', text: submitLabel });
    const cancel = h('button', { type: 'button', class: 'button', text: 'Cancel' });
    const form = h('form', { class: 'dialog-form', novalidate: true },
      h('h2', { id: `${prefix}-title`, text: title }),
      description ? h('p', { class: 'muted', text: description }) : null,
      errorBox, rows,
      h('div', { class: 'actions' }, cancel, submit));
    const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': `${prefix}-title` }, form);
    const close = openModal(dialog);
    let finished = false;
    const finish = (value) => {
      if (finished) return;
      finished = true;
      close();
      resolve(value);
    };
    cancel.addEventListener('click', () => finish(null));
    dialog.addEventListener('cancel', (event) => {
      event.preventDefault();
      finish(null);
    });
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      for (const { error, input } of fieldErrors.values()) {
        error.hidden = true;
        input.removeAttribute('aria-invalid');
      }
      errorBox.hidden = true;
      const missing = fields.filter((f) => f.required && f.type !== 'checkboxes' && !String(form.elements[f.name].value).trim());
      if (missing.length) {
        showErrors(new ApiError(400, 'validation_failed', 'Please fill in the required fields.',
          missing.map((f) => ({ field: f.name, message: 'is required' }))));
        return;
      }
      submit.disabled = true;
      form.setAttribute('aria-busy', 'true');
      try {
        finish(await onSubmit(readValues(form, fields)) ?? true);
      } catch (error) {
        showErrors(error);
      } finally {
        submit.disabled = false;
        form.removeAttribute('aria-busy');
      }
    });
    (form.querySelector('input, select, textarea') ?? submit).focus();

    function showErrors(error) {
      const unplaced = [];
      for (const problem of error.fields ?? []) {
        const name = String(problem.field).split(/[.[]/)[0];
        const target = fieldErrors.get(problem.field) ?? fieldErrors.get(name)
          ?? fieldErrors.get(String(problem.field).replace(/^admin\./, 'admin_'));
        if (target) {
          target.error.textContent = problem.message;
          target.error.hidden = false;
          target.input.setAttribute('aria-invalid', 'true');
          // The message is announced (role alert) and read with the field: described by it.
          const described = new Set((target.input.getAttribute('aria-describedby') ?? '').split(' ').filter(Boolean));
          described.add(target.error.id);
          target.input.setAttribute('aria-describedby', [...described].join(' '));
          target.input.setAttribute('aria-errormessage', target.error.id);
        } else {
          unplaced.push(`${problem.field}: ${problem.message}`);
        }
      }
      const code = error instanceof ApiError ? ` (${error.code})` : '';
      errorBox.replaceChildren(
        h('p', { text: `${error.message}${code}` }),
        unplaced.length ? h('ul', {}, unplaced.map((text) => h('li', { text }))) : null,
      );
      errorBox.hidden = false;
      const firstInvalid = form.querySelector('[aria-invalid="true"]');
      (firstInvalid ?? errorBox).focus?.();
    }
  });
}

/** Asks a yes/no question; resolves true when confirmed. */
export function confirmDialog({ title, message, confirmLabel = 'Delete', danger = true }) {
  return new Promise((resolve) => {
    dialogCount += 1;
    const id = `dlg${dialogCount}-title`;
    const yes = h('button', { type: 'button', class: danger ? 'button danger' : 'button primary', text: confirmLabel });
    const no = h('button', { type: 'button', class: 'button', text: 'Cancel' });
    const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': id, role: 'alertdialog' },
      h('h2', { id, text: title }),
      h('p', { text: message }),
      h('div', { class: 'actions' }, no, yes));
    const close = openModal(dialog);
    const finish = (answer) => {
      close();
      resolve(answer);
    };
    yes.addEventListener('click', () => finish(true));
    no.addEventListener('click', () => finish(false));
    dialog.addEventListener('cancel', (event) => {
      event.preventDefault();
      finish(false);
    });
    no.focus();
  });
}
