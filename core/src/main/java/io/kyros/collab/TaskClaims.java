package io.kyros.collab;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.IndexEntry;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredRecord;
import io.kyros.collab.spi.Write;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Claims on tasks: taking one (task and lease in one commit), the operations through a {@link TaskClaim}
 * (transition, complete, fail, release), which commit only while the claim's lease is current, and reclaiming
 * stale claims. Thread-safe.
 */
final class TaskClaims {
  private static final Logger LOG = LoggerFactory.getLogger(Tasks.class);

  private final Core core;
  private final LeaseCommits leases;
  private final TaskCommits commits;
  private final Workflow workflow;

  TaskClaims(Core core, LeaseCommits leases, TaskCommits commits) {
    this.core = core;
    this.leases = leases;
    this.commits = commits;
    this.workflow = core.workflow();
  }

  /** One attempt of a claim operation on the task record given; empty on conflict. */
  interface Attempt {
    /**
     * @param current the task record
     * @param source whether {@code current} was just read or is the record this instance last committed
     */
    Optional<TransitionResult> apply(StoredRecord current, RecordSource source);
  }

  /**
   * A claim ready to commit: the task's new record and the acquisition of its lease.
   *
   * @param task the task record it was decided on
   * @param encoded the task's new value (claimed)
   * @param acquisition the lease
   * @param oldStatus the task's status before
   */
  record Prepared(StoredRecord task, Core.Encoded encoded, LeaseCommits.Acquisition acquisition, String oldStatus) {
    String id() {
      return task.key().id();
    }
  }

  /** Ends a {@code lastError} cut to keep a task within the size limit. */
  static final String CUT_MARK = TextCut.MARK;
  /**
   * The bytes a reclaim's reason leaves free below the size limit: what a claim adds back (an assignee of up to {@value
   * Names#MAX_LABEL_LENGTH} characters, 3 bytes each at most in canonical JSON, and its quotes; a status name up to 64
   * characters longer; times written to the nanosecond), rounded up.
   */
  static final int CLAIM_ROOM = 1024;
  /**
   * The bytes an event's details keep for their other fields when a text of unbounded length (a failure's reason) is
   * cut to fit the size limit ({@link TextCut}).
   */
  static final int EVENT_ROOM = 2048;

  /**
   * Prepares the claim of {@code task} given its lease record, at storage time {@code now} (read before both); null
   * if the task's lease is held.
   */
  Prepared prepare(StoredRecord task, String worker, Duration ttl, Optional<StoredRecord> leaseRecord, Instant now) {
    String id = task.key().id();
    LeaseCommits.Acquisition a = leases.prepareAcquire(RecordKeys.claimLease(id), RecordKeys.claimResource(id),
        worker, ttl, leaseRecord, now);
    if (a == null) {
      return null;
    }
    ObjectNode json = commits.value(task).deepCopy();
    String old = TaskRecord.status(json);
    TaskRecord.moved(json, workflow.claimed(), now).put(TaskRecord.ASSIGNEE, worker);
    return new Prepared(task, core.encode(json, "task " + id), a, old);
  }

  /**
   * What {@link #commitClaims} did: the claims, in the order given, or the position of the claim whose task or lease
   * changed since it was prepared (-1 if the conflict names neither), when nothing was committed.
   *
   * @param claims the claims committed; empty on a conflict
   * @param conflicting the position of the claim the conflict names, or -1
   * @param failed which of that claim's records the conflict names
   */
  record Outcome(List<TaskClaim> claims, int conflicting, Failed failed) {
    /** Which record of a claim a conflict names. */
    enum Failed {
      /** None: the claims committed, or the conflict names no claim's record. */
      NONE,
      /** The task record. */
      TASK,
      /** The claim's lease record. */
      LEASE
    }
  }

