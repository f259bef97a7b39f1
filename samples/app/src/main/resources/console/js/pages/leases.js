// Leases: every held lease (GET /collab/state/leases) with its time left counting down, stale ones
// marked, "Reclaim stale" (POST /collab/leases/reclaim) and a release per lease. Expiry is judged by
// the storage's clock: the countdown starts from the server's "now" at the read and runs on the
// browser's monotonic clock; the page reads the state again on lease and task events, when a
// countdown reaches zero (so the server says whether the lease is stale), and every 15 s.

import {ApiError, post, state} from '../api.js';
import {clock, coalesce, h, localTime, replace} from '../dom.js';

export const TITLE = 'Leases';

const RESYNC_MS = 15000;

export function mount(main, ctx) {
  let leases = [];
  let etag = null;
  let serverNowMs = 0;
  let readAt = 0;
  let alive = true;

  const body = h('tbody', {'data-testid': 'lease-rows'});
  const empty = h('p', {class: 'muted', 'data-testid': 'no-leases', hidden: true}, 'No lease is held.');
  main.append(
      h('div', {class: 'page-head'},
          h('h2', {text: 'Leases'}),
          h('button', {type: 'button', 'data-testid': 'reclaim-stale', onclick: reclaim}, 'Reclaim stale')),
      h('p', {class: 'muted'}, 'Time left is judged by the store’s clock; a lease past its time is stale ',
          'until someone reclaims it (or its resource is acquired again).'),
      h('table', {class: 'grid', 'data-testid': 'lease-table'},
          h('thead', {}, h('tr', {},
              ['Resource', 'Holder', 'Fence', 'Acquired', 'TTL', 'Time left', ''].map(c => h('th', {scope: 'col'}, c)))),
          body),
      empty);

  const refresh = coalesce(async () => {
    const s = await state('leases', etag);
    if (!alive) return;
    // the server's clock at the read; a 304 keeps the previous one (the countdown keeps running from it)
    if (s.changed) {
      etag = s.etag;
      leases = s.data;
      serverNowMs = Date.parse(s.body.now);
      readAt = performance.now();
      render();
    }
  });
  const reload = () => refresh().catch(e => ctx.fail('Loading the leases', e));

  const remainingMs = lease => Date.parse(lease.expires_at) - (serverNowMs + (performance.now() - readAt));

  function render() {
    replace(body, leases.map(l => h('tr', {'data-testid': `lease-row-${l.lock_id}`, 'data-resource': l.resource,
        class: l.stale ? 'stale' : ''},
      h('th', {scope: 'row'}, h('code', {text: l.resource})),
      h('td', {text: l.holder}),
      h('td', {class: 'num', text: String(l.fence)}),
      h('td', {text: localTime(l.acquired_at)}),
      h('td', {class: 'num', text: `${l.ttl_seconds} s`}),
      h('td', {class: 'countdown'},
          h('span', {'data-testid': `lease-remaining-${l.lock_id}`}),
          h('span', {class: 'bar', 'aria-hidden': 'true'}, h('span', {class: 'fill'}))),
      h('td', {}, h('button', {type: 'button', class: 'small', 'data-testid': `release-${l.lock_id}`,
        onclick: () => release(l)}, 'Release')))));
    empty.hidden = leases.length > 0;
    tick();
  }

  /** Updates every countdown; a countdown reaching zero asks the server again. */
  function tick() {
    let crossed = false;
    for (const l of leases) {
      const row = body.querySelector(`[data-testid="lease-row-${CSS.escape(l.lock_id)}"]`);
      if (!row) continue;
      const ms = remainingMs(l);
      const seconds = Math.max(0, Math.ceil(ms / 1000));
      const label = row.querySelector('.countdown [data-testid]');
      const expired = ms <= 0 || l.stale;
      label.textContent = expired ? 'expired (stale)' : clock(seconds);
      label.dataset.remainingSeconds = String(expired ? 0 : seconds);
      const fill = row.querySelector('.fill');
      fill.style.width = `${expired ? 0 : Math.min(100, (ms / (l.ttl_seconds * 1000)) * 100)}%`;
      if (expired && !row.classList.contains('stale')) {
        crossed = true;
        row.classList.add('stale');
      }
    }
    if (crossed && !ctx.paused) reload();
  }

  async function reclaim() {
    try {
      const res = await post('/collab/leases/reclaim');
      const {leases: got, tasks} = res.body;
      const names = got.map(l => `${l.resource} (${l.holder}, fence ${l.fence})`).join(', ');
      ctx.notify(got.length || tasks.length ? 'ok' : 'info',
          `Reclaimed ${got.length} stale lease${got.length === 1 ? '' : 's'}${names ? ': ' + names : ''}`
          + ` and ${tasks.length} task claim${tasks.length === 1 ? '' : 's'}.`);
    } catch (e) {
      ctx.fail('Reclaiming stale leases', e);
    }
    await reload();
  }

  async function release(l) {
    try {
      await post(`/collab/leases/${encodeURIComponent(l.lock_id)}/release`, {resource: l.resource, fence: l.fence});
      ctx.notify('ok', `Released ${l.resource} (fence ${l.fence}).`);
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) {
        ctx.notify('error', `Not released: ${e.message}`);
      } else {
        ctx.fail(`Releasing ${l.resource}`, e);
      }
    }
    await reload();
  }

  const timer = setInterval(tick, 250);
  const resync = setInterval(() => ctx.paused || reload(), RESYNC_MS);
  const off = ctx.live.subscribe(e => {
    if (e.event.startsWith('lease_') || e.event.startsWith('task_')) reload();
  });
  reload();
  return () => {
    alive = false;
    clearInterval(timer);
    clearInterval(resync);
    off();
  };
}
