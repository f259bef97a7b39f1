package io.kyros.collab;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.IndexEntry;
import io.kyros.collab.spi.IndexQuery;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredEvent;
import io.kyros.collab.spi.StoredRecord;
import io.kyros.collab.spi.Write;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;

/**
 * How leases commit: acquire, renew, release and reclaim of lease records, the guard a lease-guarded write
 * expects, and the records this instance last committed. {@link Leases} checks arguments and delegates here;
 * {@link Documents} and the task classes use the guard and the prepared acquisitions. Thread-safe.
 */
final class LeaseCommits {
  private final Core core;
  /** The workflows whose Collabs said they read the claims parked for them (a marker, never taken back). */
  private final Set<String> parkedClaimsRead = ConcurrentHashMap.newKeySet();
  /**
   * The lease records this instance last committed, by key. Only a guess: a commit that relies on one expects its
   * revision, which identifies the value, so if anyone changed the record since, the commit conflicts and the
   * operation reads the record instead. It saves the read before a release, and before acquiring a free resource.
   */
  private final RecentRecords<RecordKey, Known> committed = new RecentRecords<>(10_000, k -> k.record.revision());

  LeaseCommits(Core core) {
    this.core = core;
  }

  /** Acquires a lease for {@code holder} if the resource is free or its lease stale; empty if it is held. */
  Optional<Lease> tryAcquire(String resource, String holder, Duration ttl) {
    RecordKey key = RecordKeys.lease(resource);
    Known known = committed.getIfPresent(key);
    if (known != null && known.state(this).held().isEmpty()) {
      // we freed it last: if nobody changed it since, the commit below sees the same record a read would
      Acquisition a = prepareAcquire(key, resource, holder, ttl, Optional.of(known.record), core.storage().now());
      if (remember(core.commit(Commit.of(List.of(a.expectation()), List.of(a.write()), a.events())), a.write(),
          Optional.of(a.lease()), a.lease().fence())) {
        return Optional.of(a.lease());
      }
    }
    Retry backoff = core.retry("lease on " + resource);
    for (;; backoff.pause()) {
      Optional<StoredRecord> current = core.storage().read(key);
      Acquisition a = prepareAcquire(key, resource, holder, ttl, current, core.storage().now());
      if (a == null) {
        return Optional.empty();
      }
      if (remember(core.commit(Commit.of(List.of(a.expectation()), List.of(a.write()), a.events())), a.write(),
          Optional.of(a.lease()), a.lease().fence())) {
        return Optional.of(a.lease());
      }
      // Someone else changed the record between our read and commit; re-read and decide again.
    }
  }