  /**
   * Commits several prepared claims in one commit: each task and its lease, with their expectations, and per claim
   * the lease events and {@code task_claimed}, in the order given.
   */
  Outcome commitClaims(List<Prepared> batch, String worker, TrailingEvents trailing) {
    List<Expectation> expectations = new ArrayList<>(batch.size() * 2);
    List<Write> writes = new ArrayList<>(batch.size() * 2);
    List<Write> guards = new ArrayList<>();
    for (Prepared p : batch) {
      expectations.add(Expectation.revision(p.task().key(), p.task().revision()));
      expectations.add(p.acquisition().expectation());
      writes.add(Write.put(p.task().key(), p.encoded().json(), p.encoded().hash(), commits.readiness()
          .entries(p.encoded().value(), p.acquisition().lease().acquiredAt(), expectations, guards)));
      writes.add(p.acquisition().write());
    }
    writes.addAll(guards);
    CommitResult result = core.commit(Commit.namingRevisions(expectations, writes, revisions -> {
      List<NewEvent> events = new ArrayList<>(batch.size() * 3);
      for (int i = 0; i < batch.size(); i++) {
        Prepared p = batch.get(i);
        String id = p.id();
        LeaseCommits.Acquisition a = p.acquisition();
        events.addAll(a.events());
        events.add(core.event(EventType.TASK_CLAIMED, worker, RecordKeys.taskTarget(id), core.object()
            .put("id", id).put("worker", worker).put("oldStatus", p.oldStatus()).put("newStatus", workflow.claimed())
            .put("leaseId", a.lease().leaseId()).put("fence", a.lease().fence())
            .put("attempts", TaskRecord.attempts(p.encoded().value()))
            .put("previousEtag", Core.etag(p.task()).toString())
            .put("etag", Core.etag(revisions.get(2 * i), p.encoded().hash()).toString())));
        events.addAll(trailing.build(p.encoded().value(), a.lease()));
      }
      return events;
    }));
    if (result instanceof CommitResult.Committed c) {
      List<TaskClaim> out = new ArrayList<>(batch.size());
      for (int i = 0; i < batch.size(); i++) {
        Prepared p = batch.get(i);
        long revision = c.revisions().get(2 * i);
        commits.remember(new StoredRecord(p.task().key(), p.encoded().json(), revision, p.encoded().hash()),
            p.encoded().value());
        leases.remember(p.acquisition(), c.revisions().get(2 * i + 1));
        out.add(new TaskClaim(TaskRecord.toTask(p.encoded().value(), revision, p.encoded().hash()),
            p.acquisition().lease()));
      }
      return new Outcome(out, -1, Outcome.Failed.NONE);
    }
    RecordKey key = ((CommitResult.Conflict) result).failed().key();
    for (int i = 0; i < batch.size(); i++) {
      Prepared p = batch.get(i);
      boolean task = p.task().key().equals(key);
      if (task || p.acquisition().write().key().equals(key)) {
        commits.forget(p.id());
        return new Outcome(List.of(), i, task ? Outcome.Failed.TASK : Outcome.Failed.LEASE);
      }
    }
    batch.forEach(p -> commits.forget(p.id()));
    return new Outcome(List.of(), -1, Outcome.Failed.NONE);
  }

