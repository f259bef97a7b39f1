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
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;

/**
 * How task changes commit: create, update, and the commit step of every status change ({@link #move}), each with
 * its events in the same commit. Remembers the task records this instance last committed, which the claim paths
 * use as a first guess. Thread-safe.
 */
final class TaskCommits {
  private final Core core;
  private final LeaseCommits leases;
  private final Workflow workflow;
  private final DependencyGraph graph;
  private final TaskReadiness readiness;
  /**
   * The task records this instance last committed, by id. Only a guess: a commit that relies on one expects its
   * revision, so if anyone changed the task since, the commit conflicts and the operation reads the task instead.
   */
  private final RecentRecords<String, Known> committed = new RecentRecords<>(10_000, k -> k.record().revision());

  TaskCommits(Core core, LeaseCommits leases) {
    this.core = core;
    this.leases = leases;
    this.workflow = core.workflow();
    this.graph = new DependencyGraph(core);
    this.readiness = new TaskReadiness(core);
  }

  TaskReadiness readiness() {
    return readiness;
  }

  /** Builds a commit's events from the task's new ETag and its previous one. */
  interface EventsFor {
    List<NewEvent> build(String etag, String previousEtag);
  }

  /** See {@link Tasks#create}; the arguments are checked. */
  Task create(String id, NewTask spec, int maxAttempts) {
    RecordKey key = RecordKeys.task(id);
    Retry backoff = core.retry("task " + id);
    for (;; backoff.pause()) {
      List<Expectation> expectations = new ArrayList<>();
      expectations.add(Expectation.absent(key));
      for (String dep : new LinkedHashSet<>(spec.dependsOn())) {
        StoredRecord d = core.storage().read(RecordKeys.task(dep)).orElseThrow(
            () -> new DependencyException("task " + id + " depends on missing task " + dep));
        expectations.add(Expectation.revision(d.key(), d.revision()));
      }
      Optional<StoredRecord> existing = core.storage().read(key);
      if (existing.isPresent()) {
        throw alreadyExists(existing.get());
      }
      Instant now = core.storage().now();
      ObjectNode json = TaskRecord.create(core.object(), id, spec, workflow, maxAttempts, now);
      Core.Encoded encoded = core.encode(json, "task " + id);
      List<Write> writes = new ArrayList<>();
      List<Write> guards = new ArrayList<>();
      writes.add(Write.put(key, encoded.json(), encoded.hash(), readiness.entries(encoded.value(), now, expectations,
          guards)));
      writes.addAll(guards);
      CommitResult result = core.commit(Commit.namingRevisions(expectations, writes,
          revisions -> {
            ObjectNode d = core.object().put("id", id).put("title", spec.title()).put("status", workflow.initial())
                .put("priority", spec.priority()).put("etag", Core.etag(revisions.get(0), encoded.hash()).toString());
            d.set("dependsOn", json.get(TaskRecord.DEPENDS_ON));
            d.set("labels", json.get(TaskRecord.LABELS));
            return List.of(core.event(EventType.TASK_CREATED, RecordKeys.taskTarget(id), d));
          }));
      if (result instanceof CommitResult.Committed c) {
        return TaskRecord.toTask(encoded.value(), c.revisions().get(0), encoded.hash());
      }
      // a dependency or the id changed under us: re-check after a pause
    }
  }

  /** See {@link Tasks#update}; the arguments are checked. */
  Task update(String id, ETag ifMatch, TaskPatch patch) {
    return update(id, ifMatch, patch, Optional.empty());
  }

