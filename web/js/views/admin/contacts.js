// The tenant's shared directory contacts: add, edit, delete, and import from CSV with an
// upload progress bar and the report of rows that could not be imported.

import { api, upload } from '../../api.js';
import { field, h } from '../../dom.js';
import { confirmDialog, formDialog } from '../../ui/dialog.js';
import { button, resourcePanel } from '../../ui/panel.js';
import { describeError } from '../../ui/status.js';
import { dataTable, rowActions } from '../../ui/table.js';

/** "work: +49 30 1234" per line ↔ `[{label, number}]`. */
function numbersToText(numbers) {
  return numbers.map((n) => (n.label ? `${n.label}: ${n.number}` : n.number)).join('\n');
}

function textToNumbers(text) {
  return text.split('\n').map((line) => line.trim()).filter(Boolean).map((line) => {
    const match = line.match(/^([^:]+):\s*(.+)$/);
    return match ? { label: match[1].trim(), number: match[2].trim() } : { label: null, number: line };
  });
}

export function renderContacts(panel) {
  const view = resourcePanel(panel, {
    title: 'Directory contacts',
    description: 'Shared contacts everyone in your organization finds in the directory; callers’ names are resolved from them.',
    toolbar: [
      button('Import CSV', () => importSection.toggle(), { kind: '' }),
      button('Add contact', () => edit(null), { kind: 'primary' }),
    ],
    load: () => api.get('/api/v1/contacts'),
    render: (contacts) => dataTable({
      caption: 'Directory contacts',
      rows: contacts.sort((a, b) => a.name.localeCompare(b.name)),
      rowKey: (c) => c.name,
      empty: 'No contacts yet: add one or import a CSV file.',
      columns: [
        { label: 'Name', render: (c) => h('strong', { text: c.name }) },
        { label: 'Company', render: (c) => c.company ?? '' },
        { label: 'E-mail', render: (c) => c.email ?? '' },
        { label: 'Numbers', render: (c) => h('span', { class: 'numbers' }, c.numbers.map((n) => h('span', { text: n.label ? `${n.label}: ${n.number}` : n.number }))) },
        {
          label: 'Actions',
          class: 'actions-cell',
          render: (c) => rowActions(
            button('Edit', () => edit(c), { ariaLabel: `Edit ${c.name}` }),
            button('Delete', () => remove(c), { kind: 'danger', ariaLabel: `Delete ${c.name}` })),
        },
      ],
    }),
  });
  const importSection = csvImport(() => view.refresh());
  panel.querySelector('.panel-head').after(importSection.element);

  async function edit(contact) {
    const saved = await formDialog({
      title: contact ? `Edit ${contact.name}` : 'Add contact',
      fields: [
        { name: 'name', label: 'Name', value: contact?.name ?? '', required: true },
        { name: 'company', label: 'Company', value: contact?.company ?? '' },
        { name: 'email', label: 'E-mail', type: 'email', value: contact?.email ?? '' },
        { name: 'numbers', label: 'Numbers', type: 'textarea', rows: 3, value: numbersToText(contact?.numbers ?? []), hint: 'One per line, optionally with a label: “mobile: +49 171 555 0101”.' },
      ],
      onSubmit: (v) => {
        const body = {
          name: v.name.trim(),
          company: v.company.trim() || null,
          email: v.email.trim() || null,
          numbers: textToNumbers(v.numbers),
        };
        return contact ? api.put(`/api/v1/contacts/${contact.id}`, body) : api.post('/api/v1/contacts', body);
      },
    });
    if (saved) {
      view.status.success(`Contact ${saved.name} was saved.`);
      view.refresh();
    }
  }

  async function remove(contact) {
    if (!await confirmDialog({ title: `Delete ${contact.name}?`, message: 'The contact disappears from everyone’s directory.' })) return;
    try {
      await api.delete(`/api/v1/contacts/${contact.id}`);
      view.status.success(`Contact ${contact.name} was deleted.`);
      view.refresh();
    } catch (error) {
      view.status.error(error);
    }
  }

  return () => view.dispose();
}

/** The import form: a file or pasted text, a progress bar, then the report. */
function csvImport(onImported) {
  const file = h('input', { type: 'file', accept: '.csv,text/csv,text/plain' });
  const text = h('textarea', { rows: 5, spellcheck: 'false', placeholder: 'name,company,email,phone,mobile\nPizza Planet,,,+49 30 555 010,' });
  const progress = h('progress', { max: '1', hidden: true, 'aria-label': 'Import progress' });
  const progressText = h('span', { class: 'muted small', 'aria-live': 'polite' });
  const report = h('div', { class: 'import-report' });
  const submit = h('button', { type: 'submit', class: 'button primary', text: 'Import' });
  const form = h('form', { class: 'card import', 'aria-labelledby': 'import-title' },
    h('h3', { id: 'import-title', text: 'Import contacts from CSV' }),
    h('p', { class: 'muted small', text: 'The first line names the columns: name (required), company, email, and numbers as phone, work, mobile, home or number. Good rows are imported; bad rows are listed below.' }),
    field('CSV file', file),
    field('…or paste CSV', text),
    h('div', { class: 'actions' }, submit, progress, progressText),
    report);
  const element = h('section', { class: 'import-section', hidden: true }, form);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const content = file.files[0] ? await file.files[0].text() : text.value;
    report.replaceChildren();
    if (!content.trim()) {
      report.append(h('p', { class: 'form-error', role: 'alert', text: 'Choose a CSV file or paste its text.' }));
      return;
    }
    submit.disabled = true;
    progress.hidden = false;
    progress.removeAttribute('value');
    progressText.textContent = 'Uploading…';
    try {
      const result = await upload('/api/v1/contacts/import', content, 'text/csv; charset=utf-8', (fraction) => {
        progress.value = fraction;
        progressText.textContent = fraction < 1 ? `Uploading… ${Math.round(fraction * 100)} %` : 'Importing…';
      });
      progress.value = 1;
      progressText.textContent = 'Done.';
      report.append(h('p', { class: result.errors.length ? 'notice warning' : 'notice success', role: 'status',
        text: `Imported ${result.imported} contact${result.imported === 1 ? '' : 's'}${result.errors.length ? `; ${result.errors.length} row${result.errors.length === 1 ? '' : 's'} could not be imported.` : '.'}` }));
      if (result.errors.length) {
        report.append(dataTable({
          caption: 'Rows that were not imported',
          rows: result.errors,
          columns: [
            { label: 'Line', render: (e) => String(e.row) },
            { label: 'Problem', render: (e) => e.message },
          ],
        }));
      }
      file.value = '';
      onImported();
    } catch (error) {
      progress.hidden = true;
      progressText.textContent = '';
      report.append(h('p', { class: 'form-error', role: 'alert', text: describeError(error) }));
    } finally {
      submit.disabled = false;
    }
  });

  return {
    element,
    toggle() {
      element.hidden = !element.hidden;
      if (!element.hidden) file.focus();
    },
  };
}
