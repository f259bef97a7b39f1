package io.kyros.collab;

import io.kyros.collab.spi.RecordKey;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Supplier;

/**
 * Leases: time-bounded ownership of named resources, with fencing tokens.
 *
 * <ul>
 *   <li>At most one unexpired lease exists per resource; expiry is judged by the storage's clock
 *       (the database's on JDBC), never by the caller's: a lease is stale when
 *       {@code now > heartbeatAt + ttl}.</li>
 *   <li>{@link Lease#fence()} strictly increases on every acquisition of a resource, reclaim
 *       included, and is never reused: the lease record keeps the last fence after release.</li>
 *   <li>Acquire, release and reclaim record {@code lease_acquired}, {@code lease_released} and
 *       {@code lease_reclaimed} atomically with the change; heartbeats record nothing.</li>
 * </ul>
 *
 * <p>Writes can be guarded by a lease ({@link Documents#guardedBy(Lease)}, {@link TaskClaim}): they
 * commit only if the lease is still current, checked in the same atomic commit.
 *
 * <p>Thread-safe.
 */
public final class Leases {
  private final Core core;
  private final LeaseCommits commits;
  private final Supplier<ScheduledExecutorService> scheduler;
  private final Set<KeepAlive> keepAlives = ConcurrentHashMap.newKeySet();

  Leases(Core core, LeaseCommits commits, Supplier<ScheduledExecutorService> scheduler) {
    this.core = core;
    this.commits = commits;
    this.scheduler = scheduler;
  }

  /**
   * Acquires a lease on {@code resource} if nobody holds an unexpired one; a stale lease is
   * reclaimed (recording {@code lease_reclaimed}) and replaced.
   *
   * @param resource the resource name, matching {@code [A-Za-z0-9][A-Za-z0-9._-]{0,127}}
   * @param ttl how long the lease lives after each heartbeat, positive
   * @return the new lease, or empty if the resource is held
   * @throws IllegalArgumentException if the name is invalid or the ttl not positive
   */
  public Optional<Lease> tryAcquire(String resource, Duration ttl) {
    Names.requireName("resource", resource);
    Names.requireBounded("ttl", ttl);
    return commits.tryAcquire(resource, core.holder(), ttl);
  }

  /**
   * Acquires a lease, waiting up to {@code maxWait} for the current holder to release it or for it to
   * go stale. Wakes when the log records an event about this resource (a release or a reclaim), when
   * the current lease is due to expire, and at least every {@link Collab.Builder#acquireRecheck}
   * (a second by default); events about other things are skipped without re-reading the lease.
   *
   * @param resource the resource name
   * @param ttl the lease's time to live, positive
   * @param maxWait the longest time to wait, in real time; zero means one attempt
   * @return the lease, or empty if it could not be acquired in time
   * @throws InterruptedException if interrupted while waiting
   * @throws IllegalArgumentException if an argument is invalid
   */
  public Optional<Lease> acquire(String resource, Duration ttl, Duration maxWait) throws InterruptedException {
    Names.requireName("resource", resource);
    Names.requireBounded("ttl", ttl);
    Names.requireNotNegative("maxWait", maxWait);
    return commits.acquire(resource, ttl, maxWait);
  }

  /**
   * Renews a lease: moves its heartbeat to the storage's current time. Records no event.
   *
   * @param lease the lease to renew
   * @return the renewed lease
   * @throws LeaseLostException if it is stale, released or replaced
   */
  public Lease renew(Lease lease) {
    Objects.requireNonNull(lease, "lease");
    return commits.renew(lease);
  }

  /**
   * Releases a lease, recording {@code lease_released}. Releasing a lease that is stale but not yet
   * reclaimed still releases it.
   *
   * @param lease the lease
   * @return true if it was released, false if it was no longer held (released or replaced)
   * @throws IllegalArgumentException if the lease is a task claim: end those with
   *     {@link Tasks#complete}, {@link Tasks#fail} or {@link Tasks#release}, which also move the task
   */
  public boolean release(Lease lease) {
    Objects.requireNonNull(lease, "lease");
    RecordKey key = RecordKeys.lease(lease.resource());
    if (key.collection().equals(RecordKeys.TASK_LEASES)) {
      throw new IllegalArgumentException("lease on " + lease.resource()
          + " is a task claim: end it with Tasks.complete, Tasks.fail or Tasks.release");
    }
    return commits.release(key, lease);
  }

  /**
   * @param resource the resource name
   * @return its unexpired lease, or empty if it is free or its lease is stale
   */
  public Optional<Lease> get(String resource) {
    Names.requireName("resource", resource);
    return commits.get(resource);
  }

  /**
   * @param lease a lease
   * @return true if it is the resource's current, unexpired lease
   */
  public boolean isCurrent(Lease lease) {
    try {
      commits.guardExpectation(lease);
      return true;
    } catch (LeaseLostException e) {
      return false;
    }
  }

  /**
   * Lists the held resource leases (not task claims), stale ones included, with their time left by
   * the storage's clock.
   *
   * @return the leases, ordered by resource
   */
  public List<LeaseStatus> list() {
    return commits.list();
  }

  /**
   * Frees every stale resource lease (task claims are reclaimed by {@link Tasks#reclaimStale()}),
   * recording {@code lease_reclaimed} with the previous holder, its last heartbeat and its fence for
   * each. The next acquisition gets a higher fence.
   *
   * @return the leases that were reclaimed
   */
  public List<Lease> reclaimStale() {
    return commits.reclaimStale();
  }

  /**
   * Starts renewing {@code lease} in the background at a third of its ttl.
   *
   * @param lease the lease to keep alive
   * @return the keep-alive handle; close it to stop renewing
   * @see #keepAlive(Lease, Duration)
   */
  public KeepAlive keepAlive(Lease lease) {
    Objects.requireNonNull(lease, "lease");
    return keepAlive(lease, lease.ttl().dividedBy(3));
  }

  /**
   * Starts renewing {@code lease} in the background every {@code interval}. When a renewal finds the
   * lease lost, or no renewal can succeed before the lease would expire, the handle reports the
   * loss: it cancels the futures passed to {@link KeepAlive#guard}, interrupts the threads passed to
   * {@link KeepAlive#interruptOnLoss} and completes {@link KeepAlive#lost()}.
   *
   * @param lease the lease to keep alive
   * @param interval time between renewals, positive and at most half the ttl
   * @return the keep-alive handle
   * @throws IllegalArgumentException if the interval is not positive or more than half the ttl
   * @throws IllegalStateException if the {@link Collab} is closed
   */
  public KeepAlive keepAlive(Lease lease, Duration interval) {
    Objects.requireNonNull(lease, "lease");
    Names.requirePositive("interval", interval);
    if (interval.compareTo(lease.ttl().dividedBy(2)) > 0) {
      throw new IllegalArgumentException("keep-alive interval must be at most half the ttl " + lease.ttl() + ": "
          + interval);
    }
    KeepAlive k = KeepAlive.create(this, lease, interval, commits.remaining(lease), keepAlives::remove);
    keepAlives.add(k); // before scheduling, so a concurrent Collab.close() sees it
    k.start(scheduler.get());
    return k;
  }

  /** Stops every keep-alive, reporting the loss to its holder: the leases will not be renewed. */
  void shutdown() {
    for (KeepAlive k : keepAlives) {
      k.stop("the Collab was closed, so the lease is no longer renewed");
    }
  }
}
