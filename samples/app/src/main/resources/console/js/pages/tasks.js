// Tasks as a Kanban board: a column per workflow state (GET /collab/workflow). Each column loads its
// tasks page by page from GET /collab/tasks?status=<state> (creation order, oldest first; "Load more"
// appends the next page while next_after says there is one) and never the whole board. A task_*
// event reads only the task it names again (GET /collab/tasks/{id}, bursts coalesced) and moves,
// replaces or inserts its card (columns.js decides where). Dependency badges read the dependencies
// the loaded cards name. Moves and checklist changes are sent with If-Match: the card's ETag; a 412
// (someone changed the task since the board showed it) says so and shows the task as it is now.
// Above the board, the "Claimable now" panel (claimable.js) lists what the next claims would take.

import {ApiError, get, patch, post} from '../api.js';
import {claimablePanel} from '../claimable.js';
import {Column, PAGE_SIZE, place, readTasks} from '../columns.js';
import {coalesce, h, replace, splitList} from '../dom.js';

export const TITLE = 'Tasks';

const enc = encodeURIComponent;
const words = state => state.replace(/_/g, ' ');

/**
 * The board's column order: the states as a depth-first walk from the initial state meets them,
 * each state's transitions in the workflow's order (so the forward path comes first and the
 * failure state after it), then any state the walk does not reach.
 */
function columnOrder(workflow) {
  const order = [];
  const visit = st => {
    if (order.includes(st)) return;
    order.push(st);
    (workflow.transitions[st] || []).forEach(visit);
  };
  visit(workflow.initial);
  return order.concat(workflow.states.filter(st => !order.includes(st)));
}