  /** See {@link Tasks#claim}; the arguments are checked. */
  Optional<TaskClaim> claim(String id, String worker, Duration ttl) {
    Retry backoff = null;
    for (;;) {
      StoredRecord r = commits.readTask(id);
      ObjectNode json = core.parse(r);
      commits.requireOwnWorkflow(json);
      if (!workflow.initial().equals(TaskRecord.status(json)) || !TaskRecord.claimableAt(json, core.storage().now())) {
        return Optional.empty();
      }
      for (String dep : TaskRecord.dependsOn(json)) {
        Optional<StoredRecord> d = core.storage().read(RecordKeys.task(dep));
        if (d.isEmpty() || !workflow.done().equals(TaskRecord.status(core.parse(d.get())))) {
          return Optional.empty();
        }
      }
      Optional<StoredRecord> leaseRecord = core.storage().read(RecordKeys.claimLease(id));
      Prepared p = prepare(r, worker, ttl, leaseRecord, core.storage().now());
      if (p == null) {
        return Optional.empty(); // the claim lease is held
      }
      List<TaskClaim> claimed = commitClaims(List.of(p), worker, TrailingEvents.NONE).claims();
      if (!claimed.isEmpty()) {
        return Optional.of(claimed.get(0));
      }
      // The task or its lease changed since the reading: another worker's claim (the next reading shows it held), or
      // a commit that left the task claimable (a promotion out of its backoff, a waiter's rewrite, a patch). Empty
      // means the task is not claimable, so read and decide again instead of answering empty for the latter.
      if (backoff == null) {
        backoff = core.retry("claim of task " + id);
      }
      backoff.pause();
    }
  }

  /** See {@link Tasks#currentClaim}; the id is checked. */
  Optional<TaskClaim> current(String id) {
    Task task = commits.toTask(commits.readTask(id));
    if (task.assignee() == null) {
      return Optional.empty();
    }
    Lease held = core.storage().read(RecordKeys.claimLease(id)).map(leases::held).orElse(null);
    if (held == null || !held.holder().equals(task.assignee()) || held.isStaleAt(core.storage().now())) {
      return Optional.empty();
    }
    return Optional.of(new TaskClaim(task, held));
  }

  /** See {@link Tasks#transition(TaskClaim, String)}. */
  TransitionResult transition(TaskClaim claim, String to) {
    return guarded(claim, (current, source) -> commits.move(current,
        TaskMove.along(to, EventType.TASK_TRANSITIONED), claim.lease(), source));
  }

  /** See {@link Tasks#complete}. */
  Task complete(TaskClaim claim, TrailingEvents trailing) {
    TaskMove move = TaskMove.along(workflow.done(), EventType.TASK_COMPLETED)
        .alsoSetting(json -> TaskRecord.notBefore(json, null)).followedBy(trailing);
    return guarded(claim, (current, source) -> commits.move(current, move, claim.lease(), source)).task();
  }

  /** See {@link Tasks#release}. */
  Task release(TaskClaim claim, TrailingEvents trailing) {
    TaskMove move = TaskMove.endingClaim(workflow.initial(), EventType.TASK_RELEASED).followedBy(trailing);
    return guarded(claim, (current, source) -> commits.move(current, move, claim.lease(), source)).task();
  }

  /** See {@link Tasks#fail(TaskClaim, String)}. */
  Task fail(TaskClaim claim, String reason) {
    return fail(claim, reason, core.settings()::retryDelay, TrailingEvents.NONE);
  }

  /**
   * See {@link Tasks#fail(TaskClaim, String, java.time.Duration)}: {@code retryDelay} gives the wait before the next
   * attempt from the attempts counted so far (this one included), or null for no retry.
   */
  Task fail(TaskClaim claim, String reason, java.util.function.IntFunction<Duration> retryDelay,
      TrailingEvents trailing) {
    return guarded(claim, (current, source) -> {
      ObjectNode json = commits.value(current);
      int attempts = TaskRecord.attempts(json) + 1;
      int maxAttempts = TaskRecord.maxAttempts(json);
      Duration delay = attempts < maxAttempts ? retryDelay.apply(attempts) : null;
      boolean retry = delay != null;
      String to = retry ? workflow.initial() : workflow.failed();
      Instant notBefore = retry ? core.storage().now().plus(delay) : null;
      ObjectNode extra = core.object().put("attempts", attempts).put("maxAttempts", maxAttempts)
          .put("retry", retry).put("error", TextCut.toBytes(reason, core.settings().maxValueBytes() - EVENT_ROOM));
      extra.put("notBefore", notBefore == null ? null : notBefore.toString());
      TaskMove move = TaskMove.endingClaim(to, EventType.TASK_FAILED).withDetails(extra).alsoSetting(j -> {
        TaskRecord.notBefore(j.put(TaskRecord.ATTEMPTS, attempts), notBefore);
        // the reason as much as fits, as a reclaim's: a failed attempt must not stay unrecorded, its claim held until
        // its ttl, because the task is near the size limit (the event keeps the whole reason)
        encodeWithError(j, "task " + claim.task().id(), reason);
        return j;
      }).followedBy(trailing);
      return commits.move(current, move, claim.lease(), source);
    }).task();
  }

