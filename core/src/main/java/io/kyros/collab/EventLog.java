package io.kyros.collab;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.StoredEvent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Flow;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The append-only event log. Ids strictly increase; reading "after id N" never skips an event that
 * commits later with a smaller id and never returns one twice, so the last id seen is a complete,
 * exclusive resume token (like SSE's {@code Last-Event-ID}). Acknowledged appends are durable unless
 * the storage was configured otherwise.
 *
 * <p>Thread-safe. Subscriptions run on their own daemon threads and stop when the {@link Collab} is
 * closed.
 */
public final class EventLog {
  private static final Logger LOG = LoggerFactory.getLogger(EventLog.class);

  private final Core core;
  private final Set<Tail> tails = ConcurrentHashMap.newKeySet();
  private volatile boolean closed;

  EventLog(Core core) {
    this.core = core;
  }

  /**
   * Appends one event acting as the {@link Collab}'s holder.
   *
   * @param type the event type, matching {@code [a-z][a-z0-9_.-]{0,63}} and not starting with one of
   *     the prefixes reserved for Collab's own events: {@code task_}, {@code lease_}, {@code document_},
   *     {@code executor_}, {@code batch_}, {@code agent_}
   * @param target what it concerns, 1 to 300 characters without control characters
   * @param details a JSON object (a {@code JsonNode}, JSON text, or any object the mapper turns into one),
   *     nesting at most 500 levels of objects and arrays
   * @return the committed event
   * @throws IllegalArgumentException if type or target is invalid, or type is reserved
   * @throws InvalidValueException if details is not a JSON object or nests deeper than 500 levels
   * @throws StorageException if the storage fails
   */
  public Event append(String type, String target, Object details) {
    return appendAll(List.of(EventDraft.of(type, target, details))).get(0);
  }

  /**
   * Appends events atomically, in order: all are committed, with strictly increasing ids in list
   * order, or none is. Ids need not be consecutive, and another appender's events may commit
   * between two calls. Every draft is checked before anything is written, so a rejected draft
   * leaves the log unchanged.
   *
   * @param drafts the events, at least one; types must not start with a prefix reserved for
   *     Collab's own events ({@code task_}, {@code lease_}, {@code document_}), so that the log's
   *     record of tasks, leases and documents cannot be forged
   * @return the committed events, in list order
   * @throws IllegalArgumentException if the list is empty, or a draft is invalid or has a reserved type
   * @throws InvalidValueException if a draft's details are not a JSON object or nest deeper than 500 levels;
   *     the message names the draft by its index in the list
   * @throws StorageException if the storage fails
   */
  public List<Event> appendAll(List<EventDraft> drafts) {
    Objects.requireNonNull(drafts, "drafts");
    if (drafts.isEmpty()) {
      throw new IllegalArgumentException("drafts must not be empty");
    }
    List<NewEvent> events = new ArrayList<>(drafts.size());
    List<ObjectNode> trees = new ArrayList<>(drafts.size());
    for (int i = 0; i < drafts.size(); i++) {
      EventDraft d = drafts.get(i);
      requireUserType(Names.requireEventType(d.type()));
      String actor = d.actor() == null ? core.holder() : Names.requireLabel("actor", d.actor());
      Names.requireLabel("target", d.target());
      // canonicalized and checked against the size limit once (core.event would do it again), and the tree its text
      // reads back as kept for the answer, which need not parse the text it just wrote
      Core.Details details = core.details(d.details(), "details of draft " + i + " (type " + d.type() + ")");
      events.add(new NewEvent(d.type(), actor, d.target(), details.json()));
      trees.add(details.tree());
    }
    CommitResult r = core.commit(Commit.of(List.of(), List.of(), events));
    if (!(r instanceof CommitResult.Committed c)) {
      throw new StorageException("storage reported a conflict for an unconditional append: " + r);
    }
    List<StoredEvent> stored = c.events();
    if (stored.size() != events.size()) {
      return core.toEvents(stored); // not what the SPI promises; answer with what the storage says it committed
    }
    List<Event> out = new ArrayList<>(stored.size());
    for (int i = 0; i < stored.size(); i++) {
      StoredEvent e = stored.get(i);
      out.add(new Event(e.id(), e.ts(), e.type(), e.actor(), e.target(), trees.get(i)));
    }
    return out;
  }

  /**
   * @return the id of the newest event, 0 if the log is empty
   */
  public long lastId() {
    return core.storage().lastEventId();
  }

  /**
   * Reads events after a position.
   *
   * @param afterId exclusive position, 0 for the beginning
   * @param limit the most events to return, positive
   * @return up to {@code limit} events in id order
   */
  public List<Event> read(long afterId, int limit) {
    return read(afterId, EventFilter.all(), limit);
  }

  /**
   * Reads events after a position that pass a filter.
   *
   * @param afterId exclusive position, 0 for the beginning
   * @param filter which events to return
   * @param limit the most events to return, positive
   * @return up to {@code limit} matching events in id order
   * @throws IllegalArgumentException if afterId is negative or limit not positive
   */
  public List<Event> read(long afterId, EventFilter filter, int limit) {
    return scan(afterId, filter, limit).events;
  }

  /**
   * Long polling: returns matching events after a position as soon as there is at least one, or an
   * empty list when the timeout passes.
   *
   * @param afterId exclusive position
   * @param filter which events to return
   * @param limit the most events to return, positive
   * @param timeout the longest time to wait, not negative; durations beyond about 292 years wait
   *     (practically) forever
   * @return the events, empty on timeout
   * @throws IllegalArgumentException if afterId or timeout is negative or limit not positive
   * @throws InterruptedException if interrupted while waiting
   * @throws StorageException if the storage fails
   */
  public List<Event> awaitAfter(long afterId, EventFilter filter, int limit, Duration timeout)
      throws InterruptedException {
    Names.requireNotNegative("timeout", timeout);
    long timeoutNanos = Names.nanos(timeout); // saturates at Long.MAX_VALUE
    long start = System.nanoTime();
    long position = afterId;
    while (true) {
      Page page = scan(position, filter, limit);
      if (!page.events.isEmpty()) {
        return page.events;
      }
      position = page.scannedTo;
      // elapsed is never negative, so this cannot overflow even for a saturated timeout
      long left = timeoutNanos - (System.nanoTime() - start);
      if (left <= 0) {
        return List.of();
      }
      core.storage().awaitEvents(position, Duration.ofNanos(left));
    }
  }

  /**
   * Pushes matching events after a position to a listener, on a dedicated daemon thread, in id order,
   * each exactly once, until closed. Storage read failures are retried (logged at WARN); the
   * subscription stops, after calling {@link EventListener#onError}, when the listener throws or the
   * log holds an event that cannot be read (one the storage reports damaged, a
   * {@link DamagedStorageException}, or one it returns but core cannot decode).
   *
   * @param afterId exclusive position to resume from, 0 for the beginning
   * @param filter which events to deliver
   * @param listener the receiver
   * @return the subscription handle
   * @throws IllegalArgumentException if afterId is negative
   * @throws IllegalStateException if the {@link Collab} is closed
   */
  public Subscription subscribe(long afterId, EventFilter filter, EventListener listener) {
    Objects.requireNonNull(listener, "listener");
    Tail tail = openTail(afterId, filter, new Tail.Sink() {
      @Override
      public boolean awaitDemand() {
        return true;
      }

      @Override
      public void deliver(Event event) {
        listener.onEvent(event);
      }

      @Override
      public void failed(Throwable error) {
        listener.onError(error);
      }
    });
    tail.start();
    return tail;
  }

  /**
   * A {@link Flow.Publisher} of matching events after a position: each subscriber gets its own tail
   * with back-pressure ({@code request(n)}), resumable by subscribing a new publisher after the last
   * id it received.
   *
   * <p>The publisher follows the Reactive Streams rules. {@code onSubscribe} is called on the
   * subscribing thread; every later signal comes from the subscription's own daemon thread, which
   * starts only after {@code onSubscribe} has returned, so signals never overlap. The stream never
   * completes; it ends with exactly one {@code onError} and nothing after it when:
   * <ul>
   *   <li>the {@link Collab} closes (a {@link CollabException}), also if it was already closed when
   *       subscribing (an {@link IllegalStateException}, right after {@code onSubscribe});</li>
   *   <li>the subscriber requests a non-positive amount (an {@link IllegalArgumentException}, rule
   *       3.9);</li>
   *   <li>the log holds an event that cannot be read (a {@link StorageException});</li>
   *   <li>{@code onNext} throws (that exception; the subscription is cancelled, rule 2.13).</li>
   * </ul>
   * After {@code cancel()} nothing more is signalled, and {@code request} and {@code cancel} do
   * nothing (rules 3.6, 3.7). A subscriber whose {@code onSubscribe} throws is treated as cancelled:
   * nothing is signalled and no thread is left running. Transient storage failures are retried.
   *
   * @param afterId exclusive position
   * @param filter which events to publish
   * @return the publisher; it may be subscribed to any number of times, from any thread
   * @throws IllegalArgumentException if afterId is negative
   */
  public Flow.Publisher<Event> publisher(long afterId, EventFilter filter) {
    checkPosition(afterId);
    Objects.requireNonNull(filter, "filter");
    return subscriber -> {
      Objects.requireNonNull(subscriber, "subscriber");
      FlowSink sink = new FlowSink(subscriber);
      Tail tail;
      try {
        tail = openTail(afterId, filter, sink);
      } catch (RuntimeException e) {
        rejectSubscriber(subscriber, e);
        return;
      }
      sink.tail = tail;
      boolean subscribed = false;
      try {
        subscriber.onSubscribe(sink);
        subscribed = true;
      } catch (RuntimeException e) {
        LOG.warn("Flow subscriber {} threw from onSubscribe; its subscription is cancelled (Reactive Streams 2.13)",
            subscriber, e);
      } finally {
        if (subscribed) {
          tail.start(); // only now, so no signal can precede onSubscribe's return (rule 1.9)
        } else {
          tail.close();
          tails.remove(tail);
        }
      }
    };
  }

  /**
   * Renders events after a position as a human-readable Markdown log.
   *
   * @param afterId exclusive position
   * @param limit the most events to render
   * @return the Markdown text
   */
  public String renderMarkdown(long afterId, int limit) {
    return MarkdownLogRenderer.create().render(read(afterId, limit));
  }

  void close() {
    closed = true;
    for (Tail t : tails) {
      t.close();
    }
  }

  // ---------------------------------------------------------------------------------------------

  /** The most stored events a read asks the storage for at once. */
  static final int SCAN_PAGE = 1024;

  private record Page(List<Event> events, long scannedTo) {}

  private Page scan(long afterId, EventFilter filter, int limit) {
    checkPosition(afterId);
    Objects.requireNonNull(filter, "filter");
    Names.requirePositive("limit", limit);
    List<Event> out = new ArrayList<>(Math.min(limit, 1024));
    long position = afterId;
    while (out.size() < limit) {
      // at most SCAN_PAGE stored events at once: a filtered read of a large limit holds no more in memory
      List<StoredEvent> batch = core.storage().readEvents(position,
          Math.min(Math.max(limit - out.size(), 64), SCAN_PAGE));
      for (StoredEvent e : batch) {
        if (out.size() == limit) {
          return new Page(out, position);
        }
        if (filter.matches(e.type(), e.actor(), e.target())) {
          out.add(core.toEvent(e));
        }
        position = e.id();
      }
      if (batch.isEmpty()) {
        break;
      }
    }
    return new Page(out, position);
  }

  private static void requireUserType(String type) {
    if (EventType.isReserved(type)) {
      throw new IllegalArgumentException("event type " + type + " is reserved for Collab's own events (prefixes "
          + String.join(", ", EventType.RESERVED_PREFIXES) + ")");
    }
  }

  private static void checkPosition(long afterId) {
    if (afterId < 0) {
      throw new IllegalArgumentException("afterId must not be negative: " + afterId);
    }
  }

  /** Creates and registers a tail without starting it: the caller starts it (or drops it). */
  private Tail openTail(long afterId, EventFilter filter, Tail.Sink sink) {
    checkPosition(afterId);
    Objects.requireNonNull(filter, "filter");
    if (closed) {
      throw new IllegalStateException("Collab is closed");
    }
    Tail tail = new Tail(core, afterId, filter, sink, tails::remove);
    tails.add(tail);
    if (closed) {
      tail.close(); // close() ran between the check and add and may have missed it; it still ends with closed()
    }
    return tail;
  }

  /** Tells a subscriber that arrived after close: onSubscribe with an inert subscription, then onError. */
  private static void rejectSubscriber(Flow.Subscriber<? super Event> subscriber, RuntimeException error) {
    try {
      subscriber.onSubscribe(new Flow.Subscription() {
        @Override
        public void request(long n) {}

        @Override
        public void cancel() {}
      });
    } catch (RuntimeException e) {
      LOG.warn("Flow subscriber {} threw from onSubscribe; its subscription is cancelled (Reactive Streams 2.13)",
          subscriber, e);
      return;
    }
    try {
      subscriber.onError(error);
    } catch (RuntimeException e) {
      LOG.warn("Flow subscriber {} threw from onError", subscriber, e);
    }
  }
}
