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
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

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
  private final Core core;
  private final Set<Tail> tails = ConcurrentHashMap.newKeySet();
  private volatile boolean closed;

  EventLog(Core core) {
    this.core = core;
  }

  /**
   * Appends one event acting as the {@link Collab}'s holder.
   *
   * @param type the event type, matching {@code [a-z][a-z0-9_.-]{0,63}}
   * @param target what it concerns, 1 to 300 characters without control characters
   * @param details a JSON object (a {@code JsonNode}, JSON text, or any object the mapper turns into one)
   * @return the committed event
   * @throws IllegalArgumentException if type or target is invalid
   * @throws InvalidValueException if details is not a JSON object
   */
  public Event append(String type, String target, Object details) {
    return appendAll(List.of(EventDraft.of(type, target, details))).get(0);
  }

  /**
   * Appends events atomically, in order: all are committed with consecutive positions in the log's
   * order, or none.
   *
   * @param drafts the events, at least one
   * @return the committed events
   * @throws IllegalArgumentException if a draft is invalid or the list is empty
   */
  public List<Event> appendAll(List<EventDraft> drafts) {
    Objects.requireNonNull(drafts, "drafts");
    if (drafts.isEmpty()) {
      throw new IllegalArgumentException("drafts must not be empty");
    }
    List<NewEvent> events = new ArrayList<>(drafts.size());
    for (EventDraft d : drafts) {
      Names.requireEventType(d.type());
      String actor = d.actor() == null ? core.holder : Names.requireLabel("actor", d.actor());
      Names.requireLabel("target", d.target());
      ObjectNode details = core.encode(d.details(), "details of event " + d.type()).value();
      events.add(core.event(d.type(), actor, d.target(), details));
    }
    CommitResult r = core.commit(Commit.of(List.of(), List.of(), events));
    if (!(r instanceof CommitResult.Committed c)) {
      throw new StorageException("storage reported a conflict for an unconditional append: " + r);
    }
    return core.toEvents(c.events());
  }

  /**
   * @return the id of the newest event, 0 if the log is empty
   */
  public long lastId() {
    return core.storage.lastEventId();
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
   * @param timeout the longest time to wait
   * @return the events, empty on timeout
   * @throws InterruptedException if interrupted while waiting
   */
  public List<Event> awaitAfter(long afterId, EventFilter filter, int limit, Duration timeout)
      throws InterruptedException {
    Names.requireNotNegative("timeout", timeout);
    long deadline = System.nanoTime() + timeout.toNanos();
    long position = afterId;
    while (true) {
      Page page = scan(position, filter, limit);
      if (!page.events.isEmpty()) {
        return page.events;
      }
      position = page.scannedTo;
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return List.of();
      }
      core.storage.awaitEvents(position, Duration.ofNanos(left));
    }
  }

  /**
   * Pushes matching events after a position to a listener, on a dedicated daemon thread, in id order,
   * each exactly once, until closed.
   *
   * @param afterId exclusive position to resume from, 0 for the beginning
   * @param filter which events to deliver
   * @param listener the receiver
   * @return the subscription handle
   * @throws IllegalStateException if the {@link Collab} is closed
   */
  public Subscription subscribe(long afterId, EventFilter filter, EventListener listener) {
    Objects.requireNonNull(listener, "listener");
    return startTail(afterId, filter, new Tail.Sink() {
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
  }

  /**
   * A {@link Flow.Publisher} of matching events after a position: each subscriber gets its own tail
   * with back-pressure ({@code request(n)}), resumable by subscribing a new publisher after the last
   * id it received. When the {@link Collab} closes, subscribers get {@code onError}.
   *
   * @param afterId exclusive position
   * @param filter which events to publish
   * @return the publisher
   */
  public Flow.Publisher<Event> publisher(long afterId, EventFilter filter) {
    checkPosition(afterId);
    Objects.requireNonNull(filter, "filter");
    return subscriber -> {
      Objects.requireNonNull(subscriber, "subscriber");
      FlowSink sink = new FlowSink(subscriber);
      try {
        sink.tail = startTail(afterId, filter, sink);
      } catch (RuntimeException e) {
        subscriber.onSubscribe(new Flow.Subscription() {
          @Override
          public void request(long n) {}

          @Override
          public void cancel() {}
        });
        subscriber.onError(e);
        return;
      }
      subscriber.onSubscribe(sink);
      sink.ready();
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

  private record Page(List<Event> events, long scannedTo) {}

  private Page scan(long afterId, EventFilter filter, int limit) {
    checkPosition(afterId);
    Objects.requireNonNull(filter, "filter");
    Names.requirePositive("limit", limit);
    List<Event> out = new ArrayList<>(Math.min(limit, 1024));
    long position = afterId;
    while (out.size() < limit) {
      List<StoredEvent> batch = core.storage.readEvents(position, Math.max(limit - out.size(), 64));
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

  private static void checkPosition(long afterId) {
    if (afterId < 0) {
      throw new IllegalArgumentException("afterId must not be negative: " + afterId);
    }
  }

  private Tail startTail(long afterId, EventFilter filter, Tail.Sink sink) {
    checkPosition(afterId);
    Objects.requireNonNull(filter, "filter");
    if (closed) {
      throw new IllegalStateException("Collab is closed");
    }
    Tail tail = new Tail(core, afterId, filter, sink, tails::remove);
    tails.add(tail);
    tail.start();
    if (closed) {
      tail.close();
    }
    return tail;
  }

  /** Bridges a tail to a Flow.Subscriber with demand accounting (Reactive Streams rules 1.1, 3.9). */
  private static final class FlowSink implements Tail.Sink, Flow.Subscription {
    private final Flow.Subscriber<? super Event> subscriber;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private long demand;
    private boolean subscribed;
    private boolean cancelled;
    private IllegalArgumentException badRequest;
    private volatile Tail tail;

    FlowSink(Flow.Subscriber<? super Event> subscriber) {
      this.subscriber = subscriber;
    }

    void ready() {
      lock.lock();
      try {
        subscribed = true;
        changed.signalAll();
      } finally {
        lock.unlock();
      }
    }

    @Override
    public void request(long n) {
      Tail t;
      lock.lock();
      try {
        if (n <= 0) {
          // Signalled by the tail's own thread when it stops, so signals stay serial (rule 1.3).
          if (badRequest == null && !cancelled) {
            badRequest = new IllegalArgumentException("request must be positive (Reactive Streams 3.9): " + n);
          }
          changed.signalAll();
          t = tail;
        } else {
          demand = demand + n < 0 ? Long.MAX_VALUE : demand + n;
          changed.signalAll();
          return;
        }
      } finally {
        lock.unlock();
      }
      if (t != null) {
        t.close();
      }
    }

    @Override
    public void cancel() {
      lock.lock();
      try {
        cancelled = true;
        changed.signalAll();
      } finally {
        lock.unlock();
      }
      Tail t = tail;
      if (t != null) {
        t.close();
      }
    }

    @Override
    public boolean awaitDemand() throws InterruptedException {
      lock.lock();
      try {
        while (!cancelled && badRequest == null && (!subscribed || demand == 0)) {
          changed.await(1, TimeUnit.SECONDS);
          if (tail != null && tail.isClosed()) {
            return false;
          }
        }
        if (cancelled || badRequest != null) {
          return false;
        }
        if (demand != Long.MAX_VALUE) {
          demand--;
        }
        return true;
      } finally {
        lock.unlock();
      }
    }

    @Override
    public void deliver(Event event) {
      subscriber.onNext(event);
    }

    @Override
    public void failed(Throwable error) {
      subscriber.onError(error);
    }

    @Override
    public void closed() {
      Throwable error;
      lock.lock();
      try {
        error = cancelled ? null
            : badRequest != null ? badRequest : new CollabException("event subscription closed: the Collab was closed");
        cancelled = true;
      } finally {
        lock.unlock();
      }
      if (error != null) {
        subscriber.onError(error);
      }
    }
  }
}
