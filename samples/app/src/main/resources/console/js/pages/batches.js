// Batches: each batch (GET /collab/state/batches) with its state, policy, concurrency and a progress
// bar of {succeeded, failed, cancelled, running, queued} out of total, and cancel for a batch still
// running (POST /collab/batches/{id}/cancel). Kept current by batch_* events (batch_progress among
// them). A server without batches answers 404: the page says so.

import {optionalState, post} from '../api.js';
import {coalesce, h, notAvailable, replace} from '../dom.js';

export const TITLE = 'Batches';

const PATH = '/collab/state/batches';
const PARTS = ['succeeded', 'failed', 'cancelled', 'running', 'queued'];
const FINISHED = new Set(['completed', 'completed_with_failures', 'failed', 'aborted', 'cancelled']);

export function mount(main, ctx) {
  let etag = null;
  let alive = true;
  let available = true;
  const content = h('div', {class: 'batches', 'data-testid': 'batches-content'});
  main.append(h('div', {class: 'page-head'}, h('h2', {text: 'Batches'})), content);

  const refresh = coalesce(async () => {
    const s = await optionalState('batches', etag);
    if (s.missing) {
      available = false;
      replace(content, notAvailable('Batches', PATH, s.missing));
      return;
    }
    if (!alive || !s.changed) return;
    etag = s.etag;
    replace(content, s.data.length === 0 ? h('p', {class: 'muted', text: 'No batches.'}) : s.data.map(card));
  });
  const reload = () => refresh().catch(e => ctx.fail('Loading the batches', e));

  function card(b) {
    const p = b.progress || {};
    const total = p.total || 0;
    const done = (p.succeeded || 0) + (p.failed || 0) + (p.cancelled || 0);
    const percent = p.percent ?? (total ? Math.floor((100 * done) / total) : 0);
    return h('article', {class: 'panel batch', 'data-testid': `batch-${b.id}`, 'data-state': b.state},
        h('div', {class: 'card-head'},
            h('strong', {text: b.label || b.id}),
            h('span', {class: `badge state-${b.state}`, text: b.state.replace(/_/g, ' ')})),
        h('p', {class: 'muted'}, h('code', {text: b.id}), ` · ${b.policy} · concurrency ${b.concurrency}`),
        h('progress', {max: 100, value: percent, 'data-testid': `batch-progress-${b.id}`,
          'aria-label': `${b.label || b.id}: ${percent}% done`}),
        h('div', {class: 'stack', 'aria-hidden': 'true'}, PARTS.map(part => h('span', {class: `part ${part}`,
          style: `width: ${total ? (100 * (p[part] || 0)) / total : 0}%`}))),
        h('p', {class: 'legend'}, `${percent}% · `, PARTS.map(part => h('span', {class: `leg ${part}`},
            `${p[part] || 0} ${part} `)), `of ${total}`),
        FINISHED.has(b.state) ? null : h('button', {type: 'button', class: 'small', 'data-testid': `batch-cancel-${b.id}`,
          onclick: () => cancel(b)}, 'Cancel batch'));
  }

  async function cancel(b) {
    try {
      await post(`/collab/batches/${encodeURIComponent(b.id)}/cancel`, {});
      ctx.notify('ok', `Cancelled batch ${b.id}.`);
    } catch (e) {
      ctx.fail(`Cancelling batch ${b.id}`, e);
    }
    await reload();
  }

  const off = ctx.live.subscribe(e => {
    if (available && e.event.startsWith('batch_')) reload();
  });
  reload();
  return () => {
    alive = false;
    off();
  };
}