export function mount(main, ctx) {
  let workflow = null;
  const columns = new Map(); // state → Column
  const others = new Column(null); // tasks in states this workflow does not have, as events bring them
  const deps = new Map(); // dependency id → the task (null: missing), for the badges of loaded cards
  const pending = new Set(); // task ids named by events not yet read again
  let alive = true;
  // the panel reads again when a queued task's retry backoff ends (its not_before), which no event marks
  const claimable = claimablePanel(ctx, () => (workflow ? loaded().filter(t => t.status === workflow.initial) : []));

  const board = h('div', {class: 'board', 'data-testid': 'board', 'aria-busy': 'true'});
  main.append(
      h('div', {class: 'page-head'},
          h('h2', {text: 'Tasks'}),
          h('p', {class: 'muted', 'data-testid': 'workflow-name'})),
      claimable.element,
      newTaskForm(),
      board);

  // page loads and live updates change the columns one at a time, so an older page never undoes a newer read
  let chain = Promise.resolve();
  const exclusive = fn => {
    const run = chain.then(() => (alive ? fn() : undefined));
    chain = run.catch(() => {});
    return run;
  };

  const load = () => exclusive(async () => {
    workflow = (await get('/collab/workflow')).body;
    workflow.columns = columnOrder(workflow);
    main.querySelector('[data-testid="workflow-name"]').textContent = `Workflow “${workflow.name}”`;
    workflow.columns.forEach(st => columns.set(st, new Column(st)));
    await Promise.all([...columns.values()].map(c => c.loadMore(PAGE_SIZE)));
    await settle();
  }).catch(e => ctx.fail('Loading the tasks', e));

  const loadMore = column => exclusive(async () => {
    await column.loadMore(PAGE_SIZE);
    await settle();
  }).catch(e => ctx.fail(`Loading more ${words(column.status)} tasks`, e));

  // the tasks events named, read again once per burst
  const flush = coalesce(() => exclusive(async () => {
    if (!workflow || pending.size === 0) return;
    const ids = [...pending];
    pending.clear();
    const now = await readTasks(ids);
    for (const [id, task] of now) {
      place(columns, others, id, task);
      if (deps.has(id)) deps.set(id, task);
    }
    await settle();
  }));
  const update = ids => {
    ids.forEach(id => pending.add(id));
    return flush().catch(e => ctx.fail('Updating the tasks', e));
  };

  const loaded = () => [...columns.values(), others].flatMap(c => c.tasks);

  /** Reads the dependencies the loaded cards name that neither a column nor an earlier read holds, then draws. */
  async function settle() {
    const onBoard = new Set(loaded().map(t => t.id));
    const missing = [...new Set(loaded().flatMap(t => t.depends_on))].filter(d => !onBoard.has(d) && !deps.has(d));
    for (const [id, task] of await readTasks(missing)) deps.set(id, task);
    claimable.due();
    if (alive) render();
  }

  function render() {
    const byId = new Map(deps);
    loaded().forEach(t => byId.set(t.id, t));
    const sections = workflow.columns.map(st => {
      const column = columns.get(st);
      const cards = column.tasks;
      return h('section', {class: 'column', 'data-testid': `column-${st}`, 'data-state': st,
          'aria-labelledby': `col-${st}`},
        h('h3', {id: `col-${st}`}, words(st), ' ',
            h('span', {class: 'count', 'data-testid': `count-${st}`, text: `(${column.count()})`,
              title: column.nextAfter === null ? 'all loaded' : 'loaded so far; more to load'})),
        cards.length === 0 ? h('p', {class: 'muted empty', text: 'No tasks'})
            : h('ul', {class: 'cards'}, cards.map(t => h('li', {}, card(t, byId)))),
        column.nextAfter === null ? null
            : h('button', {type: 'button', class: 'more', 'data-testid': `more-${st}`,
              onclick: e => {
                e.target.disabled = true;
                loadMore(column);
              }}, `Load more ${words(st)}`));
    });
    // cards not in any state of this workflow (a store shared with another workflow) are shown, not hidden
    if (others.tasks.length > 0) {
      sections.push(h('section', {class: 'column', 'data-testid': 'column-other', 'aria-labelledby': 'col-other'},
          h('h3', {id: 'col-other'}, 'other states'),
          h('ul', {class: 'cards'}, others.tasks.map(t => h('li', {}, card(t, byId))))));
    }
    replace(board, sections);
    board.setAttribute('aria-busy', 'false');
  }

  function card(t, byId) {
    const deps = t.depends_on.map(d => {
      const dep = byId.get(d);
      const done = dep && dep.status === workflow.done;
      const what = dep ? `depends on ${d} (${words(dep.status)})` : `depends on ${d} (missing)`;
      return h('li', {class: `dep ${done ? 'done' : 'pending'}`, 'data-testid': `dep-${t.id}-${d}`,
        'data-done': String(Boolean(done)), title: what, 'aria-label': what}, done ? '✓ ' : '⧗ ', d);
    });
    const blocked = t.status === workflow.initial && deps.some(d => d.dataset.done === 'false');
    const doneItems = t.checklist.filter(i => i.done).length;
    // the claimed state is entered by claiming (a worker's claim-next), never by a move
    const moves = (workflow.transitions[t.status] || []).filter(to => to !== workflow.claimed);
    return h('article', {class: `card${blocked ? ' blocked' : ''}`, 'data-testid': `task-card-${t.id}`,
        'data-status': t.status, 'aria-label': `Task ${t.title}`},
      h('div', {class: 'card-head'},
          h('span', {class: `prio p${Math.max(0, Math.min(9, t.priority))}`, 'data-testid': `priority-${t.id}`,
            title: 'priority', 'aria-label': `priority ${t.priority}`}, `P${t.priority}`),
          h('strong', {class: 'title', text: t.title})),
      h('div', {class: 'meta muted'},
          h('code', {text: t.id}),
          t.assignee ? h('span', {text: ` · @${t.assignee}`}) : null,
          t.attempts > 0 ? h('span', {text: ` · attempt ${t.attempts}${t.max_attempts ? '/' + t.max_attempts : ''}`})
              : null,
          blocked ? h('span', {class: 'badge warn', text: 'blocked'}) : null),
      t.labels.length ? h('ul', {class: 'labels', 'aria-label': 'labels'},
          t.labels.map(l => h('li', {class: 'label', text: l}))) : null,
      deps.length ? h('ul', {class: 'deps', 'aria-label': 'dependencies'}, deps) : null,
      t.checklist.length ? h('details', {class: 'dod', open: true},
          h('summary', {'data-testid': `dod-summary-${t.id}`}, `Definition of done ${doneItems}/${t.checklist.length}`),
          h('ul', {}, t.checklist.map((item, i) => h('li', {},
              h('label', {},
                  h('input', {type: 'checkbox', checked: item.done, 'data-testid': `dod-${t.id}-${i}`,
                    onchange: e => toggleItem(t, i, e.target.checked)}),
                  ' ', item.text))))) : null,
      t.last_error ? h('p', {class: 'error-text', text: t.last_error}) : null,
      moves.length ? h('div', {class: 'moves', role: 'group', 'aria-label': `Move ${t.id} to`},
          moves.map(to => h('button', {type: 'button', class: 'move', 'data-testid': `move-${t.id}-${to}`,
            onclick: () => move(t, to)}, `→ ${words(to)}`))) : null);
  }

  async function move(t, to) {
    try {
      const res = await post(`/collab/tasks/${enc(t.id)}/transition`, {to}, {ifMatch: t.etag});
      ctx.notify('ok', `Moved ${t.id}: ${words(res.body.old_status)} → ${words(res.body.new_status)}.`);
    } catch (e) {
      conflictOrFail(e, t, `Moving ${t.id} to ${words(to)}`, 'Not moved');
    }
    await update([t.id]);
  }

  async function toggleItem(t, index, done) {
    const checklist = t.checklist.map((item, i) => ({text: item.text, done: i === index ? done : item.done}));
    try {
      await patch(`/collab/tasks/${enc(t.id)}`, {checklist}, {ifMatch: t.etag});
    } catch (e) {
      conflictOrFail(e, t, `Updating the checklist of ${t.id}`, 'Checklist not changed');
    }
    await update([t.id]);
  }

  function conflictOrFail(e, t, what, outcome) {
    if (e instanceof ApiError && e.status === 412) {
      const now = e.problem.current;
      ctx.notify('error', `${outcome}: task ${t.id} was changed by someone else after the board showed it `
          + `(412 Precondition Failed). The board now shows it as it is`
          + `${now ? ` (${words(now.status)})` : ''}; check it and try again.`);
    } else {
      ctx.fail(what, e);
    }
  }

  function newTaskForm() {
    const field = (label, input) => h('label', {}, label, input);
    const form = h('form', {class: 'new-task', 'data-testid': 'new-task-form'},
        field('Title', h('input', {name: 'title', required: true, 'data-testid': 'new-task-title'})),
        field('Priority', h('input', {name: 'priority', type: 'number', value: '0', step: '1',
          'data-testid': 'new-task-priority'})),
        field('Labels (comma-separated)', h('input', {name: 'labels', 'data-testid': 'new-task-labels'})),
        field('Depends on (task ids)', h('input', {name: 'depends_on', 'data-testid': 'new-task-deps'})),
        field('Definition of done (one item a line)', h('textarea', {name: 'checklist', rows: 3,
          'data-testid': 'new-task-checklist'})),
        h('button', {type: 'submit', 'data-testid': 'new-task-submit'}, 'Create task'));
    form.addEventListener('submit', async e => {
      e.preventDefault();
      const f = new FormData(form);
      const body = {
        title: f.get('title').trim(),
        priority: Number(f.get('priority') || 0),
        labels: splitList(f.get('labels')),
        depends_on: splitList(f.get('depends_on')),
        checklist: String(f.get('checklist')).split('\n').map(s => s.trim()).filter(Boolean),
      };
      try {
        const res = await post('/collab/tasks', body);
        ctx.notify('ok', `Created task ${res.body.id}.`);
        form.reset();
        await update([res.body.id]);
      } catch (err) {
        ctx.fail('Creating the task', err);
      }
    });
    return h('details', {class: 'panel'}, h('summary', {'data-testid': 'new-task-toggle'}, 'New task'), form);
  }

  const off = ctx.live.subscribe(e => {
    if (!e.event.startsWith('task_')) return;
    const id = e.details?.id || String(e.target || '').replace(/^tasks\//, '');
    if (id) update([id]);
    claimable.refresh();
  });
  load();
  claimable.refresh();
  return () => {
    alive = false;
    claimable.stop();
    off();
  };
}
