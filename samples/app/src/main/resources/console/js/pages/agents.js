// Agents: the registry (GET /collab/state/agents: {data: [{id, role, skills, status, available,
// last_seen, current_tasks, metadata, etag}]}) with role, skills, status, last seen and current
// tasks, and an availability toggle (POST /collab/agents/{id}/availability {available}, sent with
// If-Match the agent's ETag; a refused toggle is drawn back from the last state read). Kept current by agent_*
// events, and "last seen" ages every few seconds. A server without the agent registry answers 404: the page says so.

import {ApiError, optionalState, post} from '../api.js';
import {ago, coalesce, h, localTime, notAvailable, replace} from '../dom.js';

export const TITLE = 'Agents';

const PATH = '/collab/state/agents';

export function mount(main, ctx) {
  let agents = [];
  let etag = null;
  let alive = true;
  let available = true;
  let serverNowMs = Date.now();
  let readAt = performance.now();

  const body = h('tbody', {'data-testid': 'agent-rows'});
  const content = h('div', {'data-testid': 'agents-content'});
  main.append(h('div', {class: 'page-head'}, h('h2', {text: 'Agents'})), content);

  const refresh = coalesce(async () => {
    const s = await optionalState('agents', etag);
    if (s.missing) {
      available = false;
      replace(content, notAvailable('Agents', PATH, s.missing));
      return;
    }
    if (!alive || !s.changed) return;
    etag = s.etag;
    agents = s.data;
    if (s.body.now) {
      serverNowMs = Date.parse(s.body.now);
      readAt = performance.now();
    }
    render();
  });
  const reload = () => refresh().catch(e => ctx.fail('Loading the agents', e));

  function render() {
    if (!content.contains(body)) {
      replace(content, h('table', {class: 'grid', 'data-testid': 'agent-table'},
          h('thead', {}, h('tr', {}, ['Agent', 'Role', 'Skills', 'Status', 'Last seen', 'Current tasks', 'Available']
              .map(c => h('th', {scope: 'col'}, c)))),
          body));
    }
    replace(body, agents.map(a => {
      const lastSeen = a.last_seen;
      const current = a.current_tasks;
      return h('tr', {'data-testid': `agent-row-${a.id}`},
          h('th', {scope: 'row'}, h('code', {text: a.id})),
          h('td', {text: a.role}),
          h('td', {}, (a.skills || []).map(s => h('span', {class: 'label', text: s}))),
          h('td', {}, h('span', {class: `badge status-${a.status}`, 'data-testid': `agent-status-${a.id}`,
            text: a.status})),
          h('td', {class: 'last-seen', 'data-at': lastSeen || '', title: localTime(lastSeen)}, lastSeen ? '' : 'never'),
          h('td', {}, current.map(t => h('code', {class: 'task-ref', text: t}))),
          h('td', {}, h('label', {class: 'switch'},
              h('input', {type: 'checkbox', role: 'switch', checked: a.available,
                'data-testid': `agent-available-${a.id}`, onchange: e => toggle(a, e.target.checked)}),
              h('span', {class: 'sr-only', text: `${a.id} available`}))));
    }));
    ages();
  }

  function ages() {
    const now = serverNowMs + (performance.now() - readAt);
    body.querySelectorAll('.last-seen[data-at]').forEach(td => {
      if (td.dataset.at) td.textContent = ago(Date.parse(td.dataset.at), now);
    });
  }

  async function toggle(agent, on) {
    try {
      await post(`/collab/agents/${encodeURIComponent(agent.id)}/availability`, {available: on},
          {ifMatch: agent.etag});
      ctx.notify('ok', `${agent.id} is now ${on ? 'available' : 'disabled'}.`);
    } catch (e) {
      if (e instanceof ApiError && e.status === 412) {
        ctx.notify('error', `Not changed: agent ${agent.id} changed after the page showed it (412); `
            + 'the page now shows it as it is.');
      } else {
        ctx.fail(`Changing ${agent.id}'s availability`, e);
      }
      // the switch shows the change that was refused: draw the last state read at once, since the read below
      // answers 304 (nothing changed) and draws nothing (and fails too when the server is down)
      if (alive) render();
    }
    await reload();
  }

  const timer = setInterval(() => available && ages(), 5000);
  const off = ctx.live.subscribe(e => {
    if (available && e.event.startsWith('agent_')) reload();
  });
  reload();
  return () => {
    alive = false;
    clearInterval(timer);
    off();
  };
}
