// Events: the log's recent events and a live tail of new ones (its own EventSource with the server's
// filters: type and actor lists, a target prefix), newest first; "Generate human log" renders
// GET /collab/log.md for the same range (read in pages of at most 10000 events, the server's limit, joined into
// one log). Changing the filters starts the tail again.

import {get} from '../api.js';
import {h, replace, splitList} from '../dom.js';
import {LiveFeed} from '../live.js';
import {render as markdown} from '../markdown.js';

export const TITLE = 'Events';

const BACKLOG = 100;
/** The most events one GET /collab/log.md renders (its limit's maximum). */
const LOG_PAGE = 10000;
const MAX_ROWS = 500;

export function mount(main, ctx) {
  let feed = null;
  let shown = 0;
  let known = 0;
  let generation = 0;
  let alive = true;
  let download = null; // the object URL of the last human log's Markdown
  const rows = h('tbody', {'data-testid': 'event-rows'});
  const status = h('span', {'data-testid': 'events-status', class: 'muted'});
  const log = h('article', {class: 'human-log', 'data-testid': 'human-log', 'aria-label': 'Human log', hidden: true});
  const input = (name, label, placeholder) => h('label', {}, label,
      h('input', {name, placeholder, 'data-testid': `filter-${name}`}));
  const filters = h('form', {class: 'filters', 'data-testid': 'event-filters'},
      input('type', 'Types', 'task_created, lease_acquired'),
      input('actor', 'Actors', 'worker-1'),
      input('target', 'Target prefix', 'tasks/'),
      h('button', {type: 'submit', 'data-testid': 'filter-apply'}, 'Apply filters'));
  filters.addEventListener('submit', e => {
    e.preventDefault();
    start();
  });
  main.append(
      h('div', {class: 'page-head'},
          h('h2', {text: 'Events'}),
          h('button', {type: 'button', 'data-testid': 'generate-log', onclick: humanLog}, 'Generate human log')),
      filters,
      h('p', {}, status),
      log,
      h('table', {class: 'grid events', 'data-testid': 'event-table'},
          h('thead', {}, h('tr', {}, ['#', 'Time', 'Event', 'Actor', 'Target', 'Details']
              .map(c => h('th', {scope: 'col'}, c)))),
          rows));

  function current() {
    const f = new FormData(filters);
    return {type: splitList(f.get('type')).join(','), actor: splitList(f.get('actor')).join(','),
      target: String(f.get('target') || '').trim()};
  }

  function row(e) {
    return h('tr', {'data-testid': `event-row-${e.id}`, 'data-event': e.event},
        h('td', {class: 'num', text: String(e.id)}),
        h('td', {class: 'nowrap', title: e.ts, text: new Date(e.ts).toLocaleTimeString()}),
        h('td', {}, h('code', {text: e.event})),
        h('td', {text: e.actor}),
        h('td', {}, h('code', {text: e.target})),
        h('td', {class: 'details'}, h('code', {text: JSON.stringify(e.details)})));
  }

  function add(e) {
    if (e.id <= shown) return;
    shown = e.id;
    known = Math.max(known, e.id);
    rows.prepend(row(e));
    while (rows.childElementCount > MAX_ROWS) rows.lastElementChild.remove();
  }

  async function start() {
    if (feed) feed.close();
    feed = null;
    rows.replaceChildren();
    shown = 0;
    const filter = current();
    const mine = ++generation;
    try {
      const last = (await get('/readyz')).body.last_event_id;
      const backlog = await get('/collab/events', {query: {...filter, after: Math.max(0, last - BACKLOG),
        limit: BACKLOG}});
      if (!alive || mine !== generation) return;
      known = last;
      backlog.body.data.forEach(add);
      feed = new LiveFeed(filter);
      feed.setPaused(ctx.paused);
      feed.subscribe(add);
      feed.onStatus(s => {
        status.textContent = `Tail ${s}${filter.type || filter.actor || filter.target ? ' (filtered)' : ''}`;
      });
      feed.start(Math.max(last, shown));
    } catch (e) {
      ctx.fail('Loading the events', e);
    }
  }

  /**
   * The human log of the events after `after` up to id `upTo`, read from GET /collab/log.md in pages of at most
   * LOG_PAGE events (the server's limit: a wider range in one request is a 400) and joined into one log: one
   * "# Event log: #first to #last" head for the whole range, and a day's heading only where the day changes.
   */
  async function readLog(after, upTo) {
    const bodies = [];
    let first = null;
    let last = null;
    let day = null;
    while (after < upTo) {
      const res = await get('/collab/log.md', {query: {after, limit: Math.min(LOG_PAGE, upTo - after)}});
      const head = /^# Event log: #(\d+) to #(\d+)\n/.exec(res.body);
      if (!head) break; // "_No events._": nothing more in the range
      first = first ?? head[1];
      last = head[2];
      let body = res.body.slice(head[0].length);
      const heading = /^\n(## [^\n]*)\n\n/.exec(body);
      if (heading && heading[1] === day) body = body.slice(heading[0].length); // the same day goes on
      const days = body.match(/^## .*$/gm);
      if (days) day = days[days.length - 1];
      bodies.push(body);
      if (Number(last) <= after) break; // the log did not advance: never loop
      after = Number(last);
    }
    return first === null ? '_No events._\n' : `# Event log: #${first} to #${last}\n` + bodies.join('');
  }

  async function humanLog() {
    // the range of the rows shown (all events in it, filtered or not); nothing shown: the log after the newest
    const id = el => Number(el.dataset.testid.replace('event-row-', ''));
    const after = rows.firstElementChild ? id(rows.lastElementChild) - 1 : known;
    const upTo = rows.firstElementChild ? id(rows.firstElementChild) : known + 1;
    try {
      const text = await readLog(after, upTo);
      if (download) URL.revokeObjectURL(download);
      download = URL.createObjectURL(new Blob([text], {type: 'text/markdown'}));
      replace(log,
          h('div', {class: 'log-head'},
              h('strong', {}, 'Human log'),
              h('a', {href: download, download: 'collab-log.md', 'data-testid': 'download-log'}, 'Download Markdown')),
          markdown(text));
      log.hidden = false;
      log.scrollIntoView({block: 'nearest'});
    } catch (e) {
      ctx.fail('Generating the human log', e);
    }
  }

  const offPause = ctx.onPause(paused => feed && feed.setPaused(paused));
  start();
  return () => {
    alive = false;
    offPause();
    if (download) URL.revokeObjectURL(download);
    if (feed) feed.close();
  };
}
