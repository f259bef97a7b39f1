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
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Renews a lease in the background and tells the holder when it is lost. Created by
 * {@link Leases#keepAlive(Lease, Duration)}.
 *
 * <p>Each renewal is {@link Leases#renew(Lease)}: it moves the heartbeat to the storage's now and keeps
 * the ttl stored for the lease, so the lease expires a ttl after the last renewal. A ttl changed with
 * {@link Leases#renew(Lease, Duration)} while the keep-alive runs is kept by the following renewals (the
 * interval is not changed: choose it for the shortest ttl you will set, at most half of it). A release
 * scheduled with {@link Leases#releaseAt} cannot be renewed: the next renewal reports the lease lost.
 *
 * <p>The lease is reported lost when a renewal finds it stale, released or replaced; when renewals
 * fail (a dropped connection) and the next attempt would come after the lease's expiry, estimated
 * locally from the start of the last successful renewal; when no renewal has succeeded by then (a
 * renewal hanging in the storage is noticed by a separate check); or when the {@link Collab} is
 * closed. On loss the handle, on a thread of its own so that slow callbacks hold up nothing else,
 * cancels every future given to {@link #guard}, interrupts every thread given to
 * {@link #interruptOnLoss}, and then completes {@link #lost()} with the {@link LeaseLostException}.
 *
 * <p>{@link #close()} stops renewing without releasing; once it has returned nothing is reported,
 * even by a renewal that was in flight, and a renewal that fails after it (interrupted, or failing
 * because the lease was just released) is logged at debug level only, never as a failure being
 * retried. Close the keep-alive before ending the lease on purpose (releasing it, scheduling its
 * release, or completing the task it guards), or the next renewal would report the release as a loss.
 *
 * <p>Thread-safe.
 */
public final class KeepAlive implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(KeepAlive.class);

  /** The value of {@link #end} once closed; a {@link LeaseLostException} there means lost. */
  private static final Object CLOSED = new Object();

  private final Leases leases;
  private final Logger log;
  private final Consumer<KeepAlive> onEnd;
  private final long intervalNanos;
  /** Null while open, then {@link #CLOSED} or the loss's cause: set once, atomically. */
  private final AtomicReference<Object> end = new AtomicReference<>();
  private final CompletableFuture<LeaseLostException> lost = new CompletableFuture<>();
  private final List<Future<?>> guarded = new CopyOnWriteArrayList<>();
  private final List<Thread> threads = new CopyOnWriteArrayList<>();
  /** The latest renewal and the local expiry estimate it gives; replaced together, newest wins. */
  private final AtomicReference<Renewal> latest;
  private volatile ScheduledFuture<?> renewals;
  private volatile ScheduledFuture<?> watchdog;

  /** A renewed lease and, in System.nanoTime() terms, when it expires at the latest. */
  private record Renewal(Lease lease, long expiresAtNanos) {}

  private KeepAlive(Leases leases, Lease lease, Duration interval, Duration remaining, Consumer<KeepAlive> onEnd,
      Logger log) {
    this.leases = leases;
    this.log = log;
    this.onEnd = onEnd;
    this.intervalNanos = Names.nanos(interval);
    this.latest = new AtomicReference<>(new Renewal(lease, System.nanoTime() + Names.nanos(remaining)));
  }

  static KeepAlive create(Leases leases, Lease lease, Duration interval, Duration remaining,
      Consumer<KeepAlive> onEnd) {
    return create(leases, lease, interval, remaining, onEnd, LOG);
  }

  /** As {@link #create(Leases, Lease, Duration, Duration, Consumer)}, logging to {@code log}. */
  static KeepAlive create(Leases leases, Lease lease, Duration interval, Duration remaining,
      Consumer<KeepAlive> onEnd, Logger log) {
    return new KeepAlive(leases, lease, interval, remaining, onEnd, log);
  }

  /**
   * Where keep-alives run: renewals, which call the storage and may hang in it, and the deadline checks, which never
   * do, on threads of their own, so that however many renewals hang the checks still report the losses in time.
   *
   * @param renewals runs the renewals
   * @param watchdogs runs the deadline checks
   */
  record Schedulers(ScheduledExecutorService renewals, ScheduledExecutorService watchdogs) {}

  void start(Schedulers schedulers) {
    renewals = schedulers.renewals().scheduleWithFixedDelay(this::renewOnce, intervalNanos, intervalNanos,
        TimeUnit.NANOSECONDS);
    long half = Math.max(1_000_000L, intervalNanos / 2);
    watchdog = schedulers.watchdogs().scheduleWithFixedDelay(this::watch, half, half, TimeUnit.NANOSECONDS);
    if (end.get() != null) {
      cancelSchedules();
    }
  }

  /** @return the latest renewed lease */
  public Lease current() {
    return latest.get().lease();
  }

  /** @return true once the lease has been reported lost */
  public boolean isLost() {
    return end.get() instanceof LeaseLostException;
  }

  /** @return a future completed with the cause when the lease is lost; never completed if closed first */
  public CompletableFuture<LeaseLostException> lost() {
    return lost.copy();
  }

  /**
   * Cancels {@code work} with {@code cancel(true)} when the lease is lost; at once if it already is.
   * A {@link java.util.concurrent.FutureTask} (what executors return) interrupts its thread; a
   * {@link CompletableFuture} only changes state and does not stop code already running, so pair it
   * with {@link #interruptOnLoss} or have the work check {@link #isLost()}.
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
    Object ended = end.get();
    if (ended instanceof LeaseLostException cause) {
      throw cause;
    }
    if (ended == CLOSED) {
      throw new IllegalStateException("keep-alive of " + current().resource() + " is closed");
    }
    long start = System.nanoTime();
    try {
      Lease renewed = leases.renew(current());
      Renewal next = new Renewal(renewed, start + Names.nanos(renewed.ttl()));
      // the later renewal by the storage's clock wins (not the later expiry: the ttl may have been shortened)
      latest.accumulateAndGet(next, (a, b) -> b.lease().heartbeatAt().isBefore(a.lease().heartbeatAt()) ? a : b);
      return renewed;
    } catch (LeaseLostException e) {
      reportLost(e);
      throw e;
    }
  }

  /** Stops renewing. Does not release the lease. Idempotent; after it returns nothing is reported. */
  @Override
  public void close() {
    if (end.compareAndSet(null, CLOSED)) {
      cancelSchedules();
      onEnd.accept(this);
    }
  }

  /** Stops renewing and reports the loss with {@code reason}, unless closed or lost already. */
  void stop(String reason) {
    Lease l = current();
    reportLost(new LeaseLostException(l.resource(), l.fence(), reason));
  }

  private void renewOnce() {
    try {
      if (end.get() != null) {
        return;
      }
      renewNow();
    } catch (LeaseLostException | IllegalStateException e) {
      log.debug("keep-alive of {} stopped: {}", current().resource(), e.getMessage());
    } catch (RuntimeException e) {
      if (end.get() != null) {
        // closed (or lost) while this renewal was in flight: nothing will be retried
        log.debug("renewal of lease on {} ended by the keep-alive's end: {}", current().resource(), e.toString());
      } else if (!reportIfExpiringWithin(intervalNanos, "renewals failed; last error: " + e)) {
        // the next attempt comes one interval from now: too late if the lease expires before (reported above)
        log.warn("renewal of lease on {} failed, retrying: {}", current().resource(), e.toString());
      }
    } catch (Throwable e) {
      Lease l = current();
      reportLost(new LeaseLostException(l.resource(), l.fence(), "keep-alive failed: " + e));
      throw e;
    }
  }

  /** The separate check: a renewal hanging in the storage must not let the lease expire unreported. */
  private void watch() {
    reportIfExpiringWithin(intervalNanos / 2, "no renewal succeeded before the lease expires");
  }

  /**
   * Reports the loss if the lease expires, by the local estimate, within {@code marginNanos}.
   *
   * @return true if it reported the loss
   */
  private boolean reportIfExpiringWithin(long marginNanos, String reason) {
    Renewal r = latest.get();
    if (end.get() == null && System.nanoTime() + marginNanos - r.expiresAtNanos() >= 0) {
      reportLost(new LeaseLostException(r.lease().resource(), r.lease().fence(),
          reason + " (ttl " + r.lease().ttl() + ")"));
      return true;
    }
    return false;
  }

  private void reportLost(LeaseLostException e) {
    if (!end.compareAndSet(null, e)) {
      return;
    }
    cancelSchedules();
    onEnd.accept(this);
    Thread notifier = new Thread(() -> {
      for (Future<?> f : guarded) {
        f.cancel(true);
      }
      for (Thread t : threads) {
        t.interrupt();
      }
      lost.complete(e);
    }, "collab-lease-lost-" + e.resource());
    notifier.setDaemon(true);
    notifier.start();
  }

  private void cancelSchedules() {
    ScheduledFuture<?> r = renewals;
    if (r != null) {
      r.cancel(false);
    }
    ScheduledFuture<?> w = watchdog;
    if (w != null) {
      w.cancel(false);
    }
  }
}
