// Licenses (system admin): this installation's system id, the pool per type, license use
// over time (polled, drawn as a chart while the page is open), use per tenant, and the
// loaded license files — load by pasting or choosing a file, unload.

import { api } from '../../api.js';
import { field, h } from '../../dom.js';
import { dateTime } from '../../format.js';
import { confirmDialog } from '../../ui/dialog.js';
import { button } from '../../ui/panel.js';
import { statusLine } from '../../ui/status.js';
import { dataTable, rowActions } from '../../ui/table.js';
import { meter } from '../admin/usage.js';
import { lineChart } from './chart.js';

const POLL_MS = 5000;
const MAX_SAMPLES = 720;
const CLIENT_TYPES = new Set(['desktop', 'attendant', 'wallboard', 'mobile', 'crm', 'api']);

/** Samples of in_use per client type, kept while the page is open (across tab switches). */
const history = [];

function record(usage) {
  const totals = {};
  for (const tenant of usage.tenants) {
    for (const [type, use] of Object.entries(tenant.licenses)) totals[type] = (totals[type] ?? 0) + use.in_use;
  }
  history.push({ t: Date.now(), totals });
  if (history.length > MAX_SAMPLES) history.shift();
}

function chartSeries(pool) {
  const types = [...new Set([
    ...Object.keys(pool).filter((t) => CLIENT_TYPES.has(t) && pool[t].total > 0),
    ...history.flatMap((s) => Object.keys(s.totals)),
  ])].sort();
  return types.map((name) => ({ name, points: history.map((s) => ({ t: s.t, v: s.totals[name] ?? 0 })) }));
}

export function renderLicenses(panel) {
  const status = statusLine();
  const overview = h('div', { class: 'license-overview' }, h('p', { class: 'muted', text: 'Loading…' }));
  const chart = h('div', { class: 'chart-box' });
  const tenantUse = h('div');
  const loaded = h('div');
  panel.append(
    h('div', { class: 'panel-head' }, h('div', {}, h('h2', { text: 'Licenses' }),
      h('p', { class: 'muted', text: 'Signed license files bound to this installation. Loading several adds them up; no restart is needed.' }))),
    status.element,
    overview,
    h('section', { class: 'card', 'aria-labelledby': 'chart-title' },
      h('h3', { id: 'chart-title', text: 'Licenses in use over time' }),
      h('p', { class: 'muted small', text: `Sampled every ${POLL_MS / 1000} s while this page is open.` }),
      chart),
    h('section', { class: 'card', 'aria-labelledby': 'use-title' }, h('h3', { id: 'use-title', text: 'Use per tenant' }),
      h('p', { class: 'muted small', text: 'Licenses in use now, with the tenant’s cap and reservation and today’s peak.' }), tenantUse),
    loadForm(status, () => refresh()),
    h('section', { class: 'card', 'aria-labelledby': 'loaded-title' }, h('h3', { id: 'loaded-title', text: 'Loaded licenses' }), loaded));

  let disposed = false;
  async function refresh() {
    try {
      const [licenses, usage] = await Promise.all([api.get('/api/v1/licenses'), api.get('/api/v1/licenses/usage')]);
      if (disposed) return;
      record(usage);
      overview.replaceChildren(poolView(licenses));
      chart.replaceChildren(lineChart({ title: 'Licenses in use', series: chartSeries(licenses.pool) }));
      tenantUse.replaceChildren(tenantUseTable(usage, licenses.pool));
      loaded.replaceChildren(loadedTable(licenses.licenses, unload));
    } catch (error) {
      if (!disposed) status.error(error);
    }
  }

  async function unload(license) {
    const yes = await confirmDialog({
      title: 'Unload this license?',
      message: `License ${license.id} (${license.customer ?? 'no customer'}) stops counting at once. Refused while tenants or reservations depend on it.`,
      confirmLabel: 'Unload',
    });
    if (!yes) return;
    try {
      await api.delete(`/api/v1/licenses/${encodeURIComponent(license.id)}`);
      status.success('The license was unloaded.');
    } catch (error) {
      status.error(error);
    }
    refresh();
  }

  refresh();
  const timer = setInterval(refresh, POLL_MS);
  return () => {
    disposed = true;
    clearInterval(timer);
  };
}

/** Stored licenses that no trusted key verified at start: not counted until fixed. */
function unverifiedNotice(licenses) {
  const unverified = licenses.unverified ?? [];
  if (unverified.length === 0) return null;
  return h('div', { class: 'notice warning unverified-licenses', role: 'alert' },
    h('p', { text: `${unverified.length} stored license${unverified.length === 1 ? ' is' : 's are'} not counted: no trusted key verifies ${unverified.length === 1 ? 'it' : 'them'}. Configure the vendor's public key (UCPLUS_LICENSE_PUBLIC_KEYS) and restart.` }),
    h('ul', {}, ...unverified.map((l) => h('li', {}, h('code', { text: l.id }), ` — ${l.reason}`))));
}

