package io.kyros.collab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredRecord;
import io.kyros.collab.spi.Write;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
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
  private final Supplier<ScheduledExecutorService> scheduler;
  private final java.util.Set<KeepAlive> keepAlives = java.util.concurrent.ConcurrentHashMap.newKeySet();
  /**
   * The lease records this instance last committed, by key. Only a guess: a commit that relies on one expects its
   * revision, which identifies the value, so if anyone changed the record since, the commit conflicts and the
   * operation reads the record instead. It saves the read before a release, and before acquiring a free resource.
   */
  private final Cache<RecordKey, StoredRecord> committed = Caffeine.newBuilder().maximumSize(10_000).build();

  Leases(Core core, Supplier<ScheduledExecutorService> scheduler) {
    this.core = core;
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
    return tryAcquire(key(resource), resource, core.holder, ttl);
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
    long deadline = Names.deadline(maxWait);
    RecordKey key = key(resource);
    String target = target(resource);
    long seen = core.storage.lastEventId();
    while (true) {
      Optional<Lease> lease = tryAcquire(key, resource, core.holder, ttl);
      if (lease.isPresent()) {
        return lease;
      }
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return Optional.empty();
      }
      long wait = Math.min(left, Names.nanos(core.acquireRecheck));
      Optional<Lease> holder = get(resource);
      if (holder.isPresent()) {
        long untilStale = Names.nanos(Duration.between(core.storage.now(), holder.get().expiresAt())) + 1_000_000L;
        if (untilStale > 0 && untilStale < wait) {
          wait = untilStale;
        }
      }
      seen = awaitEventAbout(target, seen, System.nanoTime() + wait);
    }
  }

  /**
   * Waits until the log has an event whose target is {@code target} after {@code seen}, or the
   * deadline passes; events about other things are skipped without re-checking the lease.
   *
   * @return the last event id looked at
   */
  private long awaitEventAbout(String target, long seen, long deadline) throws InterruptedException {
    while (true) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return seen;
      }
      core.storage.awaitEvents(seen, Duration.ofNanos(left));
      boolean relevant = false;
      List<io.kyros.collab.spi.StoredEvent> batch;
      while (!(batch = core.storage.readEvents(seen, Core.PAGE)).isEmpty()) {
        for (io.kyros.collab.spi.StoredEvent e : batch) {
          relevant |= e.target().equals(target);
          seen = e.id();
        }
      }
      if (relevant) {
        return seen;
      }
    }
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
    RecordKey key = key(lease.resource());
    Core.Backoff backoff = core.backoff("lease on " + lease.resource());
    for (;; backoff.pause()) {
      Current current = currentRecord(lease);
      StoredRecord record = current.record();
      Lease held = current.held();
      Instant now = core.storage.now();
      // Everything but the heartbeat comes from the stored record: a caller's copy cannot change the
      // fence, ttl or holder.
      Lease renewed = new Lease(held.leaseId(), held.resource(), held.holder(), held.acquiredAt(), held.ttl(), now,
          held.fence());
      Core.Encoded encoded = core.encode(toJson(renewed), "lease " + lease.resource());
      Write write = Write.put(key, encoded.json(), encoded.hash());
      CommitResult result = core.commit(Commit.of(
          List.of(Expectation.revisionUntil(key, record.revision(), held.expiresAt())), List.of(write), List.of()));
      if (remember(result, write)) {
        return renewed;
      }
    }
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
    RecordKey key = key(lease.resource());
    if (key.collection().equals(Core.TASK_LEASES)) {
      throw new IllegalArgumentException("lease on " + lease.resource()
          + " is a task claim: end it with Tasks.complete, Tasks.fail or Tasks.release");
    }
    StoredRecord known = committed.getIfPresent(key);
    if (known != null && tryRelease(key, known, lease) == Boolean.TRUE) {
      return true; // else the guess was stale: read and decide
    }
    Core.Backoff backoff = core.backoff("lease on " + lease.resource());
    for (;; backoff.pause()) {
      Optional<StoredRecord> record = core.storage.read(key);
      if (record.isEmpty()) {
        return false;
      }
      Boolean released = tryRelease(key, record.get(), lease);
      if (released != null) {
        return released;
      }
    }
  }

  /** One release attempt given the record's state: true if released, false if not held, null on conflict. */
  private Boolean tryRelease(RecordKey key, StoredRecord record, Lease lease) {
    Lease held = held(record);
    if (held == null || !held.leaseId().equals(lease.leaseId())) {
      return false;
    }
    Write free = freeWrite(key, held.resource(), held.fence());
    CommitResult result = core.commit(Commit.of(List.of(Expectation.revision(key, record.revision())), List.of(free),
        List.of(core.event("lease_released", held.holder(), target(held.resource()), leaseDetails(held)))));
    return remember(result, free) ? Boolean.TRUE : null;
  }

  /** Remembers the record a committed single-write commit stored; returns whether it committed. */
  private boolean remember(CommitResult result, Write write) {
    if (result instanceof CommitResult.Committed c) {
      committed.put(write.key(), new StoredRecord(write.key(), write.json(), c.revisions().get(0), write.hash()));
      return true;
    }
    committed.invalidate(write.key());
    return false;
  }

  /**
   * @param resource the resource name
   * @return its unexpired lease, or empty if it is free or its lease is stale
   */
  public Optional<Lease> get(String resource) {
    Names.requireName("resource", resource);
    Instant now = core.storage.now();
    return core.storage.read(key(resource)).map(this::held).filter(l -> !l.isStaleAt(now));
  }

  /**
   * @param lease a lease
   * @return true if it is the resource's current, unexpired lease
   */
  public boolean isCurrent(Lease lease) {
    try {
      guardExpectation(lease);
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
    Instant now = core.storage.now();
    List<LeaseStatus> out = new ArrayList<>();
    for (StoredRecord r : core.scan(Core.LEASES)) {
      Lease l = held(r);
      if (l != null) {
        Duration left = Duration.between(now, l.expiresAt());
        boolean stale = l.isStaleAt(now);
        out.add(new LeaseStatus(l, left.isNegative() ? Duration.ZERO : left, stale));
      }
    }
    return out;
  }

  /**
   * Frees every stale resource lease (task claims are reclaimed by {@link Tasks#reclaimStale()}),
   * recording {@code lease_reclaimed} with the previous holder, its last heartbeat and its fence for
   * each. The next acquisition gets a higher fence.
   *
   * @return the leases that were reclaimed
   */
  public List<Lease> reclaimStale() {
    List<Lease> reclaimed = new ArrayList<>();
    for (StoredRecord r : core.scan(Core.LEASES)) {
      Lease l = held(r);
      Instant now = core.storage.now();
      if (l == null || !l.isStaleAt(now)) {
        continue;
      }
      ObjectNode details = reclaimDetails(l, null, now);
      CommitResult result = core.commit(Commit.of(List.of(Expectation.revision(r.key(), r.revision())),
          List.of(freeWrite(r.key(), l.resource(), l.fence())),
          List.of(core.event("lease_reclaimed", target(l.resource()), details))));
      if (result instanceof CommitResult.Committed) {
        reclaimed.add(l);
      }
    }
    return reclaimed;
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
    KeepAlive k = KeepAlive.create(this, lease, interval, remaining(lease), keepAlives::remove);
    keepAlives.add(k); // before scheduling, so a concurrent Collab.close() sees it
    k.start(scheduler.get());
    return k;
  }

  /** Time the lease has left by the storage's clock; zero if the storage cannot say (assume the worst). */
  private Duration remaining(Lease lease) {
    try {
      Duration left = Duration.between(core.storage.now(), lease.expiresAt());
      return left.isNegative() ? Duration.ZERO : left;
    } catch (RuntimeException e) {
      return Duration.ZERO;
    }
  }

  /** Stops every keep-alive, reporting the loss to its holder: the leases will not be renewed. */
  void shutdown() {
    for (KeepAlive k : keepAlives) {
      k.stop("the Collab was closed, so the lease is no longer renewed");
    }
  }

  // ---------------------------------------------------------------- package-private: used by Tasks

  /** An acquisition ready to commit. */
  record Acquisition(Lease lease, Expectation expectation, Write write, List<NewEvent> events) {}

  /**
   * Prepares the acquisition of the lease stored at {@code key}, given its current record; null if
   * it is held and unexpired.
   */
  Acquisition prepareAcquire(RecordKey key, String resource, String holder, Duration ttl,
      Optional<StoredRecord> current, Instant now) {
    Lease previous = current.map(this::held).orElse(null);
    if (previous != null && !previous.isStaleAt(now)) {
      return null;
    }
    long lastFence = current.map(r -> core.parse(r).path("fence").asLong(0)).orElse(0L);
    Lease lease = new Lease(UUID.randomUUID().toString(), resource, holder, now, ttl, now, lastFence + 1);
    Core.Encoded encoded = core.encode(toJson(lease), "lease " + resource);
    List<NewEvent> events = new ArrayList<>(2);
    if (previous != null) {
      events.add(core.event("lease_reclaimed", holder, target(resource), reclaimDetails(previous, lease, now)));
    }
    events.add(core.event("lease_acquired", holder, target(resource), leaseDetails(lease)));
    return new Acquisition(lease, new Expectation(key, current.map(StoredRecord::revision).orElse(Expectation.ABSENT)),
        Write.put(key, encoded.json(), encoded.hash()), events);
  }

  /**
   * Checks that {@code lease} is current and returns the expectation that keeps it so within a
   * commit.
   *
   * @throws LeaseLostException if it is not
   */
  Expectation guardExpectation(Lease lease) {
    Current c = currentRecord(lease);
    return Expectation.revisionUntil(c.record().key(), c.record().revision(), c.held().expiresAt());
  }

  /**
   * Like {@link #guardExpectation}, but first tries the record this instance last committed for the lease, which
   * saves the read when it still holds exactly this lease, unexpired at {@code storage.now()}. The guess is only a
   * guess: the expectation pins its revision, so if anyone changed the record since, the commit conflicts. A guess
   * that does not fit is replaced by a read; only a read decides that the lease is lost.
   *
   * @param lease the guard lease
   * @param tryCommitted whether to try the remembered record first
   * @return the lease record, the lease it holds and the storage time it was found current at
   * @throws LeaseLostException if a read finds the lease no longer current
   */
  Current guard(Lease lease, boolean tryCommitted) {
    if (tryCommitted) {
      StoredRecord known = committed.getIfPresent(key(lease.resource()));
      Lease held = known == null ? null : held(known);
      if (held != null && held.leaseId().equals(lease.leaseId()) && held.fence() == lease.fence()) {
        Instant now = core.storage.now();
        if (!held.isStaleAt(now)) {
          return new Current(known, held, now);
        }
      }
    }
    return currentRecord(lease);
  }

  /**
   * Remembers a lease record a commit of {@code Tasks} wrote, as {@link #guard} and releases may use it.
   *
   * @param write the write of the lease record
   * @param revision the revision the commit gave it
   */
  void remember(Write write, long revision) {
    committed.put(write.key(), new StoredRecord(write.key(), write.json(), revision, write.hash()));
  }

  /** Forgets the remembered record of {@code key}, after a commit that expected it conflicted. */
  void forget(RecordKey key) {
    committed.invalidate(key);
  }

  /**
   * A lease record together with the lease it holds and the storage time it was found current at.
   *
   * @param record the lease record
   * @param held the lease it holds
   * @param now the storage's time when it was checked
   */
  record Current(StoredRecord record, Lease held, Instant now) {
    /** @return the expectation that keeps the lease current within a commit */
    Expectation expectation() {
      return Expectation.revisionUntil(record.key(), record.revision(), held.expiresAt());
    }
  }

  /** The lease record, if {@code lease} is its current, unexpired lease. */
  private Current currentRecord(Lease lease) {
    Objects.requireNonNull(lease, "lease");
    Optional<StoredRecord> record = core.storage.read(key(lease.resource()));
    Lease held = record.map(this::held).orElse(null);
    if (held == null) {
      throw new LeaseLostException(lease.resource(), lease.fence(), "it was released or reclaimed");
    }
    if (!held.leaseId().equals(lease.leaseId()) || held.fence() != lease.fence()) {
      throw new LeaseLostException(lease.resource(), lease.fence(), "it is now held by " + held.holder()
          + " with fence " + held.fence());
    }
    Instant now = core.storage.now();
    if (held.isStaleAt(now)) {
      throw new LeaseLostException(lease.resource(), lease.fence(), "it expired at " + held.expiresAt()
          + " (storage time " + now + ")");
    }
    return new Current(record.get(), held, now);
  }

  /** A free lease record that keeps the last fence. */
  Write freeWrite(RecordKey key, String resource, long fence) {
    ObjectNode json = core.object().put("resource", resource).put("fence", fence);
    Core.Encoded encoded = core.encode(json, "lease " + resource);
    return Write.put(key, encoded.json(), encoded.hash());
  }

  /** The held lease stored in a record, or null if the record is free. */
  Lease held(StoredRecord r) {
    ObjectNode o = core.parse(r);
    JsonNode holder = o.get("holder");
    if (holder == null || holder.isNull()) {
      return null;
    }
    try {
      return new Lease(o.path("leaseId").asText(), o.path("resource").asText(), holder.asText(),
          Instant.parse(o.path("acquiredAt").asText()), Duration.parse(o.path("ttl").asText()),
          Instant.parse(o.path("heartbeatAt").asText()), o.path("fence").asLong());
    } catch (RuntimeException e) {
      throw new StorageException("lease record " + r.key() + " is damaged: " + e.getMessage(), e);
    }
  }

  ObjectNode leaseDetails(Lease l) {
    return core.object().put("resource", l.resource()).put("leaseId", l.leaseId()).put("holder", l.holder())
        .put("fence", l.fence()).put("ttl", l.ttl().toString()).put("expiresAt", l.expiresAt().toString());
  }

  ObjectNode reclaimDetails(Lease previous, Lease next, Instant now) {
    ObjectNode d = core.object().put("resource", previous.resource()).put("previousHolder", previous.holder())
        .put("previousLeaseId", previous.leaseId()).put("lastHeartbeat", previous.heartbeatAt().toString())
        .put("expiredAt", previous.expiresAt().toString()).put("reclaimedAt", now.toString())
        .put("oldFence", previous.fence());
    if (next == null) {
      d.putNull("newFence");
    } else {
      d.put("newFence", next.fence()).put("newHolder", next.holder());
    }
    return d;
  }

  static String target(String resource) {
    return resource.startsWith(Tasks.LEASE_PREFIX) ? resource : "leases/" + resource;
  }

  /**
   * The record holding a resource's lease: {@code _leases/<resource>} for user resources,
   * {@code _task-leases/<task id>} for task claims ({@code tasks/<task id>}). Validates the name, so a
   * forged {@link Lease} value cannot address anything else.
   */
  static RecordKey key(String resource) {
    Objects.requireNonNull(resource, "resource");
    if (resource.startsWith(Tasks.LEASE_PREFIX)) {
      return new RecordKey(Core.TASK_LEASES,
          Names.requireName("task id of lease resource", resource.substring(Tasks.LEASE_PREFIX.length())));
    }
    return new RecordKey(Core.LEASES, Names.requireName("resource", resource));
  }

  private ObjectNode toJson(Lease l) {
    return core.object().put("resource", l.resource()).put("leaseId", l.leaseId()).put("holder", l.holder())
        .put("acquiredAt", l.acquiredAt().toString()).put("ttl", l.ttl().toString())
        .put("heartbeatAt", l.heartbeatAt().toString()).put("fence", l.fence());
  }

  private Optional<Lease> tryAcquire(RecordKey key, String resource, String holder, Duration ttl) {
    StoredRecord known = committed.getIfPresent(key);
    if (known != null && held(known) == null) {
      // we freed it last: if nobody changed it since, the commit below sees the same record a read would
      Acquisition a = prepareAcquire(key, resource, holder, ttl, Optional.of(known), core.storage.now());
      if (remember(core.commit(Commit.of(List.of(a.expectation()), List.of(a.write()), a.events())), a.write())) {
        return Optional.of(a.lease());
      }
    }
    Core.Backoff backoff = core.backoff("lease on " + resource);
    for (;; backoff.pause()) {
      Optional<StoredRecord> current = core.storage.read(key);
      Acquisition a = prepareAcquire(key, resource, holder, ttl, current, core.storage.now());
      if (a == null) {
        return Optional.empty();
      }
      if (remember(core.commit(Commit.of(List.of(a.expectation()), List.of(a.write()), a.events())), a.write())) {
        return Optional.of(a.lease());
      }
      // Someone else changed the record between our read and commit; re-read and decide again.
    }
  }
}
