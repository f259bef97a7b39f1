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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Renews a lease in the background and tells the holder when it is lost. Created by
 * {@link Leases#keepAlive(Lease, Duration)}.
 *
 * <p>On loss (a renewal finds the lease stale, released or replaced, or storage errors persist until
 * the lease's ttl has passed since the last successful renewal) the handle completes {@link #lost()}
 * with the {@link LeaseLostException}, cancels every future given to {@link #guard} and interrupts
 * every thread given to {@link #interruptOnLoss}. Closing it stops renewing without releasing.
 *
 * <p>Thread-safe.
 */
public final class KeepAlive implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(KeepAlive.class);

  private final Leases leases;
  private final AtomicReference<Lease> current;
  private final CompletableFuture<LeaseLostException> lost = new CompletableFuture<>();
  private final List<Future<?>> guarded = new CopyOnWriteArrayList<>();
  private final List<Thread> threads = new CopyOnWriteArrayList<>();
  private volatile long lastRenewalNanos = System.nanoTime();
  private volatile ScheduledFuture<?> task;
  private volatile boolean closed;

  private KeepAlive(Leases leases, Lease lease) {
    this.leases = leases;
    this.current = new AtomicReference<>(lease);
  }

  static KeepAlive start(Leases leases, Lease lease, Duration interval, ScheduledExecutorService scheduler) {
    KeepAlive k = new KeepAlive(leases, lease);
    long nanos = interval.toNanos();
    k.task = scheduler.scheduleWithFixedDelay(k::renewOnce, nanos, nanos, TimeUnit.NANOSECONDS);
    return k;
  }

  /** @return the latest renewed lease */
  public Lease current() {
    return current.get();
  }

  /** @return true once the lease has been reported lost */
  public boolean isLost() {
    return lost.isDone();
  }

  /** @return completes with the cause when the lease is lost; never completes if closed first */
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
   */
  public Lease renewNow() {
    try {
      Lease renewed = leases.renew(current.get());
      current.set(renewed);
      lastRenewalNanos = System.nanoTime();
      return renewed;
    } catch (LeaseLostException e) {
      reportLost(e);
      throw e;
    }
  }

  /** Stops renewing. Does not release the lease. Idempotent. */
  @Override
  public void close() {
    closed = true;
    ScheduledFuture<?> t = task;
    if (t != null) {
      t.cancel(false);
    }
  }

  private void renewOnce() {
    if (closed || isLost()) {
      return;
    }
    Lease lease = current.get();
    try {
      renewNow();
    } catch (LeaseLostException e) {
      LOG.debug("keep-alive of {} stopped: {}", lease.resource(), e.getMessage());
    } catch (RuntimeException e) {
      long since = System.nanoTime() - lastRenewalNanos;
      if (since >= lease.ttl().toNanos()) {
        reportLost(new LeaseLostException(lease.resource(), lease.fence(),
            "renewals failed for longer than the ttl " + lease.ttl() + "; last error: " + e));
      } else {
        LOG.warn("renewal of lease on {} failed, retrying: {}", lease.resource(), e.toString());
      }
    }
  }

  private void reportLost(LeaseLostException e) {
    if (lost.complete(e)) {
      close();
      for (Future<?> f : guarded) {
        f.cancel(true);
      }
      for (Thread t : threads) {
        t.interrupt();
      }
    }
  }
}
