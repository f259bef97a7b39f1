package io.kyros.collab.jdbc;

import io.kyros.collab.StorageException;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.LongPredicate;

/**
 * Threads waiting for events: they check the log, then wait on a monitor until a commit through the same storage
 * {@linkplain #wake() wakes} them, a database notification does (PostgreSQL, through {@link Notifications}), the
 * poll interval passes or the storage closes, and check again. A wake-up counter keeps a waiter that checked the log
 * before a wake-up from sleeping through it.
 *
 * <p>Thread-safe.
 */
final class EventWaiters implements AutoCloseable {
  /** Notified when events commit through this storage, a notification arrives, or the storage closes. */
  private final Object wakeups = new Object();
  /** Counts wake-ups, so a waiter that read the log before one happened does not sleep through it. */
  private long wakeupCount;
  private boolean closed;
  private final long pollNanos;
  private final Optional<Notifications> notifications;

  /**
   * @param pollNanos the longest wait between two checks of the log
   * @param listener makes the listener that wakes this storage's waiters on notifications, given the wake-up to
   *     call, or empty to poll only
   */
  EventWaiters(long pollNanos, Optional<Function<Runnable, Notifications>> listener) {
    this.pollNanos = pollNanos;
    this.notifications = listener.map(make -> make.apply(this::wake));
  }

  /**
   * Waits until the log holds an event after {@code afterId}, or the timeout passes.
   *
   * @param afterId the position
   * @param timeout how long to wait at most
   * @param readableAfter tells whether the log holds an event after a position that a read would return now
   * @return true if there is an event after {@code afterId}
   * @throws InterruptedException if interrupted while waiting
   * @throws StorageException if the storage closed, or reading the log failed
   */
  boolean await(long afterId, Duration timeout, LongPredicate readableAfter) throws InterruptedException {
    long timeoutNanos = timeout.compareTo(Duration.ofNanos(Long.MAX_VALUE)) >= 0 ? Long.MAX_VALUE : timeout.toNanos();
    long start = System.nanoTime();
    if (notifications.isEmpty()) {
      return await(afterId, timeoutNanos, start, readableAfter);
    }
    notifications.get().waitStarted();
    try {
      return await(afterId, timeoutNanos, start, readableAfter);
    } finally {
      notifications.get().waitEnded();
    }
  }

  private boolean await(long afterId, long timeoutNanos, long start, LongPredicate readableAfter)
      throws InterruptedException {
    while (true) {
      long seen;
      synchronized (wakeups) {
        seen = wakeupCount;
      }
      if (readableAfter.test(afterId)) {
        return true;
      }
      long left = timeoutNanos - (System.nanoTime() - start);
      if (left <= 0) {
        return false;
      }
      synchronized (wakeups) {
        if (wakeupCount == seen) {
          if (closed) {
            throw new StorageException("JdbcStorage is closed");
          }
          TimeUnit.NANOSECONDS.timedWait(wakeups, Math.min(left, pollNanos));
        }
      }
    }
  }

  /** Wakes every waiter to check the log again. */
  void wake() {
    synchronized (wakeups) {
      wakeupCount++;
      wakeups.notifyAll();
    }
  }

  /** Stops the listener and wakes the waiters, which then fail with "closed". Idempotent. */
  @Override
  public void close() {
    synchronized (wakeups) {
      closed = true;
    }
    notifications.ifPresent(Notifications::close);
    wake();
  }
}