  /**
   * Runs a claim operation until it commits, failing if the claim's lease is lost. The first attempt uses the task
   * and lease records this instance last committed, if it has them, without reading; the commit pins their
   * revisions, so a stale guess only costs a conflict, after which it reads and decides as usual.
   */
  private TransitionResult guarded(TaskClaim claim, Attempt attempt) {
    String id = claim.task().id();
    if (!claim.lease().resource().equals(RecordKeys.claimResource(id))) {
      throw new IllegalArgumentException("claim on task " + id + " carries a lease on " + claim.lease().resource()
          + ", not on " + RecordKeys.claimResource(id));
    }
    Optional<StoredRecord> known = commits.remembered(id);
    if (known.isPresent()) {
      try {
        Optional<TransitionResult> r = attempt.apply(known.get(), RecordSource.REMEMBERED);
        if (r.isPresent()) {
          return r.get();
        }
      } catch (InvalidTransitionException staleGuess) {
        // judged on a status someone changed since: read and decide below
      }
      commits.forget(id);
      leases.forget(RecordKeys.lease(claim.lease().resource()));
    }
    Retry backoff = core.retry("task " + id);
    for (;; backoff.pause()) {
      // the attempt checks the claim's lease after reading the task (see TaskCommits.move)
      Optional<TransitionResult> r = attempt.apply(commits.readTask(id), RecordSource.READ);
      if (r.isPresent()) {
        return r.get();
      }
    }
  }

  /** Reclaims stale claims, recording {@code actor} as who did it; skips records it cannot read. */
  List<Task> reclaimStale(String actor) {
    // One reading of the storage's clock for the whole scan: it only gets later, so a claim found stale at it is
    // stale at commit time too, and the scan costs no round trip per claim.
    return reclaimStale(actor, core.storage().now());
  }

  /** Reclaims the claims stale at {@code now}, a reading of the storage's clock. */
  List<Task> reclaimStale(String actor, Instant now) {
    List<Task> out = new ArrayList<>();
    List<StoredRecord> leaseRecords = leases.mayBeStale(RecordKeys.TASK_LEASES, now);
    for (StoredRecord leaseRecord : leaseRecords) {
      reclaimLogged(leaseRecord, actor, now).ifPresent(out::add);
    }
    return out;
  }

  /**
   * Like {@link #reclaim}, but a record it cannot read is logged and skipped.
   *
   * @return the task after reclaim, or empty
   */
  Optional<Task> reclaimLogged(StoredRecord leaseRecord, String actor, Instant now) {
    try {
      return reclaim(leaseRecord, actor, now);
    } catch (StorageException | InvalidValueException e) { // one claim that cannot be reclaimed stops no other
      LOG.warn("cannot reclaim the claim in {}: {}", leaseRecord.key(), e.getMessage());
      return Optional.empty();
    }
  }

  /**
   * Encodes a task with its {@code lastError} set to {@code error}, or to as much of it as leaves the value room for a
   * later claim's assignee ({@link #CLAIM_ROOM} bytes below the size limit; cut, and marked as cut), or without it:
   * ending a claim (a reclaim) must not fail because the reason it records is long or the task is near the limit, or
   * the stale claim would stop every claim behind it; and the reason must not fill the task so that no worker can
   * claim it again.
   *
   * @throws ValueTooLargeException if the task is too large even without the error
   */
  private Core.Encoded encodeWithError(ObjectNode json, String what, String error) {
    return TextCut.encodeFitting(core, json, TaskRecord.LAST_ERROR, error, CLAIM_ROOM, what);
  }


