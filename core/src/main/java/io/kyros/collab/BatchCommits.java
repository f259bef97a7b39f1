package io.kyros.collab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredRecord;
import io.kyros.collab.spi.Write;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * How batch changes commit. Each is one commit on the batch record (its revision, or its absence, expected) with the
 * item tasks it creates (expected absent) or cancels (their revisions expected), and its events: {@code batch_created}
 * / {@code batch_items_added}, the tasks' {@code task_created} / {@code task_transitioned}, then
 * {@code batch_state_changed} and {@code batch_progress}. A step reads the in-flight tasks, counts those that finished,
 * applies the policy (abort-all aborts on the first failure), releases pending items while fewer than
 * {@code concurrency} are in flight, ends the batch when nothing is left, and creates the final step's task once. On
 * a conflict it reads and decides again, paced like every read-modify-write. Thread-safe.
 */
final class BatchCommits {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Batches.class);
  /** What a step does besides bringing the counts up to date. */
  enum Action { ADVANCE, START, CANCEL }

  private final Core core;
  private final Workflow workflow;
  /** The index entries of the item tasks a batch commit writes, as every other task write carries them. */
  private final TaskReadiness readiness;

  BatchCommits(Core core) {
    this.core = core;
    this.workflow = core.workflow();
    this.readiness = new TaskReadiness(core);
  }

  /** A task the commit creates or moves, written after the batch record. */
  private record TaskChange(RecordKey key, Expectation expectation, Core.Encoded encoded, EventType type,
      ObjectNode details, String previousEtag) {}

  /** What one step decided: the new batch record, its task changes and the events around them. */
  private static final class Plan {
    final ObjectNode batch;
    final List<TaskChange> tasks = new ArrayList<>();
    final List<ObjectNode> leadEvents = new ArrayList<>(); // batch_created / batch_items_added details, then types
    final List<EventType> leadTypes = new ArrayList<>();
    /** What an ending requires of the in-flight items it leaves alone (see {@link #decide}). */
    final List<Expectation> pins = new ArrayList<>();
    BatchState from;
    String stateReason;

    Plan(ObjectNode batch) {
      this.batch = batch;
    }
  }

  /** See {@link Batches#create} and {@link Batches#submit}; the spec is checked. */
  Batch create(String id, BatchSpec spec, boolean start) {
    BatchSpec.checkItems(id, spec.items());
    Retry backoff = core.retry("batch " + id);
    for (;; backoff.pause()) {
      Optional<StoredRecord> existing = core.storage().read(BatchRecord.key(id));
      if (existing.isPresent()) {
        throw core.preconditionFailed(existing.get(), "the batch already exists");
      }
      // after: a batch that exists is that, whatever its items made; and checked again in the commit, as add does
      List<RecordKey> itemTasks = requireItemTasksAbsent(id, spec.items());
      if (spec.finalStepLabel() != null) {
        RecordKey finalTask = RecordKeys.task(Batches.itemTaskId(id, Batches.FINAL_STEP_ID));
        if (core.storage().read(finalTask).isPresent()) {
          throw new IllegalArgumentException("the final step's task " + finalTask.id() + " of batch " + id
              + " already exists");
        }
      }
      Instant now = core.storage().now();
      Plan plan = new Plan(BatchRecord.create(core.object(), id, spec, now));
      requireItemTasksFit(plan.batch, spec.items(), now);
      plan.leadTypes.add(EventType.BATCH_CREATED);
      plan.leadEvents.add(core.object().put("id", id).put("label", spec.label())
          .put("policy", spec.policy().kind().wireName()).put("retries", spec.policy().retries())
          .put("concurrency", spec.concurrency()).put("total", spec.items().size())
          .put("finalStep", spec.finalStepLabel()));
      plan.from = BatchState.PENDING;
      if (start) {
        decide(plan, Map.of(), null, Action.START, null, now);
      } else {
        requireStartFits(plan.batch, now);
      }
      List<Expectation> expect = new ArrayList<>(List.of(Expectation.absent(BatchRecord.key(id))));
      itemTasks.forEach(k -> expect.add(Expectation.absent(k))); // a task made with an item's id meanwhile: retried
      Optional<Batch> b = commit(plan, expect, true);
      if (b.isPresent()) {
        return b.get();
      }
    }
  }

  /**
   * Refuses items whose task ids a task already has (a task created by hand with such an id, or a batch item released
   * before): the item could never be released (its task is created expecting none).
   *
   * @return the items' task keys
   * @throws IllegalArgumentException naming the first such task
   */
  private List<RecordKey> requireItemTasksAbsent(String id, List<BatchItem> items) {
    List<RecordKey> keys = new ArrayList<>(items.size());
    for (BatchItem item : items) {
      keys.add(RecordKeys.task(Batches.itemTaskId(id, item.id())));
    }
    for (StoredRecord r : core.storage().readAll(keys)) {
      throw new IllegalArgumentException("duplicate item id: task " + r.key().id() + " of batch " + id
          + " already exists");
    }
    return keys;
  }

  /**
   * Refuses items whose task would not leave {@link TaskClaims#CLAIM_ROOM} bytes free below the size limit: the task
   * carries the batch id twice more (its id and its {@code batch.<id>} label), so an item that fits in the batch record
   * may not fit in its task, and would fail every step that tries to release it; and a task that fits but leaves no
   * room for what a claim adds (the worker as assignee, the claimed status, times) could be released but never
   * claimed: every claim would pass it over, and its batch would never end.
   *
   * @throws ValueTooLargeException naming the first such item's task
   */
  private void requireItemTasksFit(JsonNode batch, List<BatchItem> items, Instant now) {
    String id = batch.path(BatchRecord.ID).asText();
    int attempts = BatchRecord.policy(batch).attemptsPerItem();
    long room = core.settings().maxValueBytes() - (long) TaskClaims.CLAIM_ROOM;
    for (BatchItem item : items) {
      String taskId = Batches.itemTaskId(id, item.id());
      TaskChange task = newTask(taskId, item.title(), item.payload(), batch.path(BatchRecord.LABEL).asText(), batch,
          attempts, now);
      long bytes = task.encoded().json().getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
      if (bytes > room) {
        throw new ValueTooLargeException("task " + taskId + " (batch " + id + "'s item " + item.id() + ", with the "
            + TaskClaims.CLAIM_ROOM + " bytes a claim may add to it)", bytes + TaskClaims.CLAIM_ROOM,
            core.settings().maxValueBytes());
      }
    }
  }

  /**
   * Refuses a pending batch whose record would be too large once started: a start moves up to {@code concurrency}
   * items from the pending list to the in-flight list, each as its task id ({@code <batch id>.<item id>}), longer than
   * its pending entry when the batch id is long, so a pending batch accepted near the size limit could never start
   * (every start would fail with {@link ValueTooLargeException}). The start is decided on a copy of the record, as
   * {@link Batches#submit} decides it on the record itself.
   *
   * @param batch the pending batch record, as it would be committed (not changed)
   * @param now the storage time of the change
   * @throws ValueTooLargeException naming the batch as a start would leave it
   */
  private void requireStartFits(ObjectNode batch, Instant now) {
    Plan started = new Plan(batch.deepCopy());
    started.from = BatchState.PENDING;
    decide(started, Map.of(), null, Action.START, null, now);
    started.batch.put(BatchRecord.UPDATED_AT, now.toString());
    core.encode(started.batch, "batch " + batch.path(BatchRecord.ID).asText() + " as a start would leave it (its first "
        + BatchRecord.inFlight(started.batch).size() + " items released, their task ids in flight: a pending batch"
        + " must be able to start)");
  }

  /** See {@link Batches#add}; the items are checked. */
  Batch add(String id, List<BatchItem> items) {
    BatchSpec.checkItems(id, items);
    Retry backoff = core.retry("batch " + id);
    for (;; backoff.pause()) {
      StoredRecord current = read(id);
      ObjectNode json = core.parse(current).deepCopy();
      BatchState state = BatchRecord.state(json);
      if (state.isTerminal()) {
        throw new InvalidTransitionException("batch", state.wireName(), "add items", Set.of());
      }
      Set<String> known = new java.util.HashSet<>();
      json.path(BatchRecord.PENDING).forEach(i -> known.add(i.path(BatchRecord.ITEM_ID).asText()));
      for (BatchItem item : items) {
        if (known.contains(item.id())) {
          throw new IllegalArgumentException("duplicate item id: " + item.id() + " is already in batch " + id);
        }
      }
      List<RecordKey> keys = requireItemTasksAbsent(id, items);
      requireItemTasksFit(json, items, core.storage().now());
      BatchRecord.addItems(json, items);
      if (state == BatchState.PENDING) {
        requireStartFits(json, core.storage().now());
      }
      Plan plan = new Plan(json);
      plan.from = state;
      plan.leadTypes.add(EventType.BATCH_ITEMS_ADDED);
      plan.leadEvents.add(core.object().put("id", id).put("items", items.size())
          .put("total", json.path(BatchRecord.TOTAL).asInt()));
      decide(plan, readTasks(json), takenTaskIds(json), Action.ADVANCE, null, core.storage().now());
      List<Expectation> expect = new ArrayList<>();
      expect.add(Expectation.revision(current.key(), current.revision()));
      keys.forEach(k -> expect.add(Expectation.absent(k)));
      Optional<Batch> b = commit(plan, expect, true);
      if (b.isPresent()) {
        return b.get();
      }
    }
  }

  /**
   * Brings a batch up to date and applies {@code action}; commits only if something changed.
   *
   * @return the batch after the step
   * @throws NotFoundException if it does not exist
   * @throws InvalidTransitionException if the action's move is not allowed from its state
   */
  Batch step(String id, Action action, String reason) {
    return step(id, action, reason, Preconditions.none());
  }

  /**
   * {@link #step(String, Action, String)} only if the preconditions hold for the batch each attempt reads (its
   * commit expects that revision, so they hold when it commits).
   *
   * @throws PreconditionFailedException if they do not, with the batch as read
   */
  Batch step(String id, Action action, String reason, Preconditions preconditions) {
    Retry backoff = core.retry("batch " + id);
    for (;; backoff.pause()) {
      StoredRecord current = read(id);
      if (preconditions.evaluate(Core.etag(current), false) != Preconditions.Outcome.PROCEED) {
        throw core.preconditionFailed(current, preconditions.toString());
      }
      ObjectNode json = core.parse(current).deepCopy();
      Plan plan = new Plan(json);
      plan.from = BatchRecord.state(json);
      decide(plan, readTasks(json), takenTaskIds(json), action, reason, core.storage().now());
      Optional<Batch> b = commit(plan, new ArrayList<>(List.of(Expectation.revision(current.key(),
          current.revision()))), !json.equals(core.parse(current)));
      if (b.isPresent()) {
        return b.get();
      }
      if (json.equals(core.parse(current))) {
        return BatchRecord.toBatch(json, Core.etag(current));
      }
    }
  }

  StoredRecord read(String id) {
    return core.storage().read(BatchRecord.key(id)).orElseThrow(() -> new NotFoundException("batch " + id));
  }

  private Map<String, StoredRecord> readTasks(JsonNode batch) {
    List<RecordKey> keys = new ArrayList<>();
    BatchRecord.inFlight(batch).forEach(t -> keys.add(RecordKeys.task(t)));
    Map<String, StoredRecord> out = new HashMap<>();
    if (!keys.isEmpty()) {
      core.storage().readAll(keys).forEach(r -> out.put(r.key().id(), r));
    }
    return out;
  }

  /**
   * Whether a task already has each task id a step may create, of the next items it could release and of the final
   * step (created by hand since the batch was: {@code create} and {@code add} refuse ids taken before). Such an item is
   * not released but counted cancelled, and such a final step not created, with a warning: expecting the task absent,
   * every step would conflict for ever and the batch would never move on. A step releases only items checked here.
   */
  private Map<String, Boolean> takenTaskIds(JsonNode batch) {
    String id = batch.path(BatchRecord.ID).asText();
    List<RecordKey> keys = new ArrayList<>();
    JsonNode pending = batch.path(BatchRecord.PENDING);
    // the items a step can release, with room for some taken ones passed over (beyond, the next step goes on)
    int next = Math.min(pending.size(), 2 * batch.path(BatchRecord.CONCURRENCY).asInt() + 16);
    for (int i = 0; i < next; i++) {
      keys.add(RecordKeys.task(Batches.itemTaskId(id, pending.get(i).path(BatchRecord.ITEM_ID).asText())));
    }
    if (BatchRecord.textOrNull(batch, BatchRecord.FINAL_STEP) != null
        && BatchRecord.textOrNull(batch, BatchRecord.FINAL_TASK) == null) {
      keys.add(RecordKeys.task(Batches.itemTaskId(id, Batches.FINAL_STEP_ID)));
    }
    Map<String, Boolean> taken = new HashMap<>();
    keys.forEach(k -> taken.put(k.id(), false));
    if (!keys.isEmpty()) {
      core.storage().readAll(keys).forEach(r -> taken.put(r.key().id(), true));
    }
    return taken;
  }

  /**
   * Decides one step on {@code plan.batch}, given the in-flight tasks as read and {@link #takenTaskIds} (null when the
   * commit creating the batch expects every item's task absent itself).
   */
  private void decide(Plan plan, Map<String, StoredRecord> tasks, Map<String, Boolean> taken, Action action,
      String reason, Instant now) {
    ObjectNode b = plan.batch;
    BatchState state = BatchRecord.state(b);
    BatchPolicy policy = BatchRecord.policy(b);
    int succeeded = b.path(BatchRecord.SUCCEEDED).asInt();
    int failed = b.path(BatchRecord.FAILED).asInt();
    int cancelled = b.path(BatchRecord.CANCELLED).asInt();
    String firstFailure = null;
    List<String> still = new ArrayList<>();
    List<StoredRecord> queued = new ArrayList<>();
    List<String> notFound = new ArrayList<>();
    List<StoredRecord> running = new ArrayList<>();
    for (String taskId : BatchRecord.inFlight(b)) {
      StoredRecord r = tasks.get(taskId);
      String status = r == null ? null : TaskRecord.status(core.parse(r));
      if (r == null) {
        // Not found: the read of the tasks is not a snapshot with the batch record's (a process sharing a file store
        // can read the batch record committed with this task before the task). Core never deletes a task, so the
        // item is counted once it is seen finished; a step decides only on what it read.
        still.add(taskId);
        notFound.add(taskId);
      } else if (workflow.done().equals(status)) {
        succeeded++;
      } else if (workflow.failed().equals(status)) {
        if (state == BatchState.ABORTED || state == BatchState.CANCELLED) {
          cancelled++;
        } else {
          failed++;
          firstFailure = firstFailure == null ? taskId : firstFailure;
        }
      } else {
        still.add(taskId);
        if (workflow.initial().equals(status)) {
          queued.add(r);
        } else {
          running.add(r);
        }
      }
    }
    if (action == Action.START) {
      state = move(plan, state, BatchState.RUNNING, "started");
    } else if (action == Action.CANCEL) {
      state = move(plan, state, BatchState.CANCELLED, reason);
    } else if (state == BatchState.RUNNING && policy.kind() == BatchPolicy.Kind.ABORT_ALL && firstFailure != null) {
      state = move(plan, state, BatchState.ABORTED, "item task " + firstFailure + " failed");
    }
    ArrayNode pending = (ArrayNode) b.get(BatchRecord.PENDING);
    if (state == BatchState.ABORTED || state == BatchState.CANCELLED) {
      cancelled += pending.size();
      pending.removeAll();
      // An item not found yet, or read running, may be queued by the time this commits (created by a commit whose
      // batch record this step read first; released, failed with a retry or reclaimed since), and nothing would
      // cancel it before a worker claims it: the commit requires it still absent or at the revision read, so that it
      // conflicts instead and the retry reads it again (queued ones are cancelled with their revision expected).
      notFound.forEach(t -> plan.pins.add(Expectation.absent(RecordKeys.task(t))));
      running.forEach(r -> plan.pins.add(Expectation.revision(r.key(), r.revision())));
      for (StoredRecord r : queued) {
        plan.tasks.add(cancelTask(r, "batch " + b.path(BatchRecord.ID).asText() + " " + state.wireName() + ": "
            + plan.stateReason, now));
        still.remove(r.key().id());
        cancelled++;
      }
      queued.clear();
    }
    int released = 0;
    if (state == BatchState.RUNNING) {
      int concurrency = b.path(BatchRecord.CONCURRENCY).asInt();
      while (still.size() < concurrency && !pending.isEmpty()) {
        String taskId = Batches.itemTaskId(b.path(BatchRecord.ID).asText(),
            pending.get(0).path(BatchRecord.ITEM_ID).asText());
        if (taken != null && !taken.containsKey(taskId)) {
          break; // not checked: the next step releases it
        }
        JsonNode item = pending.remove(0);
        if (taken != null && taken.get(taskId)) {
          LOG.warn("batch {}: item {} not released, counted cancelled: another task has its task id {}",
              b.path(BatchRecord.ID).asText(), item.path(BatchRecord.ITEM_ID).asText(), taskId);
          cancelled++;
          continue;
        }
        plan.tasks.add(newTask(taskId, item.path(BatchRecord.ITEM_TITLE).asText(),
            item.path(BatchRecord.ITEM_PAYLOAD).asText(), b.path(BatchRecord.LABEL).asText(), b, policy
                .attemptsPerItem(), now));
        still.add(taskId);
        released++;
      }
      if (pending.isEmpty() && still.isEmpty()) {
        BatchState end = failed == 0 && cancelled == 0 ? BatchState.COMPLETED
            : policy.kind() == BatchPolicy.Kind.RETRY_FAILED ? BatchState.FAILED : BatchState.COMPLETED_WITH_FAILURES;
        state = move(plan, state, end, "every item finished");
      }
    }
    String finalStep = BatchRecord.textOrNull(b, BatchRecord.FINAL_STEP);
    if (state.isTerminal() && state != BatchState.CANCELLED && still.isEmpty() && finalStep != null
        && BatchRecord.textOrNull(b, BatchRecord.FINAL_TASK) == null) {
      String batchId = b.path(BatchRecord.ID).asText();
      String taskId = Batches.itemTaskId(batchId, Batches.FINAL_STEP_ID);
      if (taken != null && Boolean.TRUE.equals(taken.get(taskId))) {
        LOG.warn("batch {}: final step not created: another task has its task id {}", batchId, taskId);
      } else {
        plan.tasks.add(newTask(taskId, "final step of batch " + batchId, batchId, finalStep, b,
            core.settings().defaultMaxAttempts(), now));
        b.put(BatchRecord.FINAL_TASK, taskId);
      }
    }
    ArrayNode inFlight = b.putArray(BatchRecord.IN_FLIGHT);
    still.forEach(inFlight::add);
    b.put(BatchRecord.QUEUED, queued.size() + released).put(BatchRecord.RUNNING, still.size() - queued.size() - released)
        .put(BatchRecord.SUCCEEDED, succeeded).put(BatchRecord.FAILED, failed).put(BatchRecord.CANCELLED, cancelled);
  }

  private BatchState move(Plan plan, BatchState from, BatchState to, String reason) {
    from.checkTransition(to);
    plan.stateReason = reason;
    plan.batch.put(BatchRecord.STATE, to.wireName());
    if (to == BatchState.ABORTED || to == BatchState.CANCELLED) {
      plan.batch.put(BatchRecord.REASON, reason);
    }
    return to;
  }

  private TaskChange newTask(String taskId, String title, String description, String label, JsonNode batch,
      int maxAttempts, Instant now) {
    NewTask spec = new NewTask(taskId, title, description, batch.path(BatchRecord.PRIORITY).asInt(), List.of(),
        List.of(), Set.of(label, Batches.LABEL_PREFIX + batch.path(BatchRecord.ID).asText()), maxAttempts);
    ObjectNode json = TaskRecord.create(core.object(), taskId, spec, workflow, maxAttempts, now);
    ObjectNode d = core.object().put("id", taskId).put("title", title).put("status", workflow.initial())
        .put("priority", spec.priority());
    d.set("dependsOn", json.get(TaskRecord.DEPENDS_ON));
    d.set("labels", json.get(TaskRecord.LABELS));
    RecordKey key = RecordKeys.task(taskId);
    return new TaskChange(key, Expectation.absent(key), core.encode(json, "task " + taskId), EventType.TASK_CREATED,
        d, null);
  }

  private TaskChange cancelTask(StoredRecord task, String reason, Instant now) {
    ObjectNode json = core.parse(task).deepCopy();
    String from = TaskRecord.status(json);
    TaskRecord.notBefore(TaskRecord.moved(json, workflow.failed(), now), null);
    // the reason as much as fits, as a failed attempt's: a task near the size limit must not make the cancel fail
    Core.Encoded encoded = TextCut.encodeFitting(core, json, TaskRecord.LAST_ERROR, reason, TaskClaims.CLAIM_ROOM,
        "task " + task.key().id());
    ObjectNode d = core.object().put("id", task.key().id()).put("oldStatus", from).put("newStatus", workflow.failed());
    return new TaskChange(task.key(), Expectation.revision(task.key(), task.revision()), encoded,
        EventType.TASK_TRANSITIONED, d, Core.etag(task).toString());
  }

  /**
   * Commits a plan, if {@code changed}; empty on conflict (or when nothing changed).
   */
  private Optional<Batch> commit(Plan plan, List<Expectation> expectations, boolean changed) {
    ObjectNode b = plan.batch;
    if (!changed) {
      return Optional.empty();
    }
    String id = b.path(BatchRecord.ID).asText();
    b.put(BatchRecord.UPDATED_AT, core.storage().now().toString());
    Core.Encoded encoded = core.encode(b, "batch " + id);
    List<Write> writes = new ArrayList<>();
    writes.add(Write.put(BatchRecord.key(id), encoded.json(), encoded.hash(), BatchRecord.entries(b, core.indexed())));
    Instant now = core.storage().now();
    List<Write> guards = new ArrayList<>();
    expectations.addAll(plan.pins);
    for (TaskChange t : plan.tasks) {
      expectations.add(t.expectation());
      writes.add(Write.put(t.key(), t.encoded().json(), t.encoded().hash(),
          readiness.entries(t.encoded().value(), now, expectations, guards)));
    }
    writes.addAll(guards);
    BatchState to = BatchRecord.state(b);
    BatchProgress p = BatchRecord.progress(b);
    String target = Batches.target(id);
    CommitResult result = core.commit(Commit.namingRevisions(expectations, writes, revisions -> {
      String etag = Core.etag(revisions.get(0), encoded.hash()).toString();
      List<NewEvent> events = new ArrayList<>();
      for (int i = 0; i < plan.leadTypes.size(); i++) {
        events.add(core.event(plan.leadTypes.get(i), target, plan.leadEvents.get(i).deepCopy().put("etag", etag)));
      }
      for (int i = 0; i < plan.tasks.size(); i++) {
        TaskChange t = plan.tasks.get(i);
        ObjectNode d = t.details().deepCopy();
        if (t.previousEtag() != null) {
          d.put("previousEtag", t.previousEtag());
        }
        d.put("etag", Core.etag(revisions.get(i + 1), t.encoded().hash()).toString());
        events.add(core.event(t.type(), RecordKeys.taskTarget(t.key().id()), d));
      }
      if (to != plan.from) {
        events.add(core.event(EventType.BATCH_STATE_CHANGED, target, core.object().put("id", id)
            .put("oldState", plan.from.wireName()).put("newState", to.wireName()).put("reason", plan.stateReason)
            .put("etag", etag)));
      }
      events.add(core.event(EventType.BATCH_PROGRESS, target, core.object().put("id", id).put("state", to.wireName())
          .put("total", p.total()).put("queued", p.queued()).put("running", p.running())
          .put("succeeded", p.succeeded()).put("failed", p.failed()).put("cancelled", p.cancelled())
          .put("percent", p.percent()).put("etag", etag)));
      return events;
    }));
    if (result instanceof CommitResult.Committed c) {
      return Optional.of(BatchRecord.toBatch(encoded.value(), Core.etag(c.revisions().get(0), encoded.hash())));
    }
    return Optional.empty();
  }
}
