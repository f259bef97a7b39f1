// The Tasks page's "Claimable now" panel: what the next claims would take, best first (priority, then
// age, then id; dependencies done, not_before passed, and the labels asked for), read from
// GET /collab/claimable?label=<labels>&limit=<n>, the same order claim-next follows, claiming nothing
// (a claim takes back stale claims first, which the list does not show). It is read again after task
// events (bursts coalesced, a read at a time), on "Refresh", and when a queued task the board shows
// reaches its not_before (a retry's backoff ends without an event), each such time in turn; while
// live updates are paused that read waits for the resume. The list is aria-busy while a read runs.

import {ApiError, get} from './api.js';
import {coalesce, h, replace, splitList} from './dom.js';

/** How many tasks the panel lists. */
export const CLAIMABLE_LIMIT = 10;
/** The longest a timer waits at once (setTimeout's limit is about 24.8 days); it is set again after. */
const MAX_TIMER_MS = 24 * 3600 * 1000;
/** How long after a not_before, by the browser's clock, the panel reads. */
const DUE_SLACK_MS = 1000;

/**
 * Makes the panel. ctx: the console's context (fail, paused, onPause). waiting(): the queued tasks the
 * page holds now, whose not_before times the panel reads at. Returns {element, refresh, due, stop}:
 * refresh() reads the list again (coalesced); due() sets the timer for the earliest not_before still
 * ahead (call it when the page's tasks change); stop() ends the timer and the pause listener.
 */
export function claimablePanel(ctx, waiting) {
  let labels = [];
  let timer = null;
  let timerAt = null;
  let stopped = false;

  const list = h('div', {'data-testid': 'claimable-list', 'aria-busy': 'true'});
  const input = h('input', {name: 'labels', placeholder: 'any label', 'data-testid': 'claimable-labels'});
  const form = h('form', {class: 'inline', 'data-testid': 'claimable-form'},
      h('label', {}, 'Labels (comma-separated; a task with any of them) ', input),
      h('button', {type: 'submit', 'data-testid': 'claimable-apply'}, 'Show'),
      h('button', {type: 'button', class: 'secondary', 'data-testid': 'claimable-refresh',
        onclick: () => refresh()}, 'Refresh'));
  form.addEventListener('submit', e => {
    e.preventDefault();
    labels = splitList(input.value);
    refresh();
  });
  const element = h('section', {class: 'panel claimable', 'data-testid': 'claimable',
      'aria-labelledby': 'claimable-title'},
    h('h3', {id: 'claimable-title'}, 'Claimable now'),
    h('p', {class: 'muted', text: 'What the next claims would take, in the order they take it (a claim '
        + 'takes back stale claims first). Nothing here is claimed.'}),
    form, list);

  function item(t) {
    return h('li', {'data-testid': `claimable-task-${t.id}`},
        h('span', {class: `prio p${Math.max(0, Math.min(9, t.priority))}`, title: 'priority'}, `P${t.priority}`),
        ' ', h('strong', {text: t.title}), ' ', h('code', {class: 'muted', text: t.id}),
        t.attempts > 0 ? h('span', {class: 'muted', text: ` · attempt ${t.attempts + 1} next`}) : null,
        t.labels.length ? h('span', {}, t.labels.map(l => h('span', {class: 'label', text: l}))) : null);
  }

  function show(page, asked) {
    const filter = asked.length ? ` with the label${asked.length > 1 ? 's' : ''} ${asked.join(', ')}` : '';
    replace(list,
        page.data.length === 0
            ? h('p', {class: 'muted', 'data-testid': 'claimable-empty', text: `No task is claimable now${filter}.`})
            : h('ol', {class: 'claimable-tasks'}, page.data.map(item)),
        page.more ? h('p', {class: 'muted', 'data-testid': 'claimable-more',
          text: `More tasks are claimable${filter}; these are the first ${CLAIMABLE_LIMIT}.`}) : null);
  }

  function failed(e) {
    const why = e instanceof ApiError
        ? `${e.message} (HTTP ${e.status}).${e.status === 401 ? ' Enter an API key (top right).' : ''}`
        : String(e.message || e);
    replace(list, h('p', {class: 'error-text', 'data-testid': 'claimable-error',
      text: `Could not read the claimable tasks: ${why}`}));
  }

  const read = coalesce(async () => {
    if (stopped) return;
    list.setAttribute('aria-busy', 'true');
    const asked = labels;
    try {
      const page = (await get('/collab/claimable', {query: {label: asked.join(','), limit: CLAIMABLE_LIMIT}})).body;
      if (!stopped) show(page, asked);
    } catch (e) {
      if (!stopped) failed(e);
    } finally {
      list.setAttribute('aria-busy', 'false');
    }
  });

  const refresh = () => read().catch(e => ctx.fail('Reading the claimable tasks', e));

  function due() {
    const now = Date.now();
    const next = waiting().map(t => Date.parse(t.not_before || '')).filter(ms => ms > now - DUE_SLACK_MS)
        .reduce((a, b) => Math.min(a, b), Infinity);
    if (stopped || next === Infinity || (timerAt !== null && timerAt <= next)) return;
    clearTimeout(timer);
    timerAt = next;
    const at = next + DUE_SLACK_MS;
    timer = setTimeout(() => {
      timer = null;
      timerAt = null;
      if (Date.now() < at) {
        due(); // a wait longer than one timer allows
      } else if (!ctx.paused) {
        refresh();
        due();
      }
    }, Math.max(0, Math.min(MAX_TIMER_MS, at - now)));
  }

  const offPause = ctx.onPause(paused => {
    if (!paused) {
      refresh();
      due();
    }
  });

  function stop() {
    stopped = true;
    clearTimeout(timer);
    offPause();
  }

  return {element, refresh, due, stop};
}
