// The nodes of the installation (GET /api/v1/cluster): each node's state, last lease
// renewal and the phone-system links it runs, refreshed every few seconds. One node on its
// SQLite data directory shows as itself.

import { api } from '../../api.js';
import { h } from '../../dom.js';
import { dateTime, fullDateTime } from '../../format.js';
import { button, resourcePanel } from '../../ui/panel.js';
import { dataTable } from '../../ui/table.js';

const STATE_CLASSES = { active: 'link-up', fenced: 'link-connecting', expired: 'link-down' };
const STATE_LABELS = { active: 'Active', fenced: 'Fenced (links stopped)', expired: 'Expired (links moving on)' };
const REFRESH_MS = 3000;

export function renderNodes(panel) {
  let names = new Map();
  const view = resourcePanel(panel, {
    title: 'Nodes',
    description: 'The servers of this installation. Each phone-system link runs on one node; when a node stops or dies, another takes its links.',
    toolbar: [button('Refresh', () => view.refresh())],
    load: async () => {
      const [cluster, pbxs] = await Promise.all([api.get('/api/v1/cluster'), api.get('/api/v1/pbxs')]);
      names = new Map(pbxs.map((p) => [p.id, p.name]));
      return cluster.nodes;
    },
    render: (nodes) => dataTable({
      caption: 'Nodes',
      rows: nodes,
      rowKey: (n) => n.name,
      columns: [
        { label: 'Node', render: (n) => h('span', {}, h('strong', { text: n.name }), n.this ? h('span', { class: 'muted small', text: ' (this one)' }) : null) },
        { label: 'State', class: 'node-state', render: (n) => h('span', { class: `badge ${STATE_CLASSES[n.state] ?? 'neutral'}`, text: STATE_LABELS[n.state] ?? n.state }) },
        { label: 'Last renewal', render: (n) => h('time', { datetime: n.last_renewal, title: fullDateTime(n.last_renewal), text: dateTime(n.last_renewal) }) },
        {
          label: 'Phone-system links',
          class: 'node-links',
          render: (n) => (n.links.length
            ? h('ul', { class: 'plain' }, n.links.map((l) => h('li', { text: `${names.get(l.pbx_id) ?? l.pbx_id}: ${l.state ?? 'starting'}` })))
            : h('span', { class: 'muted', text: 'none' })),
        },
      ],
    }),
  });
  const timer = setInterval(() => view.refresh(), REFRESH_MS);
  return () => {
    clearInterval(timer);
    view.dispose();
  };
}