  /**
   * Reclaims one stale claim; empty if it is not stale, another workflow's (then parked, see
   * {@link LeaseCommits#park}), someone else acted first, or the task holds no claim (then only the lease is freed).
   */
  Optional<Task> reclaim(StoredRecord leaseRecord, String actor, Instant now) {
    Lease held = leases.held(leaseRecord);
    if (held == null || !held.isStaleAt(now)) {
      return Optional.empty();
    }
    String id = leaseRecord.key().id();
    String target = RecordKeys.taskTarget(id);
    Optional<StoredRecord> task = core.storage().read(RecordKeys.task(id));
    ObjectNode json = task.map(t -> core.parse(t).deepCopy()).orElse(null);
    if (json != null && !commits.ownWorkflow(json)) {
      // a Collab on that task's workflow reclaims it; out of expires, so that this workflow's claims stop reading it
      if (leaseRecord.key().collection().equals(RecordKeys.TASK_LEASES) && core.indexed()) {
        leases.park(leaseRecord, held, TaskRecord.workflowName(json));
      }
      return Optional.empty();
    }
    List<Expectation> expectations = new ArrayList<>();
    expectations.add(Expectation.revision(leaseRecord.key(), leaseRecord.revision()));
    ObjectNode reclaimDetails = leases.reclaimDetails(held, now);
    Write free = leases.freeWrite(leaseRecord.key(), held.resource(), held.fence());
    String old = json == null ? null : TaskRecord.status(json);
    if (json == null || !workflow.holdsClaim(old)) {
      // no claim to end on the task itself: only free the lease
      expectations.addAll(task.map(t -> List.of(Expectation.revision(t.key(), t.revision()))).orElse(List.of()));
      core.commit(Commit.of(expectations, List.of(free),
          List.of(core.event(EventType.LEASE_RECLAIMED, actor, target, reclaimDetails))));
      return Optional.empty();
    }
    int attempts = TaskRecord.attempts(json) + 1;
    String to = attempts >= TaskRecord.maxAttempts(json) ? workflow.failed() : workflow.initial();
    TaskRecord.moved(json, to, now).put(TaskRecord.ATTEMPTS, attempts).putNull(TaskRecord.ASSIGNEE);
    expectations.add(0, Expectation.revision(task.get().key(), task.get().revision()));
    Core.Encoded encoded = encodeWithError(json, "task " + id,
        "lease expired at " + held.expiresAt() + " (holder " + held.holder() + ")");
    String prevEtag = Core.etag(task.get()).toString();
    List<Write> writes = new ArrayList<>();
    List<Write> guards = new ArrayList<>();
    writes.add(Write.put(task.get().key(), encoded.json(), encoded.hash(),
        commits.readiness().entries(encoded.value(), now, expectations, guards)));
    writes.add(free);
    writes.addAll(guards);
    CommitResult result = core.commit(Commit.namingRevisions(expectations, writes, revisions -> List.of(
            core.event(EventType.LEASE_RECLAIMED, actor, target, reclaimDetails),
            core.event(EventType.TASK_RECLAIMED, actor, target, core.object().put("id", id).put("oldStatus", old)
                .put("newStatus", to).put("attempts", attempts).put("previousHolder", held.holder())
                .put("oldFence", held.fence()).put("previousEtag", prevEtag)
                .put("etag", Core.etag(revisions.get(0), encoded.hash()).toString())))));
    if (result instanceof CommitResult.Committed c) {
      return Optional.of(TaskRecord.toTask(encoded.value(), c.revisions().get(0), encoded.hash()));
    }
    return Optional.empty();
  }
}
