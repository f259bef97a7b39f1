// The console's entry point: the shared live feed, the header (connection status, pause, API key),
// the message area, and the pages, one per #/hash.

import {ApiError, get, setApiKey} from './api.js';
import {h, replace} from './dom.js';
import {LiveFeed} from './live.js';
import * as agents from './pages/agents.js';
import * as batches from './pages/batches.js';
import * as events from './pages/events.js';
import * as leases from './pages/leases.js';
import * as tasks from './pages/tasks.js';

const PAGES = {tasks, leases, events, agents, batches};
const $ = testid => document.querySelector(`[data-testid="${testid}"]`);

/** What every page gets: the shared feed, messages, the pause switch. */
const ctx = {
  live: new LiveFeed(),
  paused: false,
  pauseListeners: new Set(),

  /** Shows a message: kind 'ok', 'info' or 'error'. */
  notify(kind, text) {
    const area = $('message');
    replace(area, h('p', {class: `msg ${kind}`, 'data-kind': kind},
        h('span', {'data-testid': 'message-text', text}),
        h('button', {type: 'button', class: 'link', 'aria-label': 'Dismiss message',
          onclick: () => replace(area)}, '×')));
  },

  /** Shows what went wrong with a call: the server's problem detail when it sent one. */
  fail(what, error) {
    if (error instanceof ApiError) {
      const hint = error.status === 401 ? ' Enter an API key (top right).' : '';
      ctx.notify('error', `${what}: ${error.message} (HTTP ${error.status}).${hint}`);
    } else {
      ctx.notify('error', `${what}: ${error.message || error}`);
    }
  },

  /** Calls fn(paused) on each change of the pause switch; returns the unsubscribe function. */
  onPause(fn) {
    this.pauseListeners.add(fn);
    return () => this.pauseListeners.delete(fn);
  },
};

let unmount = null;

function show() {
  const name = (location.hash.replace(/^#\/?/, '') || 'tasks').split('/')[0];
  const page = PAGES[name] || tasks;
  if (unmount) unmount();
  const main = document.getElementById('page');
  main.replaceChildren();
  document.querySelectorAll('nav a').forEach(a => {
    if (a.getAttribute('href') === `#/${name}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  });
  document.title = `${page.TITLE} · Collab console`;
  unmount = page.mount(main, ctx);
}

function header() {
  ctx.live.onStatus(status => {
    $('live-status').textContent = status;
    document.body.dataset.live = status;
  });
  ctx.live.subscribe(event => {
    $('last-event-id').textContent = `#${event.id}`;
  });
  const pause = $('pause-live');
  pause.addEventListener('click', () => {
    ctx.paused = !ctx.paused;
    pause.setAttribute('aria-pressed', String(ctx.paused));
    pause.textContent = ctx.paused ? 'Resume live updates' : 'Pause live updates';
    ctx.live.setPaused(ctx.paused);
    ctx.pauseListeners.forEach(fn => fn(ctx.paused));
  });
  $('api-key-form').addEventListener('submit', e => {
    e.preventDefault();
    setApiKey($('api-key-input').value.trim());
    location.reload();
  });
}

async function boot() {
  header();
  let last = 0;
  try {
    const ready = await get('/readyz');
    last = ready.body.last_event_id;
  } catch (e) {
    ctx.fail('The server is not ready', e);
  }
  $('last-event-id').textContent = `#${last}`;
  ctx.live.start(last);
  window.addEventListener('hashchange', show);
  show();
}

boot();
