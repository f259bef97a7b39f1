// Tasks as a Kanban board: a column per workflow state (GET /collab/workflow), cards from
// GET /collab/state/tasks, kept current by task_* events. Moves and checklist changes are sent with
// If-Match: the card's ETag; a 412 (someone changed the task since the board showed it) says so and
// shows the task as it is now.

import {ApiError, get, patch, post, state} from '../api.js';
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
  let tasks = [];
  let etag = null;
  let alive = true;

  const board = h('div', {class: 'board', 'data-testid': 'board', 'aria-busy': 'true'});
  main.append(
      h('div', {class: 'page-head'},
          h('h2', {text: 'Tasks'}),
          h('p', {class: 'muted', 'data-testid': 'workflow-name'})),
      newTaskForm(),
      board);

  const refresh = coalesce(async () => {
    if (!workflow) {
      workflow = (await get('/collab/workflow')).body;
      workflow.columns = columnOrder(workflow);
      main.querySelector('[data-testid="workflow-name"]').textContent = `Workflow “${workflow.name}”`;
    }
    const s = await state('tasks', etag);
    if (!alive || !s.changed) return;
    etag = s.etag;
    tasks = s.data;
    render();
  });
  const reload = () => refresh().catch(e => ctx.fail('Loading the tasks', e));

  function render() {
    const byId = new Map(tasks.map(t => [t.id, t]));
    const columns = workflow.columns.map(st => {
      const cards = tasks.filter(t => t.status === st)
          .sort((a, b) => b.priority - a.priority || a.created_at.localeCompare(b.created_at));
      return h('section', {class: 'column', 'data-testid': `column-${st}`, 'data-state': st,
          'aria-labelledby': `col-${st}`},
        h('h3', {id: `col-${st}`}, words(st), ' ', h('span', {class: 'count', text: `(${cards.length})`})),
        cards.length === 0 ? h('p', {class: 'muted empty', text: 'No tasks'})
            : h('ul', {class: 'cards'}, cards.map(t => h('li', {}, card(t, byId)))));
    });
    // cards not in any state of this workflow (a store shared with another workflow) are shown, not hidden
    const others = tasks.filter(t => !workflow.states.includes(t.status));
    if (others.length > 0) {
      columns.push(h('section', {class: 'column', 'data-testid': 'column-other', 'aria-labelledby': 'col-other'},
          h('h3', {id: 'col-other'}, 'other states'),
          h('ul', {class: 'cards'}, others.map(t => h('li', {}, card(t, byId))))));
    }
    replace(board, columns);
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
    await reload();
  }

  async function toggleItem(t, index, done) {
    const checklist = t.checklist.map((item, i) => ({text: item.text, done: i === index ? done : item.done}));
    try {
      await patch(`/collab/tasks/${enc(t.id)}`, {checklist}, {ifMatch: t.etag});
    } catch (e) {
      conflictOrFail(e, t, `Updating the checklist of ${t.id}`, 'Checklist not changed');
    }
    await reload();
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
      } catch (err) {
        ctx.fail('Creating the task', err);
      }
      await reload();
    });
    return h('details', {class: 'panel'}, h('summary', {'data-testid': 'new-task-toggle'}, 'New task'), form);
  }

  const off = ctx.live.subscribe(e => {
    if (e.event.startsWith('task_')) reload();
  });
  reload();
  return () => {
    alive = false;
    off();
  };
}
