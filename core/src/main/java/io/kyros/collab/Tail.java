package io.kyros.collab;

import io.kyros.collab.spi.StoredEvent;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One push subscription: a daemon thread that reads the log after its position, filters, and hands
 * events to a {@link Sink}, waiting on the storage for new ones. Thread-safe.
 */
final class Tail implements Subscription, Runnable {
  private static final Logger LOG = LoggerFactory.getLogger(Tail.class);
  private static final int BATCH = 256;
  private static final Duration WAIT = Duration.ofSeconds(1);
  private static final AtomicLong THREADS = new AtomicLong();

  /** Where events go. Called only from the tail's thread, except {@link #closed}. */
  interface Sink {
    /** Blocks until the consumer wants one more event; false if the tail should stop. */
    boolean awaitDemand() throws InterruptedException;

    void deliver(Event event);

    void failed(Throwable error);

    /** The tail was closed by the Collab or by the caller. */
    default void closed() {}
  }

  private final Core core;
  private final EventFilter filter;
  private final Sink sink;
  private final Consumer<Tail> onStop;
  private final AtomicLong position;
  private volatile boolean closed;
  private volatile Thread thread;

  Tail(Core core, long after, EventFilter filter, Sink sink, Consumer<Tail> onStop) {
    this.core = core;
    this.filter = filter;
    this.sink = sink;
    this.onStop = onStop;
    this.position = new AtomicLong(after);
  }

  void start() {
    Thread t = new Thread(this, "collab-tail-" + THREADS.incrementAndGet());
    t.setDaemon(true);
    thread = t;
    t.start();
  }

  @Override
  public long position() {
    return position.get();
  }

  @Override
  public boolean isClosed() {
    return closed;
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      Thread t = thread;
      if (t != null && t != Thread.currentThread()) {
        t.interrupt();
      }
    }
  }

  @Override
  public void run() {
    long failures = 0;
    boolean failed = false;
    try {
      while (!closed) {
        List<StoredEvent> batch;
        try {
          batch = core.storage.readEvents(position.get(), BATCH);
          if (batch.isEmpty()) {
            core.storage.awaitEvents(position.get(), WAIT);
            continue;
          }
          failures = 0;
        } catch (CollabException e) {
          failures++;
          long pauseMillis = Math.min(5_000L, 50L << Math.min(failures, 6));
          LOG.warn("event subscription at position {} cannot read the log, retrying in {} ms: {}", position.get(),
              pauseMillis, e.toString());
          Thread.sleep(pauseMillis);
          continue;
        }
        for (StoredEvent e : batch) {
          if (closed) {
            return;
          }
          if (filter.matches(e.type(), e.actor(), e.target())) {
            if (!sink.awaitDemand()) {
              return;
            }
            try {
              sink.deliver(core.toEvent(e));
            } catch (RuntimeException | Error error) {
              closed = true;
              failed = true;
              LOG.debug("event subscription stopped by its consumer at event {}", e.id(), error);
              sink.failed(error);
              return;
            }
          }
          position.set(e.id());
        }
      }
    } catch (InterruptedException e) {
      // closed
    } finally {
      boolean byClose = closed;
      closed = true;
      if (byClose && !failed) {
        sink.closed();
      }
      onStop.accept(this);
    }
  }
}
