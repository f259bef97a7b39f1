package io.kyros.collab.app;

import io.kyros.collab.Event;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * One reader fed by the {@link EventHub}: an SSE stream ({@link SseStream}) or a long poll
 * ({@link LongPoll}). It keeps a cursor (the last event id it has looked at) and a filter; when
 * woken it reads what follows the cursor on a pump thread and hands the matching events to
 * {@link #deliver}, which starts an asynchronous write and calls {@link #written()} when it is
 * done. At most one pump or write is in flight per client, so events go out in order, each once.
 *
 * <p>Thread-safe: its state is guarded by its own lock; {@link #deliver} and {@link #ping} are
 * called with the client marked busy, from one thread at a time.
 */
abstract class EventClient {
  protected final EventHub hub;
  protected final Predicate<Event> filter;
  private long cursor;
  /**
   * The id of the first event handed to {@link #deliver} whose write has not ended, else 0: a client closed meanwhile
   * (a long poll's timeout) has not sent it, so it must not tell its reader to resume after it.
   */
  private long handed;
  private boolean busy;
  private boolean dirty;
  private boolean closed;

  EventClient(EventHub hub, Predicate<Event> filter, long cursor) {
    this.hub = hub;
    this.filter = filter;
    this.cursor = cursor;
  }

  /** Something may follow the cursor: pump unless a pump or write is already in flight. */
  final void wake() {
    synchronized (this) {
      if (closed) {
        return;
      }
      if (busy) {
        dirty = true;
        return;
      }
      busy = true;
    }
    hub.execute(this::pump);
  }

  private void pump() {
    try {
      while (true) {
        long from;
        synchronized (this) {
          dirty = false;
          if (closed) {
            busy = false;
            return;
          }
          from = cursor;
        }
        List<Event> batch = hub.after(from);
        List<Event> matching = new ArrayList<>();
        for (Event e : batch) {
          if (filter.test(e)) {
            matching.add(e);
          }
        }
        synchronized (this) {
          if (!batch.isEmpty()) {
            cursor = batch.get(batch.size() - 1).id();
          }
          if (!matching.isEmpty()) {
            handed = matching.get(0).id();
          }
        }
        if (!matching.isEmpty()) {
          deliver(matching); // calls written() or close() when its write ends
          return;
        }
        if (batch.size() == EventHub.BATCH) {
          // more may follow: read it in a pump task of its own, behind the other clients' (a client resuming far back
          // with a filter that matches little must not hold a pump thread until it has scanned its whole stretch)
          hub.execute(this::pump);
          return;
        }
        synchronized (this) {
          if (!dirty) {
            busy = false;
            return;
          }
        }
      }
    } catch (RuntimeException e) {
      failed(e);
    }
  }

  /** The write started by {@link #deliver} or {@link #ping} finished: pump again if more came meanwhile. */
  final void written() {
    boolean again;
    synchronized (this) {
      busy = false;
      handed = 0;
      again = dirty || cursor < hub.head();
      dirty = false;
    }
    if (again) {
      wake();
    }
  }

  /** Sends a keep-alive if the client is idle (nothing in flight). */
  final void keepAlive() {
    synchronized (this) {
      if (closed || busy) {
        return;
      }
      busy = true;
    }
    ping();
  }

  /**
   * @return the last event id up to which this client has looked at every event and none is waiting to be sent: the
   *     cursor, or just before the first event handed to {@link #deliver} whose write has not ended
   */
  final synchronized long seenThrough() {
    return handed > 0 ? handed - 1 : cursor;
  }

  /** Marks the client closed (idempotent) and unregisters it. @return true the first time */
  final boolean markClosed() {
    synchronized (this) {
      if (closed) {
        return false;
      }
      closed = true;
    }
    hub.unregister(this);
    return true;
  }

  /** Starts writing these events (all match the filter); calls {@link #written()} or closes when done. */
  abstract void deliver(List<Event> events);

  /** Starts a keep-alive write; calls {@link #written()} when done. The default does nothing. */
  void ping() {
    written();
  }

  /** A pump failed (a storage read): end this client with an error. */
  abstract void failed(Throwable error);

  /** Ends this client (server stopping, or its connection failed). */
  abstract void close();
}
