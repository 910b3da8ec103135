// The relay's dashboard: polls /api/v1 every two seconds, follows /api/v1/events, and (with an admin
// token) adds, deletes, drains and kicks. Data is only ever put into the page as text.
'use strict';

const REFRESH_MS = 2000;
const HISTORY_POINTS = 150; // five minutes of rates at one point per refresh

const state = {
  token: sessionStorage.getItem('gray.token'),
  scope: null,
  previous: new Map(), // server id -> { bytesIn, bytesOut, at }
  history: new Map(), // server id -> [{ in, out }]
  selected: null,
  timer: null,
  events: null,
};

const $ = (id) => document.getElementById(id);

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === 'class') node.className = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${state.token}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.status === 401) {
    logout('The relay refused the token.');
    throw new Error('unauthorized');
  }
  if (!response.ok) {
    let message = `HTTP ${response.status}`;
    try { message = (await response.json()).error || message; } catch { /* not JSON */ }
    throw new Error(message);
  }
  return response.status === 204 || response.status === 202 ? null : response.json();
}

function bytes(value) {
  if (value < 1024) return `${Math.max(0, Math.round(value))} B`;
  if (value < 1024 ** 2) return `${(value / 1024).toFixed(1)} KiB`;
  if (value < 1024 ** 3) return `${(value / 1024 ** 2).toFixed(1)} MiB`;
  return `${(value / 1024 ** 3).toFixed(2)} GiB`;
}

function age(since) {
  const seconds = Math.max(0, (Date.now() - new Date(since).getTime()) / 1000);
  if (seconds < 60) return `${Math.round(seconds)}s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)}m`;
  if (seconds < 86400) return `${(seconds / 3600).toFixed(1)}h`;
  return `${(seconds / 86400).toFixed(1)}d`;
}

// ---- login ----

async function login(token) {
  state.token = token;
  const me = await api('GET', '/api/v1/me');
  state.scope = me.scope;
  sessionStorage.setItem('gray.token', token);
  document.body.classList.toggle('read-only', state.scope !== 'admin');
  $('scope').textContent = `${state.scope} token`;
  $('scope').hidden = false;
  $('logout').hidden = false;
  $('login').hidden = true;
  $('app').hidden = false;
  await refresh();
  state.timer = setInterval(() => refresh().catch(() => {}), REFRESH_MS);
  followEvents();
}

function logout(reason) {
  sessionStorage.removeItem('gray.token');
  clearInterval(state.timer);
  state.events?.abort();
  state.token = null;
  $('app').hidden = true;
  $('scope').hidden = true;
  $('logout').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = reason || '';
}

// ---- refresh ----

async function refresh() {
  const [relay, list, nodes] = await Promise.all([api('GET', '/api/v1/relay'), api('GET', '/api/v1/servers'),
    api('GET', '/api/v1/nodes')]);
  renderRelay(relay);
  renderNodes(nodes);
  renderServers(list.servers);
  if (state.selected) await refreshClients();
}

function renderRelay(relay) {
  $('relay-summary').textContent = `v${relay.version} · up ${age(relay.startedAt)} · control ${relay.control}`;
  const l = relay.limits;
  const c = relay.connections;
  const rows = [
    ['Connections', c.total, l.maxConnections],
    ['Clients', c.clients, l.maxClients],
    ['Pending (not yet authenticated)', c.pending, l.maxPending],
    ['Agents', c.agents, null],
    ['Event subscribers', c.eventSubscribers, null],
  ];
  $('budgets').replaceChildren(...rows.map(([name, used, limit]) => {
    const bar = el('div', { class: 'bar' }, el('span'));
    const share = limit ? Math.min(1, used / limit) : 0;
    bar.firstChild.style.width = `${(share * 100).toFixed(1)}%`;
    bar.classList.toggle('high', share > 0.8);
    return el('div', { class: 'budget' },
      el('div', { class: 'label' }, el('span', {}, name), el('span', {}, limit ? `${used} / ${limit}` : `${used}`)),
      limit ? bar : el('span'));
  }), el('div', { class: 'budget' }, el('div', { class: 'label' }, el('span', {}, 'Draining every server'),
    el('span', { class: l.drainAll ? 'state-drain' : '' }, l.drainAll ? 'yes' : 'no'))));
}

