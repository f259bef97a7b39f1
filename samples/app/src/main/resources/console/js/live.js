// A live feed of the event log over server-sent events (GET /collab/events/tail).
//
// The server sends every event with "id: <event id>". When the stream drops, the browser's
// EventSource reconnects by itself and sends the last id it saw as Last-Event-ID, so the server
// resumes right after it: no event is missed or repeated. When the server refuses a reconnection
// (the EventSource closes for good: a 401, a restart that answered 503...), the feed opens a new
// EventSource with ?after=<last id seen>, which resumes the same way. Ids at or below the last one
// delivered are dropped, so a subscriber sees each event once, in id order.

import {url} from './api.js';

const MAX_RETRY_MS = 10000;

export class LiveFeed {
  /**
   * @param filters the tail's filters: {type, actor, target} (comma-separated lists / a target prefix)
   */
  constructor(filters = {}) {
    this.filters = filters;
    this.lastId = 0;
    this.status = 'connecting';
    this.paused = false;
    this.queue = [];
    this.listeners = new Set();
    this.statusListeners = new Set();
    this.source = null;
    this.retryMs = 500;
    this.retryTimer = null;
    this.closed = false;
  }

  /** Starts the feed after an event id (0: from the log's start). */
  start(afterId) {
    this.lastId = Math.max(this.lastId, afterId);
    this.open();
    return this;
  }

  open() {
    if (this.closed) return;
    const source = new EventSource(url('/collab/events/tail', {...this.filters, after: this.lastId}, true));
    this.source = source;
    source.onopen = () => {
      this.retryMs = 500;
      this.setStatus('live');
    };
    source.onmessage = message => this.receive(message);
    source.onerror = () => {
      if (this.source !== source) return;
      if (source.readyState === EventSource.CLOSED) {
        // the browser gave up on this EventSource: open a new one after the last id we saw
        this.setStatus('reconnecting');
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => this.open(), this.retryMs);
        this.retryMs = Math.min(MAX_RETRY_MS, this.retryMs * 2);
      } else {
        // CONNECTING: the browser retries by itself with Last-Event-ID
        this.setStatus('reconnecting');
      }
    };
  }

  receive(message) {
    const id = Number(message.lastEventId);
    if (!Number.isFinite(id) || id <= this.lastId) return;
    this.lastId = id;
    let event;
    try {
      event = JSON.parse(message.data);
    } catch (e) {
      console.warn('unreadable event', message.data, e);
      return;
    }
    if (this.paused) this.queue.push(event);
    else this.dispatch(event);
  }

  dispatch(event) {
    for (const fn of this.listeners) {
      try {
        fn(event);
      } catch (e) {
        console.error('event listener failed', e);
      }
    }
  }

  /** Calls fn(event) for each event; returns the function that unsubscribes. */
  subscribe(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Calls fn(status) with 'connecting', 'live', 'reconnecting' or 'closed', now and on each change. */
  onStatus(fn) {
    this.statusListeners.add(fn);
    fn(this.status);
    return () => this.statusListeners.delete(fn);
  }

  setStatus(status) {
    if (status === this.status) return;
    this.status = status;
    for (const fn of this.statusListeners) fn(status);
  }

  /** While paused, events are kept; resuming delivers them in order. */
  setPaused(paused) {
    this.paused = paused;
    if (!paused) {
      const queued = this.queue;
      this.queue = [];
      queued.forEach(e => this.dispatch(e));
    }
  }

  close() {
    this.closed = true;
    clearTimeout(this.retryTimer);
    if (this.source) this.source.close();
    this.source = null;
    this.setStatus('closed');
  }
}