  /**
   * See {@link Tasks#update}; the arguments are checked. With a guard, the change commits only while that claim
   * lease is current (checked after each read of the task, its record's revision expected in the commit), so a
   * handler whose claim was lost changes nothing on a task that may be another worker's now.
   *
   * @throws LeaseLostException if the guard is no longer current
   */
  Task update(String id, ETag ifMatch, TaskPatch patch, Optional<Lease> guard) {
    RecordKey key = RecordKeys.task(id);
    if (patch.isEmpty() && guard.isEmpty()) { // nothing to change: no new revision, no task_updated
      StoredRecord current = readTask(id);
      checkIfMatch(current, ifMatch);
      requireOwnWorkflow(core.parse(current));
      return toTask(current);
    }
    Retry backoff = core.retry("task " + id);
    for (;; backoff.pause()) {
      StoredRecord current = readTask(id);
      checkIfMatch(current, ifMatch);
      ObjectNode json = core.parse(current).deepCopy();
      requireOwnWorkflow(json);
      List<Expectation> expectations = new ArrayList<>();
      expectations.add(Expectation.revision(key, current.revision()));
      guard.ifPresent(lease -> expectations.add(leases.guard(lease, RecordSource.READ).expectation()));
      List<String> changed = new ArrayList<>();
      if (patch.title() != null) {
        json.put(TaskRecord.TITLE, patch.title());
        changed.add(TaskRecord.TITLE);
      }
      if (patch.description() != null) {
        json.put(TaskRecord.DESCRIPTION, patch.description());
        changed.add(TaskRecord.DESCRIPTION);
      }
      if (patch.priority() != null) {
        json.put(TaskRecord.PRIORITY, patch.priority());
        changed.add(TaskRecord.PRIORITY);
      }
      if (patch.dependsOn() != null) {
        List<String> deps = new ArrayList<>(new LinkedHashSet<>(patch.dependsOn()));
        deps.forEach(d -> Names.requireName("dependency id", d));
        expectations.addAll(graph.checkNoCycle(id, deps));
        TaskRecord.setDependsOn(json, deps);
        changed.add(TaskRecord.DEPENDS_ON);
      }
      if (patch.checklist() != null) {
        TaskRecord.setChecklist(json, patch.checklist());
        changed.add(TaskRecord.CHECKLIST);
      }
      if (patch.labels() != null) {
        TaskRecord.setLabels(json, patch.labels());
        changed.add(TaskRecord.LABELS);
      }
      Instant now = core.storage().now();
      json.put(TaskRecord.UPDATED_AT, now.toString());
      Optional<Task> done = commitTask(current, json, now, expectations, List.of(), (etag, prev) -> {
        ObjectNode d = core.object().put("id", id).put("previousEtag", prev).put("etag", etag);
        changed.forEach(d.putArray("changed")::add);
        return List.of(core.event(EventType.TASK_UPDATED, RecordKeys.taskTarget(id), d));
      });
      if (done.isPresent()) {
        return done.get();
      }
      if (ifMatch != null) {
        checkIfMatch(readTask(id), ifMatch);
      }
    }
  }

  /** See {@link Tasks#transition(String, String, ETag)}; the arguments are checked. */
  TransitionResult transition(String id, String to, ETag ifMatch) {
    Retry backoff = core.retry("task " + id);
    for (;; backoff.pause()) {
      StoredRecord current = readTask(id);
      checkIfMatch(current, ifMatch);
      Optional<TransitionResult> r = move(current, TaskMove.along(to, EventType.TASK_TRANSITIONED));
      if (r.isPresent()) {
        return r.get();
      }
      if (ifMatch != null) {
        checkIfMatch(readTask(id), ifMatch);
      }
    }
  }

  /** One attempt at an unguarded status change; see {@link #move(StoredRecord, TaskMove, Lease, RecordSource)}. */
  Optional<TransitionResult> move(StoredRecord current, TaskMove move) {
    return move(current, move, Optional.empty(), RecordSource.READ);
  }

  /**
   * One attempt at a status change guarded by a claim's lease, which must still be current: it is checked after
   * the task was read, so if the claim is still current then, the task state read is the claim's, not one left
   * behind by a reclaim that happened in between. Moving to a status that holds no claim frees the claim lease.
   *
   * @param current the task record
   * @param move the change
   * @param guard the claim's lease
   * @param source whether {@code current} is the record this instance last committed rather than one just read
   *     (then the claim's lease record may be a remembered one too)
   * @return the result, or empty on conflict
   * @throws LeaseLostException if the lease is no longer current
   * @throws InvalidTransitionException if the move needs the workflow's edge and it does not allow it
   */
  Optional<TransitionResult> move(StoredRecord current, TaskMove move, Lease guard, RecordSource source) {
    return move(current, move, Optional.of(guard), source);
  }

  private Optional<TransitionResult> move(StoredRecord current, TaskMove move, Optional<Lease> guardLease,
      RecordSource source) {
    // from remembered records, a completion first assumes nobody waits on the task (its guard absent, unscanned)
    return move(current, move, guardLease, source,
        source == RecordSource.REMEMBERED ? TaskReadiness.Waiters.NONE_ASSUMED : TaskReadiness.Waiters.SCAN);
  }

