// The dashboard's live log: /api/v1/events read through fetch (EventSource cannot send a token),
// reconnecting while logged in. Loaded before app.js, whose helpers it uses at run time.
'use strict';

const MAX_EVENTS = 200;
const EVENT_RETRY_MS = 3000;

async function followEvents() {
  const controller = new AbortController();
  state.events = controller;
  while (!controller.signal.aborted && state.token) {
    try {
      const response = await fetch('/api/v1/events', {
        headers: { Authorization: `Bearer ${state.token}` }, signal: controller.signal });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      $('events-state').textContent = 'Live.';
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block.split('\n').find((line) => line.startsWith('data: '));
          if (data) showEvent(JSON.parse(data.slice(6)));
        }
      }
      $('events-state').textContent = 'The relay ended the stream; reconnecting…';
    } catch (error) {
      if (controller.signal.aborted) return;
      $('events-state').textContent = `Not connected (${error.message}); retrying…`;
    }
    await new Promise((resolve) => setTimeout(resolve, EVENT_RETRY_MS));
  }
}

function showEvent(e) {
  const parts = [];
  if (e.server) parts.push(`server ${e.server}`);
  if (e.client) parts.push(`client ${e.client}`);
  if (e.bytesIn != null) parts.push(`in ${bytes(e.bytesIn)}`);
  if (e.bytesOut != null) parts.push(`out ${bytes(e.bytesOut)}`);
  if (e.reason) parts.push(`(${e.reason})`);
  const item = el('li', { 'data-type': e.type }, `${new Date(e.time).toLocaleTimeString()} `,
    el('span', { class: 'type' }, e.type), ` ${parts.join(' ')}`);
  const list = $('events');
  list.prepend(item);
  while (list.children.length > MAX_EVENTS) list.lastChild.remove();
  if (!e.type.startsWith('pair.') && e.type !== 'refused') refresh().catch(() => {});
}

