package io.kyros.collab;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Renews a lease in the background and tells the holder when it is lost. Created by
 * {@link Leases#keepAlive(Lease, Duration)}.
 *
 * <p>The lease is reported lost when a renewal finds it stale, released or replaced; when renewals
 * keep failing (a dropped connection) until the lease's expiry as estimated locally, measured from the
 * start of the last successful renewal; or when the {@link Collab} is closed. Loss is detected at
 * the next scheduled renewal, so at most one interval late. On loss the handle completes
 * {@link #lost()} with the {@link LeaseLostException}, cancels every future given to {@link #guard}
 * and interrupts every thread given to {@link #interruptOnLoss}.
 *
 * <p>{@link #close()} stops renewing without releasing and waits for a renewal in flight, so nothing
 * is reported after it returns: close the keep-alive before ending the lease on purpose (releasing
 * it, or completing the task it guards), or the next renewal would report the release as a loss.
 *
 * <p>Thread-safe.
 */
public final class KeepAlive implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(KeepAlive.class);

  private final Leases leases;
  private final Consumer<KeepAlive> onEnd;
  private final AtomicReference<Lease> current;
  private final CompletableFuture<LeaseLostException> lost = new CompletableFuture<>();
  private final List<Future<?>> guarded = new CopyOnWriteArrayList<>();
  private final List<Thread> threads = new CopyOnWriteArrayList<>();
  /** Serializes renewals with close() and stop(), so nothing is reported after close() returns. */
  private final ReentrantLock lock = new ReentrantLock();
  /** Local estimate of the lease's expiry, in System.nanoTime() terms; guarded by lock. */
  private long expiresAtNanos;
  private volatile ScheduledFuture<?> task;
  private volatile boolean closed;
  /** Set once, before the guarded work is cancelled and before {@link #lost} completes. */
  private volatile LeaseLostException lossCause;

  private KeepAlive(Leases leases, Lease lease, Duration remaining, Consumer<KeepAlive> onEnd) {
    this.leases = leases;
    this.onEnd = onEnd;
    this.current = new AtomicReference<>(lease);
    this.expiresAtNanos = System.nanoTime() + Names.nanos(remaining);
  }

  static KeepAlive start(Leases leases, Lease lease, Duration interval, ScheduledExecutorService scheduler,
      Duration remaining, Consumer<KeepAlive> onEnd) {
    KeepAlive k = new KeepAlive(leases, lease, remaining, onEnd);
    long nanos = Names.nanos(interval);
    k.task = scheduler.scheduleWithFixedDelay(k::renewOnce, nanos, nanos, TimeUnit.NANOSECONDS);
    return k;
  }

  /** @return the latest renewed lease */
  public Lease current() {
    return current.get();
  }

  /** @return true once the lease has been reported lost */
  public boolean isLost() {
    return lossCause != null;
  }

  /** @return a future completed with the cause when the lease is lost; never completed if closed first */
  public CompletableFuture<LeaseLostException> lost() {
    return lost.copy();
  }

  /**
   * Cancels {@code work} (with interruption) when the lease is lost; at once if it already is.
   *
   * @param <F> the future type
   * @param work the guarded work
   * @return {@code work}
   */
  public <F extends Future<?>> F guard(F work) {
    Objects.requireNonNull(work, "work");
    guarded.add(work);
    if (isLost()) {
      work.cancel(true);
    }
    return work;
  }

  /**
   * Interrupts {@code thread} when the lease is lost; at once if it already is.
   *
   * @param thread the thread doing the guarded work
   */
  public void interruptOnLoss(Thread thread) {
    Objects.requireNonNull(thread, "thread");
    threads.add(thread);
    if (isLost()) {
      thread.interrupt();
    }
  }

  /**
   * Renews now, on the calling thread, instead of waiting for the next scheduled renewal.
   *
   * @return the renewed lease
   * @throws LeaseLostException if the lease is lost (the loss is also reported to the handle)
   * @throws IllegalStateException if the keep-alive is closed
   */
  public Lease renewNow() {
    lock.lock();
    try {
      if (isLost()) {
        throw lossCause;
      }
      if (closed) {
        throw new IllegalStateException("keep-alive of " + current.get().resource() + " is closed");
      }
      long start = System.nanoTime();
      try {
        Lease renewed = leases.renew(current.get());
        current.set(renewed);
        expiresAtNanos = start + Names.nanos(renewed.ttl());
        return renewed;
      } catch (LeaseLostException e) {
        reportLost(e);
        throw e;
      }
    } finally {
      lock.unlock();
    }
  }

  /** Stops renewing, waiting for a renewal in flight. Does not release the lease. Idempotent. */
  @Override
  public void close() {
    lock.lock();
    try {
      closed = true;
      ScheduledFuture<?> t = task;
      if (t != null) {
        t.cancel(false);
      }
    } finally {
      lock.unlock();
    }
    onEnd.accept(this);
  }

  /** Stops renewing and reports the loss with {@code reason}, unless closed or lost already. */
  void stop(String reason) {
    lock.lock();
    try {
      if (!closed) {
        Lease l = current.get();
        reportLost(new LeaseLostException(l.resource(), l.fence(), reason));
      }
    } finally {
      lock.unlock();
    }
  }

  private void renewOnce() {
    lock.lock();
    try {
      if (closed || isLost()) {
        return;
      }
      try {
        renewNow();
      } catch (LeaseLostException e) {
        LOG.debug("keep-alive of {} stopped: {}", e.resource(), e.getMessage());
      } catch (RuntimeException e) {
        Lease lease = current.get();
        if (System.nanoTime() - expiresAtNanos >= 0) {
          reportLost(new LeaseLostException(lease.resource(), lease.fence(),
              "renewals failed until the lease expired (ttl " + lease.ttl() + "); last error: " + e));
        } else {
          LOG.warn("renewal of lease on {} failed, retrying: {}", lease.resource(), e.toString());
        }
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * Called with the lock held. The cause is published first, so {@link #guard} and
   * {@link #interruptOnLoss} calls racing with this either see it or are seen by the loops below;
   * {@link #lost} completes last, once the guarded work has been told.
   */
  private void reportLost(LeaseLostException e) {
    if (lossCause != null) {
      return;
    }
    lossCause = e;
    closed = true;
    ScheduledFuture<?> t = task;
    if (t != null) {
      t.cancel(false);
    }
    onEnd.accept(this);
    for (Future<?> f : guarded) {
      f.cancel(true);
    }
    for (Thread th : threads) {
      th.interrupt();
    }
    lost.complete(e);
  }
}