  private Optional<TransitionResult> move(StoredRecord current, TaskMove move, Optional<Lease> guardLease,
      RecordSource source, TaskReadiness.Waiters waiters) {
    String id = current.key().id();
    String to = move.to();
    ObjectNode json = value(current).deepCopy();
    requireOwnWorkflow(json);
    List<Expectation> expectations = new ArrayList<>();
    expectations.add(Expectation.revision(current.key(), current.revision()));
    Optional<LeaseCommits.Current> guard = guardLease.map(l -> leases.guard(l, source));
    guard.ifPresent(g -> expectations.add(g.expectation()));
    String from = TaskRecord.status(json);
    if (move.edge() == TaskMove.Edge.WORKFLOW) {
      workflow.checkTransition(from, to);
    }
    Instant now = guard.map(LeaseCommits.Current::now).orElseGet(() -> core.storage().now());
    List<Write> writes = new ArrayList<>();
    List<NewEvent> leaseEvents = new ArrayList<>();
    if (!workflow.holdsClaim(to)) {
      RecordKey leaseKey = RecordKeys.claimLease(id);
      // with a guard, the lease record is the guard's (its revision is expected): no need to read it again
      Optional<StoredRecord> leaseRecord = guard.isPresent() ? Optional.of(guard.get().record())
          : core.storage().read(leaseKey);
      Lease held = guard.isPresent() ? guard.get().held() : leaseRecord.map(leases::held).orElse(null);
      if (held != null) {
        if (guard.isEmpty()) {
          expectations.add(Expectation.revision(leaseKey, leaseRecord.get().revision()));
        }
        writes.add(leases.freeWrite(leaseKey, held.resource(), held.fence()));
        leaseEvents.add(core.event(EventType.LEASE_RELEASED, RecordKeys.taskTarget(id), leases.leaseDetails(held)));
      }
      json.putNull(TaskRecord.ASSIGNEE);
    }
    TaskRecord.moved(json, to, now);
    move.changes().apply(json);
    boolean sweep = to.equals(workflow.done()) && readiness.unblock(id, to, now, waiters, expectations, writes);
    TaskWrite written = writeTask(current, json, now, expectations, writes, (etag, prev) -> {
      ObjectNode d = core.object().put("id", id).put("oldStatus", from).put("newStatus", to)
          .put("previousEtag", prev).put("etag", etag);
      guard.ifPresent(g -> d.put("fence", g.held().fence()).put("leaseId", g.held().leaseId()));
      d.setAll(move.extraDetails());
      List<NewEvent> events = new ArrayList<>();
      events.add(core.event(move.event(), RecordKeys.taskTarget(id), d));
      events.addAll(leaseEvents);
      events.addAll(move.trailing().build(json, guard.map(LeaseCommits.Current::held).orElse(null)));
      return events;
    });
    Optional<Task> task = written.task();
    if (task.isEmpty() && waiters == TaskReadiness.Waiters.NONE_ASSUMED
        && written.failed().filter(e -> e.key().equals(RecordKeys.waiters(id, to))).isPresent()) {
      // the task's guard exists: someone waits or waited on it; again from the same records, scanning the waiters
      return move(current, move, guardLease, source, TaskReadiness.Waiters.SCAN_GUARDED);
    }
    if (task.isPresent() && sweep) {
      readiness.sweepOrLeave(id, to); // tasks placed on this one after the scan above, before its commit
    }
    return task.map(t -> new TransitionResult(from, to, t));
  }

  /**
   * Commits a task write (first, with its index entries as of {@code now}) with extra writes; empty on conflict.
   */
  Optional<Task> commitTask(StoredRecord current, ObjectNode json, Instant now, List<Expectation> expectations,
      List<Write> extraWrites, EventsFor events) {
    return writeTask(current, json, now, expectations, extraWrites, events).task();
  }

  /**
   * What a task commit did.
   *
   * @param task the task as written; empty on conflict
   * @param failed on conflict, the expectation that failed
   */
  record TaskWrite(Optional<Task> task, Optional<Expectation> failed) {}

