// The system admin console: licenses and their use, tenants, phone systems with their
// live link states, the nodes and the links each runs, and the audit log of the whole
// installation.

import { api } from '../../api.js';
import { h } from '../../dom.js';
import { EventStream } from '../../ws.js';
import { end } from '../../session.js';
import { renderAudit } from '../admin/audit.js';
import { consoleShell } from '../console.js';
import { connectionIndicator } from '../connection.js';
import { renderLicenses } from './licenses.js';
import { renderNodes } from './nodes.js';
import { renderPbxs } from './pbxs.js';
import { renderTenants } from './tenants.js';

export function mountSystemConsole(main, session) {
  const stream = new EventStream();
  const links = { states: new Map(), events: new EventTarget() };
  const onLink = (link) => {
    links.states.set(link.pbx_id, link);
    links.events.dispatchEvent(new CustomEvent('link', { detail: link }));
  };
  stream.addEventListener('snapshot', (event) => event.detail.links.forEach(onLink));
  stream.addEventListener('link', (event) => onLink(event.detail));
  stream.addEventListener('session-ended', () => end('Your session has ended. Please log in again.'));
  const indicator = connectionIndicator(stream);

  const renderAuditWithTenants = (panel) => {
    const holder = h('div');
    panel.append(holder);
    let cleanup = null;
    let disposed = false;
    api.get('/api/v1/tenants').then((tenants) => {
      if (!disposed) cleanup = renderAudit(holder, { tenants });
    }, () => {
      if (!disposed) cleanup = renderAudit(holder, { tenants: [] });
    });
    return () => {
      disposed = true;
      cleanup?.();
    };
  };

  const shell = consoleShell(main, {
    title: 'System administration',
    subtitle: 'Hosting provider console',
    session,
    base: '/system',
    extra: [indicator.element],
    items: [
      { id: 'licenses', label: 'Licenses', render: (panel) => renderLicenses(panel) },
      { id: 'tenants', label: 'Tenants', render: (panel) => renderTenants(panel) },
      { id: 'pbxs', label: 'Phone systems', render: (panel) => renderPbxs(panel, { links }) },
      { id: 'nodes', label: 'Nodes', render: (panel) => renderNodes(panel) },
      { id: 'audit', label: 'Audit log', render: renderAuditWithTenants },
    ],
  });
  stream.start();
  return {
    dispose() {
      stream.stop();
      indicator.dispose();
      shell.dispose();
    },
  };
}