function rates(server, now) {
  const last = state.previous.get(server.id);
  state.previous.set(server.id, { bytesIn: server.bytesIn, bytesOut: server.bytesOut, at: now });
  if (!last || now <= last.at) return null;
  const seconds = (now - last.at) / 1000;
  const rate = { in: Math.max(0, (server.bytesIn - last.bytesIn) / seconds),
    out: Math.max(0, (server.bytesOut - last.bytesOut) / seconds) };
  const history = state.history.get(server.id) || [];
  history.push(rate);
  if (history.length > HISTORY_POINTS) history.shift();
  state.history.set(server.id, history);
  return rate;
}

function sparkline(history) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('class', 'spark');
  svg.setAttribute('viewBox', `0 0 ${HISTORY_POINTS} 28`);
  svg.setAttribute('preserveAspectRatio', 'none');
  const frame = document.createElementNS(ns, 'rect');
  frame.setAttribute('class', 'frame');
  frame.setAttribute('width', HISTORY_POINTS);
  frame.setAttribute('height', 28);
  svg.append(frame);
  const top = Math.max(1, ...history.flatMap((p) => [p.in, p.out]));
  const offset = HISTORY_POINTS - history.length;
  const y = (value) => (27 - (value / top) * 23).toFixed(1);
  for (const direction of ['in', 'out']) {
    const points = history.map((p, i) => `${offset + i},${y(p[direction])}`);
    if (direction === 'in' && points.length > 1) {
      const area = document.createElementNS(ns, 'polygon');
      area.setAttribute('class', 'area');
      area.setAttribute('points', `${offset},28 ${points.join(' ')} ${HISTORY_POINTS - 1},28`);
      svg.append(area);
    }
    const line = document.createElementNS(ns, 'polyline');
    line.setAttribute('class', direction);
    line.setAttribute('points', points.join(' '));
    svg.append(line);
  }
  return svg;
}

// The limits of one direction, for a cell's tooltip.
function limitTitle(all, perClient) {
  return `limit: ${all ? `${bytes(all)}/s` : 'none'}; per client: ${perClient ? `${bytes(perClient)}/s` : 'none'}`;
}

function renderServers(servers) {
  const now = Date.now();
  $('no-servers').hidden = servers.length > 0;
  $('servers').tBodies[0].replaceChildren(...servers.map((s) => {
    const rate = rates(s, now);
    const bw = s.rules.bandwidth;
    const agent = s.agent
      ? el('span', { class: 'state-on', title: `${s.agent.address} · ${s.agent.software || 'agent'}` },
        `connected${s.agent.pingMilliseconds == null ? '' : ` · ${s.agent.pingMilliseconds.toFixed(1)} ms`}` +
        (s.agent.proxyProtocol ? ` · PROXY ${s.agent.proxyProtocol}` : ''))
      : el('span', { class: 'state-off' }, 'offline');
    const actions = el('div', { class: 'actions' },
      s.draining
        ? el('button', { type: 'button', onclick: (e) => act(e, 'POST', `/api/v1/servers/${s.id}/resume`) }, 'Resume')
        : el('button', { type: 'button', onclick: (e) => act(e, 'POST', `/api/v1/servers/${s.id}/drain`) }, 'Drain'),
      el('button', { type: 'button', onclick: (e) => editHosts(e, s) }, 'Hosts'),
      el('button', { type: 'button', class: 'danger', onclick: (e) => remove(e, s.id) }, 'Delete'));
    const row = el('tr', { class: 'selectable', 'data-server': s.id, onclick: () => selectServer(s.id) },
      el('td', {}, s.id, s.draining ? el('span', { class: 'state-drain' }, ' · draining') : ''),
      el('td', { title: s.udp ? `UDP: ${s.udp.flows} flows, ${s.udp.dropped} datagrams dropped` : '' },
        s.clientPort == null ? '–' : s.type === 'tcp' ? `${s.clientPort}` : `${s.clientPort}/${s.type}`),
      el('td', { class: 'hosts' }, (s.hosts || []).join(', ') || '–'),
      el('td', { class: 'agent' }, agent),
      el('td', { class: 'pool' }, s.agent ? `${s.agent.poolReady}/${s.agent.poolTarget}` : '–'),
      el('td', { class: 'pairs' }, s.activePairs),
      el('td', { class: 'rate-in', title: limitTitle(bw.in, bw.perClientIn) },
        (rate ? `${bytes(rate.in)}/s` : '–') + (bw.in ? ` ≤ ${bytes(bw.in)}/s` : '')),
      el('td', { class: 'rate-out', title: limitTitle(bw.out, bw.perClientOut) },
        (rate ? `${bytes(rate.out)}/s` : '–') + (bw.out ? ` ≤ ${bytes(bw.out)}/s` : '')),
      el('td', { class: 'chart', title: `in ${bytes(s.bytesIn)}, out ${bytes(s.bytesOut)} in all` },
        sparkline(state.history.get(s.id) || [])),
      el('td', { class: 'admin-only' }, actions));
    row.dataset.bytesIn = s.bytesIn;
    row.dataset.bytesOut = s.bytesOut;
    return row;
  }));
}