function poolView(licenses) {
  const rows = Object.entries(licenses.pool).map(([type, entry]) => ({ type, ...entry }));
  return h('div', { class: 'overview-grid' },
    unverifiedNotice(licenses),
    h('dl', { class: 'facts card' },
      h('dt', { text: 'System id' }), h('dd', {}, h('code', { class: 'system-id', text: licenses.system_id })),
      h('dt', { text: 'Mode' }), h('dd', { text: licenses.mode === 'multi_tenant' ? 'Multi-tenant' : 'Single-tenant' })),
    h('section', { class: 'card', 'aria-labelledby': 'pool-title' },
      h('h3', { id: 'pool-title', text: 'Pool' }),
      dataTable({
        caption: 'License pool',
        rows,
        rowKey: (r) => r.type,
        empty: 'No licenses are loaded.',
        columns: [
          { label: 'Type', render: (r) => h('strong', { text: r.type }) },
          { label: 'Total', class: 'pool-total', render: (r) => String(r.total) },
          { label: 'In use', class: 'pool-in-use', render: (r) => h('span', { class: 'with-meter' }, String(r.in_use), meter(r.in_use, r.total, `${r.type}: ${r.in_use} of ${r.total} in use`)) },
        ],
      })));
}

/** One row per tenant, one column per client type: in use, cap, reservation, peak. */
function tenantUseTable(usage, pool) {
  const types = [...CLIENT_TYPES].filter((t) => (pool[t]?.total ?? 0) > 0
    || usage.tenants.some((tenant) => tenant.licenses[t]?.in_use));
  const cell = (use) => {
    if (!use) return '0';
    const limits = [use.cap !== null ? `cap ${use.cap}` : null, use.reserved ? `reserved ${use.reserved}` : null].filter(Boolean);
    return h('span', { class: 'use-cell' },
      h('strong', { text: String(use.in_use) }),
      limits.length ? h('span', { class: 'muted small', text: ` / ${limits.join(', ')}` }) : null,
      h('span', { class: 'muted small peak', text: `peak ${use.peak}` }));
  };
  return dataTable({
    caption: 'License use per tenant',
    rows: usage.tenants,
    rowKey: (t) => t.slug,
    empty: 'There are no tenants.',
    columns: [
      { label: 'Tenant', render: (t) => h('strong', { text: t.name }) },
      ...types.map((type) => ({ label: type, render: (t) => cell(t.licenses[type]) })),
    ],
  });
}

function loadedTable(licenses, unload) {
  return dataTable({
    caption: 'Loaded licenses',
    rows: licenses,
    rowKey: (l) => l.id,
    empty: 'No license is loaded: the server runs single-tenant with no client licenses.',
    columns: [
      { label: 'License', render: (l) => h('code', { title: l.id, text: l.id.slice(0, 8) }) },
      { label: 'Customer', render: (l) => l.customer ?? '' },
      { label: 'Grants', render: (l) => h('span', { class: 'chips' }, Object.entries(l.items).map(([type, n]) => h('span', { class: 'chip', text: `${type} × ${n}` }))) },
      { label: 'Issued', render: (l) => l.issued },
      { label: 'Expires', render: (l) => (l.expired ? h('strong', { class: 'bad', text: `${l.expires} (expired)` }) : l.expires ?? 'never') },
      { label: 'Loaded', render: (l) => (l.loaded_at ? dateTime(l.loaded_at) : '') },
      { label: 'Actions', class: 'actions-cell', render: (l) => rowActions(button('Unload', () => unload(l), { kind: 'danger', ariaLabel: `Unload license ${l.id.slice(0, 8)}` })) },
    ],
  });
}

/** Paste a license file's text or choose the file, then load it. */
function loadForm(status, onLoaded) {
  const file = h('input', { type: 'file', accept: '.lic,.txt,text/plain' });
  const text = h('textarea', { rows: 6, spellcheck: 'false', placeholder: '-----BEGIN UCPLUS LICENSE-----\n…' });
  const submit = h('button', { type: 'submit', class: 'button primary', text: 'Load license' });
  const form = h('form', { class: 'card', 'aria-labelledby': 'load-title' },
    h('h3', { id: 'load-title', text: 'Load a license' }),
    field('License file', file),
    field('…or paste its text', text),
    h('div', { class: 'actions' }, submit));
  file.addEventListener('change', async () => {
    if (file.files[0]) text.value = await file.files[0].text();
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const content = file.files[0] && !text.value.trim() ? await file.files[0].text() : text.value;
    if (!content.trim()) {
      status.error('Choose a license file or paste its text.');
      return;
    }
    submit.disabled = true;
    try {
      const license = await api.post('/api/v1/licenses', content, { contentType: 'text/plain; charset=utf-8' });
      const grants = Object.entries(license.items).map(([type, n]) => `${type} × ${n}`).join(', ');
      status.success(`License loaded: ${grants}.`);
      text.value = '';
      file.value = '';
      onLoaded();
    } catch (error) {
      status.error(error);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}