  /** {@link #commitTask}, telling which expectation failed on conflict. */
  private TaskWrite writeTask(StoredRecord current, ObjectNode json, Instant now, List<Expectation> expectations,
      List<Write> extraWrites, EventsFor events) {
    Core.Encoded encoded = core.encode(json, "task " + current.key().id());
    List<Write> writes = new ArrayList<>();
    List<Write> guards = new ArrayList<>();
    writes.add(Write.put(current.key(), encoded.json(), encoded.hash(),
        readiness.entries(encoded.value(), now, expectations, guards)));
    writes.addAll(extraWrites);
    writes.addAll(guards);
    String prev = Core.etag(current).toString();
    CommitResult result = core.commit(Commit.namingRevisions(expectations, writes,
        revisions -> events.build(Core.etag(revisions.get(0), encoded.hash()).toString(), prev)));
    if (result instanceof CommitResult.Committed c) {
      remember(new StoredRecord(current.key(), encoded.json(), c.revisions().get(0), encoded.hash()), encoded.value());
      for (int i = 1; i < writes.size(); i++) {
        if (!writes.get(i).isDelete() && writes.get(i).key().collection().equals(RecordKeys.TASK_LEASES)) {
          leases.remember(writes.get(i), c.revisions().get(i));
        }
      }
      return new TaskWrite(Optional.of(TaskRecord.toTask(encoded.value(), c.revisions().get(0), encoded.hash())),
          Optional.empty());
    }
    return new TaskWrite(Optional.empty(), Optional.of(((CommitResult.Conflict) result).failed()));
  }

  /** @return the record this instance last committed for task {@code id}, if it remembers one */
  Optional<StoredRecord> remembered(String id) {
    return Optional.ofNullable(committed.getIfPresent(id)).map(Known::record);
  }

  /**
   * Remembers a task record this instance committed.
   *
   * @param task the record
   * @param value the value it encoded for it; never changed afterwards
   */
  void remember(StoredRecord task, ObjectNode value) {
    committed.put(task.key().id(), new Known(task, value));
  }

  /**
   * A task record's value: the one this instance encoded, if it remembers committing exactly this version (its
   * revision and hash identify the value), else parsed. Not canonical in its keys' order or its numbers' node types
   * (what reads the fields and what encodes a copy of it do not tell), so not for a document shown to a caller.
   *
   * @param r the task record
   * @return its value, which must not be changed: copy it
   * @throws StorageException if a record that must be parsed is damaged
   */
  ObjectNode value(StoredRecord r) {
    Known k = committed.getIfPresent(r.key().id());
    return k != null && k.record().revision() == r.revision() && k.record().hash().equals(r.hash())
        && k.record().key().equals(r.key()) ? k.value() : core.parse(r);
  }

  /**
   * A task record this instance committed, with the value it encoded for it.
   *
   * @param record the record
   * @param value the value, never changed
   */
  private record Known(StoredRecord record, ObjectNode value) {}

  void forget(String id) {
    committed.invalidate(id);
  }

  boolean ownWorkflow(ObjectNode json) {
    return workflow.name().equals(TaskRecord.workflowName(json));
  }

  void requireOwnWorkflow(ObjectNode json) {
    if (!ownWorkflow(json)) {
      throw new IllegalStateException("task " + TaskRecord.id(json) + " follows workflow "
          + TaskRecord.workflowName(json) + ", not " + workflow.name() + "; use a Collab built with that workflow");
    }
  }

  StoredRecord readTask(String id) {
    return core.storage().read(RecordKeys.task(id)).orElseThrow(() -> new NotFoundException("task " + id));
  }

  Task toTask(StoredRecord r) {
    return TaskRecord.toTask(core.parse(r), r.revision(), r.hash());
  }

  private void checkIfMatch(StoredRecord current, ETag ifMatch) {
    ETag etag = Core.etag(current);
    if (ifMatch != null && !ifMatch.strongMatch(etag)) {
      throw preconditionFailed(current, "If-Match " + ifMatch + " does not match");
    }
  }

  private PreconditionFailedException alreadyExists(StoredRecord current) {
    return preconditionFailed(current, "it already exists");
  }

  private PreconditionFailedException preconditionFailed(StoredRecord current, String why) {
    RecordKey key = current.key();
    ETag etag = Core.etag(current);
    return new PreconditionFailedException("precondition failed for task " + key.id() + ": " + why
        + ", current ETag " + etag, new Document(key.collection(), key.id(), core.parse(current), etag,
        current.revision()));
  }
}