// ---- clients ----

function selectServer(id) {
  state.selected = id;
  $('clients-server').textContent = id;
  $('clients-card').hidden = false;
  refreshClients().catch(() => {});
}

async function refreshClients() {
  const id = state.selected;
  let clients;
  try {
    clients = await api('GET', `/api/v1/servers/${encodeURIComponent(id)}/clients`);
  } catch {
    $('clients-card').hidden = true;
    state.selected = null;
    return;
  }
  $('no-clients').hidden = clients.length > 0;
  $('clients').tBodies[0].replaceChildren(...clients.map((c) => el('tr', { 'data-client': c.id },
    el('td', {}, `${c.address}:${c.port}`),
    el('td', {}, age(c.since)),
    el('td', {}, bytes(c.bytesIn)),
    el('td', {}, bytes(c.bytesOut)),
    el('td', { class: 'admin-only' }, el('div', { class: 'actions' },
      el('button', { type: 'button', class: 'danger',
        onclick: (e) => act(e, 'DELETE', `/api/v1/servers/${id}/clients/${c.id}`) }, 'Kick'),
      el('button', { type: 'button', class: 'danger',
        onclick: (e) => act(e, 'POST', `/api/v1/servers/${id}/kick?client=${encodeURIComponent(c.address)}`) },
        'Kick address'))))));
}

// ---- actions ----

async function act(event, method, path, body) {
  event.stopPropagation();
  try {
    await api(method, path, body);
  } catch (error) {
    alert(error.message);
  }
  await refresh();
}

async function remove(event, id) {
  event.stopPropagation();
  if (!confirm(`Delete server ${id}? Its agent and clients are dropped and its ports freed.`)) return;
  await act(event, 'DELETE', `/api/v1/servers/${encodeURIComponent(id)}`);
}

// Names as typed: separated by spaces or commas.
function hostList(text) {
  return text.split(/[\s,]+/).filter((name) => name.length > 0);
}

async function editHosts(event, server) {
  event.stopPropagation();
  const text = prompt(`Host names of ${server.id} (spaces or commas between them):`, (server.hosts || []).join(' '));
  if (text === null) return;
  await act(event, 'PUT', `/api/v1/servers/${encodeURIComponent(server.id)}/hosts`, { hosts: hostList(text) });
}

async function addServer(event) {
  event.preventDefault();
  const id = $('add-id').value.trim();
  const hosts = hostList($('add-hosts').value);
  try {
    const added = await api('POST', '/api/v1/servers', hosts.length > 0 ? { id, hosts } : { id });
    $('added-id').textContent = added.id;
    $('added-secret').textContent = added.secret;
    $('added-command').textContent = added.agentCommand.replace('RELAY:', `${location.hostname}:`);
    $('add-id').value = '';
    $('add-hosts').value = '';
    $('added').showModal();
  } catch (error) {
    alert(error.message);
  }
  await refresh();
}

// ---- start ----

document.addEventListener('DOMContentLoaded', () => {
  $('login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    login($('token').value.trim()).catch((error) => {
      if (error.message !== 'unauthorized') $('login-error').textContent = error.message;
    });
  });
  $('logout').addEventListener('click', () => logout(''));
  $('add-form').addEventListener('submit', addServer);
  $('drain-all').addEventListener('click', (e) => act(e, 'POST', '/api/v1/drain'));
  $('resume-all').addEventListener('click', (e) => act(e, 'POST', '/api/v1/resume'));
  $('clients-close').addEventListener('click', () => { state.selected = null; $('clients-card').hidden = true; });
  if (state.token) login(state.token).catch(() => logout(''));
  else logout('');
});
