// The tenant admin console: the tenant's users, devices, sites, directory contacts,
// license use and audit log — nothing of any other tenant.

import { consoleShell } from '../console.js';
import { renderAudit } from './audit.js';
import { renderContacts } from './contacts.js';
import { renderDevices } from './devices.js';
import { renderSites } from './sites.js';
import { renderUsage } from './usage.js';
import { renderUsers } from './users.js';

export function mountTenantConsole(main, session) {
  return consoleShell(main, {
    title: `${session.tenant?.name ?? 'Tenant'} administration`,
    subtitle: `Tenant console · ${session.tenant?.slug ?? ''}`,
    session,
    base: '/admin',
    items: [
      { id: 'users', label: 'Users', render: (panel) => renderUsers(panel, session) },
      { id: 'devices', label: 'Devices', render: (panel) => renderDevices(panel) },
      { id: 'sites', label: 'Sites', render: (panel) => renderSites(panel) },
      { id: 'contacts', label: 'Contacts', render: (panel) => renderContacts(panel) },
      { id: 'licenses', label: 'License use', render: (panel) => renderUsage(panel) },
      { id: 'audit', label: 'Audit log', render: (panel) => renderAudit(panel, {}) },
    ],
  });
}
