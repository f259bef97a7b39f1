package io.kyros.collab;

import io.kyros.collab.spi.RecordKey;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

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
 *       {@code lease_reclaimed} atomically with the change; a renewal that changes the ttl records
 *       {@code lease_renewed}, a scheduled release {@code lease_release_scheduled}; heartbeats record
 *       nothing.</li>
 *   <li>A resource is named by any string that {@link #checkResourceName} accepts: not blank, at most
 *       1,024 bytes in UTF-8, no control characters, not starting with {@code tasks/}. The name is what
 *       {@link #get}, {@link #list()}, events and the log show; the record key is derived from it.</li>
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
  private final Supplier<KeepAlive.Schedulers> schedulers;
  private final Set<KeepAlive> keepAlives = ConcurrentHashMap.newKeySet();

  Leases(Core core, LeaseCommits commits, Supplier<KeepAlive.Schedulers> schedulers) {
    this.core = core;
    this.commits = commits;
    this.schedulers = schedulers;
  }

  /**
   * Checks a resource name against the rule every method of this class applies, so that callers can
   * validate names before using them. A name is accepted if it
   * <ul>
   *   <li>is not blank: at least one character is neither whitespace ({@link Character#isWhitespace})
   *       nor a space separator ({@link Character#isSpaceChar});</li>
   *   <li>is at most 1,024 bytes in UTF-8 (1,024 ASCII characters, 341 of most CJK scripts);</li>
   *   <li>holds no control character (Unicode category Cc: U+0000 to U+001F and U+007F to U+009F,
   *       tab, newline and NUL included) and no lone surrogate;</li>
   *   <li>does not start with {@code tasks/}, reserved for the leases of task claims.</li>
   * </ul>
   * Anything else is accepted: {@code /}, {@code ::}, spaces, dots, any script. Names are compared
   * exactly: nothing is trimmed, case-folded or Unicode-normalized.
   *
   * @param resource the name to check
   * @return {@code resource}
   * @throws NullPointerException if it is null
   * @throws IllegalArgumentException naming the broken part of the rule
   */
  public static String checkResourceName(String resource) {
    return ResourceNames.check(resource);
  }

  /**
   * Acquires a lease on {@code resource} if nobody holds an unexpired one; a stale lease is
   * reclaimed (recording {@code lease_reclaimed}) and replaced.
   *
   * @param resource the resource name, as {@link #checkResourceName} accepts
   * @param ttl how long the lease lives after each heartbeat, positive
   * @return the new lease, or empty if the resource is held
   * @throws IllegalArgumentException if the name is invalid or the ttl not positive; nothing is written
   */
  public Optional<Lease> tryAcquire(String resource, Duration ttl) {
    ResourceNames.check(resource);
    Names.requireBounded("ttl", ttl);
    return commits.tryAcquire(resource, core.holder(), ttl);
  }

  /**
   * Acquires a lease, waiting up to {@code maxWait} for the current holder to release it or for it to
   * go stale. Wakes when the log records an event about this resource (a release or a reclaim), when
   * the current lease is due to expire, and at least every {@link Collab.Builder#acquireRecheck}
   * (a second by default); events about other things are skipped without re-reading the lease.
   *
   * @param resource the resource name, as {@link #checkResourceName} accepts
   * @param ttl the lease's time to live, positive
   * @param maxWait the longest time to wait, in real time; zero means one attempt
   * @return the lease, or empty if it could not be acquired in time
   * @throws InterruptedException if interrupted while waiting
   * @throws IllegalArgumentException if an argument is invalid; nothing is written
   */
  public Optional<Lease> acquire(String resource, Duration ttl, Duration maxWait) throws InterruptedException {
    ResourceNames.check(resource);
    Names.requireBounded("ttl", ttl);
    Names.requireNotNegative("maxWait", maxWait);
    return commits.acquire(resource, ttl, maxWait);
  }

  /**
   * Renews a lease: moves its heartbeat to the storage's current time and keeps its ttl, the one
   * stored for it (the ttl of the acquisition, or of the last {@link #renew(Lease, Duration)}), so it
   * now expires at {@code now + ttl} by the storage's clock. Records no event.
   *
   * @param lease the lease to renew
   * @return the renewed lease
   * @throws LeaseLostException if it is stale, released or replaced, or its release is scheduled
   *     ({@link #releaseAt})
   */
  public Lease renew(Lease lease) {
    Objects.requireNonNull(lease, "lease");
    return commits.renew(lease, UnaryOperator.identity());
  }

  /**
   * Renews a lease with a new ttl: moves its heartbeat to the storage's current time and stores
   * {@code ttl}, longer or shorter than before, so it now expires at {@code now + ttl} by the storage's
   * clock; later renewals ({@link #renew(Lease)}, a {@link KeepAlive}) keep that ttl. Fenced like
   * {@link #renew(Lease)}: only the current, unexpired lease is renewed, checked in the same commit.
   * Records {@code lease_renewed} (previous and new ttl, new expiry) if the ttl changes, nothing if it
   * is the same.
   *
   * @param lease the lease to renew
   * @param ttl the new time to live, positive and at most 36,500 days
   * @return the renewed lease, with the new ttl
   * @throws LeaseLostException if it is stale, released or replaced, or its release is scheduled
   *     ({@link #releaseAt})
   * @throws IllegalArgumentException if the ttl is not positive or too long; nothing is written
   */
  public Lease renew(Lease lease, Duration ttl) {
    Objects.requireNonNull(lease, "lease");
    Names.requireBounded("ttl", ttl);
    return commits.renew(lease, stored -> ttl);
  }

  /**
   * Releases a lease, recording {@code lease_released}. Releasing a lease that is stale but not yet
   * reclaimed still releases it, and so does releasing one whose release is scheduled
   * ({@link #releaseAt}): it ends at once.
   *
   * @param lease the lease
   * @return true if it was released, false if it was no longer held (released or replaced)
   * @throws IllegalArgumentException if the lease is a task claim: end those with
   *     {@link Tasks#complete}, {@link Tasks#fail} or {@link Tasks#release}, which also move the task
   */
  public boolean release(Lease lease) {
    Objects.requireNonNull(lease, "lease");
    return commits.release(resourceLeaseKey(lease), lease);
  }

  /** The record of a resource lease; a task claim's is refused. */
  private static RecordKey resourceLeaseKey(Lease lease) {
    RecordKey key = RecordKeys.lease(lease.resource());
    if (key.collection().equals(RecordKeys.TASK_LEASES)) {
      throw new IllegalArgumentException("lease on " + lease.resource()
          + " is a task claim: end it with Tasks.complete, Tasks.fail or Tasks.release");
    }
    return key;
  }

  /**
   * Ends a lease at {@code at}, an instant the store holds: the lease is stored with
   * {@code heartbeatAt} = the storage's now and {@code ttl} = {@code at - now}, so it expires at
   * {@code at} by the storage's clock whatever becomes of the caller; a crash of the holder neither
   * lengthens nor shortens it. The resource stays held until then (guarded writes still commit, other
   * holders wait), and then goes stale: the next acquisition or {@link #reclaimStale()} records
   * {@code lease_reclaimed}. Once scheduled, the lease can no longer be renewed
   * ({@link #renew(Lease)} and {@link #renew(Lease, Duration)} throw {@link LeaseLostException}, so a
   * keep-alive left running reports it lost instead of stretching it); {@link #release} still ends it
   * at once, and {@code releaseAt} again moves the instant. Records {@code lease_release_scheduled}
   * with {@code releaseAt} and the previous expiry.
   *
   * <p>An instant that is not after the storage's now releases the lease at once, exactly as
   * {@link #release} does (recording {@code lease_released}).
   *
   * @param lease the lease
   * @param at when the lease ends, by the storage's clock ({@link Collab#now()}), at most 36,500 days
   *     after its now
   * @return true if the release was scheduled or done; false if the lease was no longer held
   *     (released or replaced) or, for an instant in the future, had already expired
   * @throws IllegalArgumentException if the lease is a task claim, or {@code at} is too far away;
   *     nothing is written
   */
  public boolean releaseAt(Lease lease, Instant at) {
    Objects.requireNonNull(lease, "lease");
    Objects.requireNonNull(at, "at");
    return commits.releaseAt(resourceLeaseKey(lease), lease, at);
  }

  /**
   * @param resource the resource name, as {@link #checkResourceName} accepts
   * @return its unexpired lease, or empty if it is free or its lease is stale
   * @throws IllegalArgumentException if the name is invalid
   */
  public Optional<Lease> get(String resource) {
    ResourceNames.check(resource);
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
   * @return the leases, ordered by resource name ({@link String#compareTo})
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
   * Starts renewing {@code lease} in the background at a third of its ttl. Each renewal is
   * {@link #renew(Lease)}: it keeps the stored ttl and moves the expiry to a ttl after the renewal.
   *
   * @param lease the lease to keep alive
   * @return the keep-alive handle; close it to stop renewing
   * @throws IllegalArgumentException if the lease's ttl is under 3 ns: a third of it is no interval to renew at
   * @see #keepAlive(Lease, Duration)
   */
  public KeepAlive keepAlive(Lease lease) {
    Objects.requireNonNull(lease, "lease");
    Duration interval = lease.ttl().dividedBy(3);
    if (interval.isZero()) {
      throw new IllegalArgumentException("lease " + lease.resource() + "'s ttl " + lease.ttl() + " is too short to"
          + " keep alive: its renewal interval, a third of it, is zero");
    }
    return keepAlive(lease, interval);
  }

  /**
   * Starts renewing {@code lease} in the background every {@code interval}, each time as
   * {@link #renew(Lease)} (the stored ttl is kept; see {@link KeepAlive}). When a renewal finds the
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
    k.start(schedulers.get());
    return k;
  }

  /** Stops every keep-alive, reporting the loss to its holder: the leases will not be renewed. */
  void shutdown() {
    for (KeepAlive k : keepAlives) {
      k.stop("the Collab was closed, so the lease is no longer renewed");
    }
  }
}
