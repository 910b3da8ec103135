// The dashboard's cluster card: every node's health and figures, the totals, and drain/resume per node.
// Hidden for a relay that runs alone. Loaded before app.js, whose helpers it uses at run time.
'use strict';

function renderNodes(list) {
  $('nodes-card').hidden = !list.self;
  if (!list.self) return;
  const rows = list.nodes.map((n) => {
    const path = `/api/v1/nodes/${encodeURIComponent(n.id)}`;
    const action = n.draining
      ? el('button', { type: 'button', onclick: (e) => act(e, 'POST', `${path}/resume`) }, 'Resume')
      : el('button', { type: 'button', onclick: (e) => act(e, 'POST', `${path}/drain`) }, 'Drain');
    return el('tr', { 'data-node': n.id },
      el('td', {}, n.id + (n.id === list.self ? ' (this node)' : '')),
      el('td', { class: n.health === 'live' ? '' : 'state-drain' }, n.health),
      el('td', {}, n.advertise), el('td', {}, `${n.agents}`), el('td', {}, `${n.clients}`),
      el('td', {}, `${n.pairs}`), el('td', {}, bytes(n.bytesIn)), el('td', {}, bytes(n.bytesOut)),
      el('td', { class: 'admin-only' }, n.health === 'gone' ? '' : action));
  });
  const t = list.total;
  $('nodes').tBodies[0].replaceChildren(...rows, el('tr', { class: 'total' },
    el('td', {}, 'Total'), el('td', {}, `${t.nodes} live`), el('td', {}), el('td', {}, `${t.agents}`),
    el('td', {}, `${t.clients}`), el('td', {}, `${t.pairs}`), el('td', {}, bytes(t.bytesIn)),
    el('td', {}, bytes(t.bytesOut)), el('td', { class: 'admin-only' })));
}
