// The Tasks board's columns as data: each column holds the tasks of one status loaded page by page
// from GET /collab/tasks?status=<status>&limit=<n>&after=<task id> (creation order, oldest first,
// served from the store's per-status index) and where its next page starts (next_after; null when
// the column is complete). A task read again after a live event is placed by place(): out of every
// column it left, into its status's column when that column's loaded range includes it (the column
// is complete, or the task comes before the last one loaded); otherwise "Load more" will bring it.

import {ApiError, get} from './api.js';

export const PAGE_SIZE = 50;
const PARALLEL = 6;

/** An ISO instant's fraction of a second padded to nanoseconds, so that strings compare as instants. */
function instantKey(iso) {
  const m = /^(.*?:\d\d)(?:\.(\d+))?Z$/.exec(iso || '');
  return m ? `${m[1]}.${(m[2] || '').padEnd(9, '0')}` : String(iso);
}

/** The store's list order: created_at, then id. */
export function creationOrder(a, b) {
  const ka = instantKey(a.created_at);
  const kb = instantKey(b.created_at);
  if (ka !== kb) return ka < kb ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** One status's column: the tasks loaded so far, in creation order. */
export class Column {
  constructor(status) {
    this.status = status;
    this.tasks = [];
    this.nextAfter = null;
    this.last = null; // the last task a page brought: the end of the loaded range
  }

  /** Loads the next page (the first one on a fresh column). */
  async loadMore(limit = PAGE_SIZE) {
    const res = await get('/collab/tasks', {query: {status: this.status, limit, after: this.nextAfter}});
    const page = res.body.data;
    const have = new Set(this.tasks.map(t => t.id));
    this.tasks.push(...page.filter(t => !have.has(t.id)));
    if (page.length > 0) this.last = page[page.length - 1];
    this.nextAfter = res.body.next_after;
  }

  /** Whether a task of this status belongs to what the column has loaded. */
  covers(task) {
    return this.nextAfter === null || (this.last !== null && creationOrder(task, this.last) <= 0);
  }

  remove(id) {
    this.tasks = this.tasks.filter(t => t.id !== id);
  }

  /** Replaces the task if loaded, else inserts it in creation order when the loaded range covers it. */
  put(task) {
    const at = this.tasks.findIndex(t => t.id === task.id);
    if (at >= 0) {
      this.tasks[at] = task;
    } else if (this.covers(task)) {
      const before = this.tasks.findIndex(t => creationOrder(task, t) < 0);
      this.tasks.splice(before < 0 ? this.tasks.length : before, 0, task);
    }
  }

  /** "12", or "50+" while more pages exist: what is loaded, never a guessed total. */
  count() {
    return `${this.tasks.length}${this.nextAfter === null ? '' : '+'}`;
  }
}

/**
 * Puts a task read again (or null: it no longer exists, id given) where it now belongs: out of
 * every column it left, into the column of its status (others: the column for statuses the
 * workflow does not have).
 */
export function place(columns, others, id, task) {
  for (const column of columns.values()) {
    if (!task || column.status !== task.status) column.remove(id);
  }
  if (!task || columns.has(task.status)) others.remove(id);
  if (task) (columns.get(task.status) || others).put(task);
}

/** Reads tasks by id with GET /collab/tasks/{id}, a few at a time; a task that is gone maps to null. */
export async function readTasks(ids) {
  const out = new Map();
  const queue = [...ids];
  const worker = async () => {
    while (queue.length > 0) {
      const id = queue.shift();
      try {
        out.set(id, (await get(`/collab/tasks/${encodeURIComponent(id)}`)).body);
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 404)) throw e;
        out.set(id, null);
      }
    }
  };
  await Promise.all(Array.from({length: Math.min(PARALLEL, queue.length)}, worker));
  return out;
}
