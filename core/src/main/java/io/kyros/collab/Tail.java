package io.kyros.collab;

import io.kyros.collab.spi.Backoff;
import io.kyros.collab.spi.StoredEvent;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One push subscription: a daemon thread that reads the log after its position, filters, and hands
 * events to a {@link Sink}, waiting on the storage for new ones.
 *
 * <p>Failures: a storage read that throws is retried with capped exponential backoff (logged at
 * WARN) for as long as the tail is open; a stored event that cannot be turned into an {@link Event}
 * (a damaged log) and a sink that throws from {@link Sink#deliver} stop the tail after one
 * {@link Sink#failed} call. The thread never ends without telling the sink, through
 * {@link Sink#failed} or {@link Sink#closed}.
 *
 * <p>Closing: {@link #close()} interrupts the thread only while it is parked (waiting on the
 * storage, for demand, or between read retries), never while it calls {@link Sink#deliver}, so an
 * event being delivered finishes first and the consumer's code never sees an interrupt caused by
 * closing. {@code close()} returns without waiting for a delivery: the tail decides to deliver an event under the
 * lock that {@code close()} sets {@code closed} under, so each delivery begins before a close or not at all, and a
 * consumer's call for an event whose delivery began just before may start just after {@code close()} returned. An
 * interrupt flag the consumer's code leaves set is cleared after each delivery: it is not the tail's, and the
 * storage reads must not see it.
 *
 * <p>Thread-safe: {@link #close()}, {@link #position()} and {@link #isClosed()} may be called from any
 * thread; everything else runs on the tail's own thread.
 */
final class Tail implements Subscription, Runnable {
  private static final Logger LOG = LoggerFactory.getLogger(Tail.class);
  private static final int BATCH = 256;
  private static final Duration WAIT = Duration.ofSeconds(1);
  /** Pacing of re-reads of a failing log: 100 ms, doubling, at most 5 s. */
  private static final Backoff RETRY = new Backoff(Duration.ofMillis(50), Duration.ofSeconds(5), Backoff.Jitter.NONE);
  /** Reads in a row that found the log damaged before the stream ends: a torn line being written reads whole soon. */
  private static final int DAMAGED_READS = 3;
  private static final AtomicLong THREADS = new AtomicLong();

  /**
   * Where events go. Every method is called only from the tail's thread, one at a time, and after
   * {@link Tail#start()}; after {@link #failed} or {@link #closed} nothing more is called.
   */
  interface Sink {
    /**
     * Blocks until the consumer wants one more event.
     *
     * @return true to deliver the next event, false if the tail should stop
     * @throws InterruptedException if the tail is closed while waiting
     */
    boolean awaitDemand() throws InterruptedException;

    /**
     * Hands over one event.
     *
     * @param event the event
     */
    void deliver(Event event);

    /**
     * The tail stopped because {@link #deliver} threw or the log holds an event that cannot be read.
     *
     * @param error the cause
     */
    void failed(Throwable error);

    /** The tail stopped because it was closed (by the caller, the consumer or the Collab). */
    default void closed() {}
  }

  /** A blocking wait the tail may be interrupted out of when it is closed. */
  @FunctionalInterface
  private interface Wait {
    boolean await() throws InterruptedException;
  }

  private final Core core;
  private final EventFilter filter;
  private final Sink sink;
  private final Consumer<Tail> onStop;
  private final AtomicLong position;
  private final Object parkLock = new Object();
  private volatile boolean closed;
  private volatile Thread thread;
  /** True while the tail's thread is inside a {@link Wait}; guarded by {@link #parkLock}. */
  private boolean parked;

  Tail(Core core, long after, EventFilter filter, Sink sink, Consumer<Tail> onStop) {
    this.core = core;
    this.filter = filter;
    this.sink = sink;
    this.onStop = onStop;
    this.position = new AtomicLong(after);
  }

  /** Starts the tail's daemon thread. Call at most once. */
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
    if (closed) {
      return;
    }
    // The tail sets parked and then re-checks closed (see park), so either it sees closed and
    // does not wait, or we see parked and interrupt the wait. It clears parked under the same lock
    // before delivering, so a delivering tail is never interrupted. Set under that lock, under which the tail also
    // decides to deliver an event: a delivery begins before this close, or not at all.
    synchronized (parkLock) {
      closed = true;
      Thread t = thread;
      if (parked && t != null && t != Thread.currentThread()) {
        t.interrupt();
      }
    }
  }

  @Override
  public void run() {
    Throwable failure = null;
    try {
      failure = follow();
    } catch (InterruptedException e) {
      // interrupted while parked: only close() does that
    } catch (RuntimeException | Error e) {
      failure = e;
      LOG.warn("event subscription at position {} stopped by an unexpected error", position.get(), e);
    } finally {
      closed = true;
      try {
        if (failure != null) {
          sink.failed(failure);
        } else {
          sink.closed();
        }
      } catch (RuntimeException | Error e) {
        LOG.warn("event subscription's consumer threw from its error callback", e);
      } finally {
        onStop.accept(this);
      }
    }
  }

  /**
   * Reads, filters and delivers until closed or failed.
   *
   * @return null if closed, else the error to report through {@link Sink#failed}
   * @throws InterruptedException if closed while parked
   */
  private Throwable follow() throws InterruptedException {
    long failures = 0;
    int damagedReads = 0;
    while (!closed) {
      List<StoredEvent> batch;
      try {
        batch = core.storage().readEvents(position.get(), BATCH);
        if (batch.isEmpty()) {
          long seen = position.get();
          park(() -> core.storage().awaitEvents(seen, WAIT));
          failures = 0;
          damagedReads = 0;
          continue;
        }
        failures = 0;
        damagedReads = 0;
      } catch (RuntimeException e) {
        if (closed) {
          return null; // the storage may have been closed under us; that is the expected end
        }
        failures++;
        // damage fails the same read until repaired, so the stream ends with it; only after a few attempts, so that
        // a line another process was still writing when it was read (seen torn) is not taken for damage
        damagedReads = e instanceof DamagedStorageException ? damagedReads + 1 : 0;
        if (damagedReads >= DAMAGED_READS) {
          closed = true;
          LOG.warn("event subscription at position {} stopped: the log after it is damaged", position.get(), e);
          return e;
        }
        long pauseMillis = TimeUnit.NANOSECONDS.toMillis(RETRY.delayNanos((int) Math.min(failures, 64)));
        LOG.warn("event subscription at position {} cannot read the log, retrying in {} ms: {}", position.get(),
            pauseMillis, e.toString());
        park(() -> {
          TimeUnit.MILLISECONDS.sleep(pauseMillis);
          return true;
        });
        continue;
      }
      for (StoredEvent stored : batch) {
        if (closed) {
          return null;
        }
        if (!filter.matches(stored.type(), stored.actor(), stored.target())) {
          position.set(stored.id());
          continue;
        }
        Event event;
        try {
          event = core.toEvent(stored);
        } catch (RuntimeException e) {
          closed = true;
          LOG.warn("event subscription at position {} stopped: event {} cannot be read", position.get(),
              stored.id(), e);
          return e;
        }
        if (!park(sink::awaitDemand)) {
          return null;
        }
        synchronized (parkLock) {
          if (closed) {
            return null; // closed before this delivery began
          }
        }
        try {
          sink.deliver(event);
        } catch (RuntimeException | Error e) {
          closed = true;
          LOG.debug("event subscription stopped by its consumer at event {}", stored.id(), e);
          return e;
        }
        // a consumer may leave this thread's interrupt flag set (the "restore the interrupt" idiom): it is not the
        // tail's (only close() ends it, and never interrupts a delivery), and the storage read that follows must not
        // see it (a file store's channel would close on it, and the read be retried as a failure)
        Thread.interrupted();
        position.set(stored.id());
      }
    }
    return null;
  }

  /**
   * Runs a blocking wait during which {@link #close()} may interrupt this thread.
   *
   * @param wait the wait
   * @return the wait's result, false if the tail is already closed
   * @throws InterruptedException if closed while waiting
   */
  private boolean park(Wait wait) throws InterruptedException {
    synchronized (parkLock) {
      parked = true;
      // A consumer may have left this thread's interrupt flag set (the "restore the interrupt"
      // idiom); only close() may end the tail, and it sets closed before interrupting under this lock.
      Thread.interrupted();
    }
    try {
      while (true) {
        if (closed) {
          return false;
        }
        try {
          return wait.await();
        } catch (InterruptedException e) {
          if (closed) {
            throw e;
          }
          // interrupted by someone other than close(): keep waiting
        }
      }
    } finally {
      synchronized (parkLock) {
        parked = false;
        // An interrupt from close() may land just after the wait returned normally; drop it here,
        // where no further one can come, so it never reaches the consumer's code.
        Thread.interrupted();
      }
    }
  }
}