  /** See {@link Leases#acquire}: tries, then waits for an event about the resource, its expiry or a recheck. */
  Optional<Lease> acquire(String resource, Duration ttl, Duration maxWait) throws InterruptedException {
    long deadline = Names.deadline(maxWait);
    String target = RecordKeys.leaseTarget(resource);
    long seen = core.storage().lastEventId();
    while (true) {
      Optional<Lease> lease = tryAcquire(resource, core.holder(), ttl);
      if (lease.isPresent()) {
        return lease;
      }
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return Optional.empty();
      }
      long wait = Math.min(left, Names.nanos(core.settings().acquireRecheck()));
      Optional<Lease> holder = get(resource);
      if (holder.isPresent()) {
        long untilStale = Names.nanos(Duration.between(core.storage().now(), holder.get().expiresAt())) + 1_000_000L;
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
      core.storage().awaitEvents(seen, Duration.ofNanos(left));
      boolean relevant = false;
      List<StoredEvent> batch;
      // a page at a time, and no further once the lease's event was seen or the deadline passed: under a steady
      // stream of other appends reading to the end could keep the caller past its deadline
      while (!relevant && deadline - System.nanoTime() > 0
          && !(batch = core.storage().readEvents(seen, Core.PAGE)).isEmpty()) {
        for (StoredEvent e : batch) {
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
   * See {@link Leases#renew(Lease)} and {@link Leases#renew(Lease, Duration)}: moves the heartbeat to the storage's
   * now and sets the ttl {@code ttl} gives for the stored lease; records {@code lease_renewed} if that changes it.
   */
  Lease renew(Lease lease, UnaryOperator<Duration> ttl) {
    RecordKey key = RecordKeys.lease(lease.resource());
    Retry backoff = core.retry("lease on " + lease.resource());
    for (;; backoff.pause()) {
      Current current = currentRecord(lease);
      StoredRecord record = current.record();
      Lease held = current.held();
      Instant releaseAt = LeaseRecord.releaseAt(core.parse(record));
      if (releaseAt != null) {
        throw new LeaseLostException(lease.resource(), lease.fence(), "its release is scheduled at " + releaseAt
            + " and it can no longer be renewed");
      }
      Instant now = core.storage().now();
      // Everything but the heartbeat and the ttl comes from the stored record: a caller's copy cannot change the
      // fence or holder.
      Lease renewed = new Lease(held.leaseId(), held.resource(), held.holder(), held.acquiredAt(),
          ttl.apply(held.ttl()), now, held.fence());
      Core.Encoded encoded = core.encode(LeaseRecord.held(core.object(), renewed), "lease " + lease.resource());
      Write write = heldWrite(key, encoded, renewed);
      List<NewEvent> events = renewed.ttl().equals(held.ttl()) ? List.of()
          : List.of(core.event(EventType.LEASE_RENEWED, held.holder(), RecordKeys.leaseTarget(held.resource()),
              LeaseRecord.renewDetails(core.object(), held, renewed)));
      CommitResult result = core.commit(Commit.of(
          List.of(Expectation.revisionUntil(key, record.revision(), held.expiresAt())), List.of(write), events));
      if (remember(result, write, Optional.of(renewed), renewed.fence())) {
        return renewed;
      }
    }
  }

  /**
   * See {@link Leases#releaseAt}; {@code key} is the lease's record, not a task claim's. An instant not after the
   * storage's now releases at once.
   */
  boolean releaseAt(RecordKey key, Lease lease, Instant at) {
    Retry backoff = core.retry("lease on " + lease.resource());
    for (;; backoff.pause()) {
      Optional<StoredRecord> record = core.storage().read(key);
      Instant now = core.storage().now();
      if (!at.isAfter(now)) {
        return release(key, lease);
      }
      if (Duration.between(now, at).compareTo(Names.MAX_DURATION) > 0) {
        throw new IllegalArgumentException("at must be at most 36500 days after the storage's time " + now + ": "
            + at);
      }
      Lease held = record.map(this::held).orElse(null);
      if (held == null || !held.leaseId().equals(lease.leaseId()) || held.isStaleAt(now)) {
        return false; // released, replaced or expired: nothing to put off
      }
      Lease scheduled = new Lease(held.leaseId(), held.resource(), held.holder(), held.acquiredAt(),
          Duration.between(now, at), now, held.fence());
      Core.Encoded encoded = core.encode(LeaseRecord.releaseScheduled(core.object(), scheduled),
          "lease " + lease.resource());
      Write write = heldWrite(key, encoded, scheduled);
      CommitResult result = core.commit(Commit.of(
          List.of(Expectation.revisionUntil(key, record.get().revision(), held.expiresAt())), List.of(write),
          List.of(core.event(EventType.LEASE_RELEASE_SCHEDULED, held.holder(), RecordKeys.leaseTarget(held.resource()),
              LeaseRecord.scheduleDetails(core.object(), held, scheduled)))));
      if (remember(result, write, Optional.of(scheduled), scheduled.fence())) {
        return true;
      }
    }
  }

  /** See {@link Leases#release}; {@code key} is the lease's record, not a task claim's. */
  boolean release(RecordKey key, Lease lease) {
    Known known = committed.getIfPresent(key);
    if (known != null && tryRelease(key, known.record, lease) == Boolean.TRUE) {
      return true; // else the guess was stale: read and decide
    }
    Retry backoff = core.retry("lease on " + lease.resource());
    for (;; backoff.pause()) {
      Optional<StoredRecord> record = core.storage().read(key);
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
        List.of(core.event(EventType.LEASE_RELEASED, held.holder(), RecordKeys.leaseTarget(held.resource()),
            LeaseRecord.details(core.object(), held)))));
    return remember(result, free, Optional.empty(), held.fence()) ? Boolean.TRUE : null;
  }

  /**
   * Remembers the record a committed single-write commit stored, with the lease it holds; returns whether it
   * committed.
   *
   * @param held the lease the record holds, empty if it is free
   * @param lastFence the last fence it keeps
   */
  private boolean remember(CommitResult result, Write write, Optional<Lease> held, long lastFence) {
    if (result instanceof CommitResult.Committed c) {
      committed.put(write.key(), new Known(
          new StoredRecord(write.key(), write.json(), c.revisions().get(0), write.hash()), new State(held, lastFence)));
      return true;
    }
    committed.invalidate(write.key());
    return false;
  }

  /** @return the resource's unexpired lease, or empty if it is free or its lease is stale */
  Optional<Lease> get(String resource) {
    Instant now = core.storage().now();
    return core.storage().read(RecordKeys.lease(resource)).map(this::held).filter(l -> !l.isStaleAt(now));
  }

  /** See {@link Leases#list}. */
  List<LeaseStatus> list() {
    Instant now = core.storage().now();
    List<LeaseStatus> out = new ArrayList<>();
    for (StoredRecord r : core.scan(RecordKeys.LEASES)) {
      Lease l = held(r);
      if (l != null) {
        Duration left = Duration.between(now, l.expiresAt());
        boolean stale = l.isStaleAt(now);
        out.add(new LeaseStatus(l, left.isNegative() ? Duration.ZERO : left, stale));
      }
    }
    // records are in key order; a name that is not its own key sorts by its hash there
    out.sort(Comparator.comparing(st -> st.lease().resource()));
    return out;
  }

  /** See {@link Leases#reclaimStale}. */
  List<Lease> reclaimStale() {
    List<Lease> reclaimed = new ArrayList<>();
    for (StoredRecord r : mayBeStale(RecordKeys.LEASES, core.storage().now())) {
      Lease l = held(r);
      Instant now = core.storage().now();
      if (l == null || !l.isStaleAt(now)) {
        continue;
      }
      CommitResult result = core.commit(Commit.of(List.of(Expectation.revision(r.key(), r.revision())),
          List.of(freeWrite(r.key(), l.resource(), l.fence())),
          List.of(core.event(EventType.LEASE_RECLAIMED, RecordKeys.leaseTarget(l.resource()),
              reclaimDetails(l, now)))));
      if (result instanceof CommitResult.Committed) {
        reclaimed.add(l);
      }
    }
    return reclaimed;
  }

  /** @return the query for the first page of {@code collection}'s held leases expiring at or before {@code now} */
  IndexQuery expiringBy(String collection, Instant now) {
    return IndexQuery.first(collection, TaskIndexes.EXPIRES, Core.PAGE).until(TaskIndexes.timeKey(now));
  }

  /**
   * @return the query for the first page of this instance's workflow's claims that a Collab of another workflow
   *     parked ({@link TaskIndexes#parkedExpiry}): all stale
   */
  IndexQuery parkedClaims() {
    return IndexQuery.first(RecordKeys.TASK_LEASES, TaskIndexes.parkedExpiry(core.workflow().name()), Core.PAGE);
  }

  /**
   * The lease records of {@code collection} that may hold a lease stale at {@code now}: through the {@code expires}
   * index those expiring at or before it (for task claims, with this workflow's parked ones), else every record; in
   * id order either way. Callers check each.
   */
  List<StoredRecord> mayBeStale(String collection, Instant now) {
    if (!core.indexed()) {
      return core.scan(collection);
    }
    Map<String, StoredRecord> byId = new TreeMap<>();
    core.scanAll(expiringBy(collection, now)).forEach(h -> byId.put(h.record().key().id(), h.record()));
    if (collection.equals(RecordKeys.TASK_LEASES)) {
      core.scanAll(parkedClaims()).forEach(h -> byId.putIfAbsent(h.record().key().id(), h.record()));
    }
    return new ArrayList<>(byId.values());
  }

  /**
   * Moves a stale claim of a task of another workflow out of {@code expires} into that workflow's parked index
   * ({@link TaskIndexes#parkedExpiry}): the lease record rewritten unchanged but for its entry, no event, if it is
   * still the version read. Claims of this workflow then no longer read it; a Collab of its own reclaims it. Only if
   * that workflow's index marker says its Collabs read parked claims ({@link TaskReindex#readsParkedClaims}): else
   * nothing is done, and claims go on reading it.
   *
   * @param leaseRecord the claim's lease record, found in {@code expires}
   * @param held the stale lease it holds
   * @param workflow the name of the task's workflow
   */
  void park(StoredRecord leaseRecord, Lease held, String workflow) {
    if (!parkedClaimsRead.contains(workflow)) {
      if (!TaskReindex.readsParkedClaims(core, workflow)) {
        return; // no Collab of that workflow said it reads them: leave the claim where an older version looks
      }
      parkedClaimsRead.add(workflow); // said once, it stays said
    }
    core.commit(Commit.of(List.of(Expectation.revision(leaseRecord.key(), leaseRecord.revision())),
        List.of(Write.put(leaseRecord.key(), leaseRecord.json(), leaseRecord.hash(),
            List.of(new IndexEntry(TaskIndexes.parkedExpiry(workflow), TaskIndexes.timeKey(held.expiresAt()))))),
        List.of()));
  }

  /** Time the lease has left by the storage's clock; zero if the storage cannot say (assume the worst). */
  Duration remaining(Lease lease) {
    try {
      Duration left = Duration.between(core.storage().now(), lease.expiresAt());
      return left.isNegative() ? Duration.ZERO : left;
    } catch (RuntimeException e) {
      return Duration.ZERO;
    }
  }

  /** An acquisition ready to commit. */
  record Acquisition(Lease lease, Expectation expectation, Write write, List<NewEvent> events) {}

  /**
   * Prepares the acquisition of the lease stored at {@code key}, given its current record; null if
   * it is held and unexpired.
   */
  Acquisition prepareAcquire(RecordKey key, String resource, String holder, Duration ttl,
      Optional<StoredRecord> current, Instant now) {
    Optional<State> state = current.map(this::state);
    Lease previous = state.flatMap(State::held).orElse(null);
    if (previous != null && !previous.isStaleAt(now)) {
      return null;
    }
    long lastFence = state.map(State::lastFence).orElse(0L);
    Lease lease = new Lease(UUID.randomUUID().toString(), resource, holder, now, ttl, now, lastFence + 1);
    Core.Encoded encoded = core.encode(LeaseRecord.held(core.object(), lease), "lease " + resource);
    List<NewEvent> events = new ArrayList<>(2);
    String target = RecordKeys.leaseTarget(resource);
    if (previous != null) {
      events.add(core.event(EventType.LEASE_RECLAIMED, holder, target,
          LeaseRecord.replacedDetails(core.object(), previous, lease, now)));
    }
    events.add(core.event(EventType.LEASE_ACQUIRED, holder, target, LeaseRecord.details(core.object(), lease)));
    return new Acquisition(lease, new Expectation(key, current.map(StoredRecord::revision).orElse(Expectation.ABSENT)),
        heldWrite(key, encoded, lease), events);
  }

  /**
   * Checks that {@code lease} is current and returns the expectation that keeps it so within a
   * commit.
   *
   * @throws LeaseLostException if it is not
   */
  Expectation guardExpectation(Lease lease) {
    return currentRecord(lease).expectation();
  }

  /**
   * Like {@link #guardExpectation}, but with {@link RecordSource#REMEMBERED} first tries the record this instance
   * last committed for the lease, which saves the read when it still holds exactly this lease, unexpired at
   * {@code storage.now()}. The guess is only a guess: the expectation pins its revision, so if anyone changed the
   * record since, the commit conflicts. A guess that does not fit is replaced by a read; only a read decides that
   * the lease is lost.
   *
   * @param lease the guard lease
   * @param source whether to try the remembered record first
   * @return the lease record, the lease it holds and the storage time it was found current at
   * @throws LeaseLostException if a read finds the lease no longer current
   */
  Current guard(Lease lease, RecordSource source) {
    if (source == RecordSource.REMEMBERED) {
      Known known = committed.getIfPresent(RecordKeys.lease(lease.resource()));
      Lease held = known == null ? null : known.state(this).held().orElse(null);
      if (held != null && held.leaseId().equals(lease.leaseId()) && held.fence() == lease.fence()) {
        Instant now = core.storage().now();
        if (!held.isStaleAt(now)) {
          return new Current(known.record, held, now);
        }
      }
    }
    return currentRecord(lease);
  }

  /**
   * Remembers a lease record a task commit wrote, as {@link #guard} and releases may use it; the lease it holds is
   * decoded if it is needed.
   *
   * @param write the write of the lease record
   * @param revision the revision the commit gave it
   */
  void remember(Write write, long revision) {
    committed.put(write.key(), new Known(new StoredRecord(write.key(), write.json(), revision, write.hash()), null));
  }

  /**
   * Remembers the lease record a committed acquisition wrote, with its lease.
   *
   * @param a the acquisition
   * @param revision the revision the commit gave its record
   */
  void remember(Acquisition a, long revision) {
    Write write = a.write();
    committed.put(write.key(), new Known(new StoredRecord(write.key(), write.json(), revision, write.hash()),
        new State(Optional.of(a.lease()), a.lease().fence())));
  }

  /** @return the lease record this instance last committed at {@code key}, if it remembers one */
  Optional<StoredRecord> remembered(RecordKey key) {
    return Optional.ofNullable(committed.getIfPresent(key)).map(k -> k.record);
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
    Optional<StoredRecord> record = core.storage().read(RecordKeys.lease(lease.resource()));
    Lease held = record.map(this::held).orElse(null);
    if (held == null) {
      throw new LeaseLostException(lease.resource(), lease.fence(), "it was released or reclaimed");
    }
    if (held.fence() == lease.fence() && !held.leaseId().equals(lease.leaseId())) {
      // one fence is one acquisition: the fence is current, the lock id given is not its
      throw new LeaseLostException(lease.resource(), lease.fence(), "the lock id " + lease.leaseId()
          + " is not the one of its holder " + held.holder() + " (fence " + held.fence() + ")");
    }
    if (held.fence() != lease.fence()) {
      throw new LeaseLostException(lease.resource(), lease.fence(), "it is now held by " + held.holder()
          + " with fence " + held.fence());
    }
    Instant now = core.storage().now();
    if (held.isStaleAt(now)) {
      throw new LeaseLostException(lease.resource(), lease.fence(), "it expired at " + held.expiresAt()
          + " (storage time " + now + ")");
    }
    return new Current(record.get(), held, now);
  }

  /** The write of a held lease's record, carrying its expiry entry when the storage keeps indexes. */
  private Write heldWrite(RecordKey key, Core.Encoded encoded, Lease lease) {
    return Write.put(key, encoded.json(), encoded.hash(),
        core.indexed() ? TaskIndexes.lease(lease.expiresAt()) : List.of());
  }

  /** A free lease record that keeps the last fence (in no index). */
  Write freeWrite(RecordKey key, String resource, long fence) {
    Core.Encoded encoded = core.encode(LeaseRecord.free(core.object(), resource, fence), "lease " + resource);
    return Write.put(key, encoded.json(), encoded.hash());
  }

  /**
   * The held lease stored in a record, or null if the record is free: without parsing it if it is the version this
   * instance remembers committing (its revision and hash identify the value).
   *
   * @throws StorageException if the record is damaged
   */
  Lease held(StoredRecord r) {
    return state(r).held().orElse(null);
  }

  /**
   * What a record holds: without parsing it if it is the version this instance remembers committing.
   *
   * @throws StorageException if the record is damaged
   */
  private State state(StoredRecord r) {
    Known k = known(r);
    return k != null ? k.state(this) : State.of(core.parse(r), r);
  }

  /** @return what this instance remembers of exactly this version of the record, or null */
  private Known known(StoredRecord r) {
    Known k = committed.getIfPresent(r.key());
    return k != null && k.record.revision() == r.revision() && k.record.hash().equals(r.hash()) ? k : null;
  }

  /**
   * A lease record this instance committed, and what it holds once known: given with the commit that wrote it
   * when that knew the lease, else decoded on first use (at most a few times, when threads race; each finds the
   * same). Thread-safe.
   */
  private static final class Known {
    final StoredRecord record;
    private volatile State state;

    Known(StoredRecord record, State state) {
      this.record = record;
      this.state = state;
    }

    State state(LeaseCommits leases) {
      State s = state;
      if (s == null) {
        s = State.of(leases.core.parse(record), record);
        state = s;
      }
      return s;
    }
  }

  /**
   * What a lease record holds.
   *
   * @param held its lease, empty if it is free
   * @param lastFence the last fence it keeps
   */
  private record State(Optional<Lease> held, long lastFence) {
    /**
     * @param o the parsed record
     * @param r the record, for the error message
     * @throws StorageException if the record is damaged
     */
    static State of(ObjectNode o, StoredRecord r) {
      return new State(Optional.ofNullable(LeaseRecord.decode(o, r)), LeaseRecord.lastFence(o));
    }
  }

  /** The details of {@link EventType#LEASE_ACQUIRED} and {@link EventType#LEASE_RELEASED}. */
  ObjectNode leaseDetails(Lease l) {
    return LeaseRecord.details(core.object(), l);
  }

  /** The details of {@link EventType#LEASE_RECLAIMED} for a stale lease freed without a successor. */
  ObjectNode reclaimDetails(Lease previous, Instant now) {
    return LeaseRecord.freedDetails(core.object(), previous, now);
  }
}
