package io.kyros.collab;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.IndexEntry;
import io.kyros.collab.spi.IndexHit;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredRecord;
import io.kyros.collab.spi.Write;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Keeps the claim indexes ({@link TaskIndexes}) true in the commits that change tasks, when the storage keeps
 * indexes ({@link Core#indexed()}; otherwise every method here adds nothing):
 * <ul>
 *   <li>{@link #entries}: the entries of a task this instance writes. A task in its workflow's initial status
 *       whose dependencies are all done is {@code ready}, or {@code delayed} until its {@code notBefore}; one
 *       with a dependency not done {@code waits} on the first such dependency, whose revision the commit
 *       expects, so that the dependency cannot reach done unseen between the read and the commit.</li>
 *   <li>{@link #unblock}: the commit that moves a task into a done status rewrites the tasks waiting on it (found
 *       through {@code waits}) in the same commit: each now waits on its next dependency not done, or is ready
 *       (or delayed). The waiting tasks' values do not change, only their revisions and entries; the commit
 *       records no event for them.</li>
 *   <li>{@link #promoteDue}: tasks whose backoff has passed move from {@code delayed} to {@code ready}, in one
 *       commit without events, before a claim looks at {@code ready}; so backing-off tasks cost a claim nothing
 *       while they wait, and each is promoted once.</li>
 * </ul>
 * A dependency seen done is not pinned: the done status is terminal and tasks are never deleted, so it stays done.
 * Thread-safe (stateless apart from the shared {@link Core}).
 */
final class TaskReadiness {
  /** How many due tasks one promotion commit moves to {@code ready}. */
  private static final int PROMOTE_BATCH = 64;

  private final Core core;
  private final Workflow workflow;

  TaskReadiness(Core core) {
    this.core = core;
    this.workflow = core.workflow();
  }

  /**
   * The entries of a task of this instance's workflow about to be written as {@code json}; adds to
   * {@code expectations} the pin on a dependency it waits for.
   *
   * @param now the storage time the change is decided at (backoff passed or not)
   */
  List<IndexEntry> entries(ObjectNode json, Instant now, List<Expectation> expectations) {
    if (!core.indexed()) {
      return List.of();
    }
    TaskIndexes.Placement placement;
    if (!workflow.initial().equals(TaskRecord.status(json))) {
      placement = TaskIndexes.Placement.NONE;
    } else {
      placement = placeQueued(json, null, workflow.done(), now, expectations, core.storage()::readAll);
    }
    return TaskIndexes.task(json, placement);
  }

  /**
   * Where a task in its initial status stands: waiting on its first dependency not in {@code done} (pinned), else
   * delayed or ready by its backoff.
   *
   * @param doneAlready a dependency known to be done in the commit being built, not read; or null
   * @param reader reads the dependencies' records (the storage, or a snapshot of it)
   */
  TaskIndexes.Placement placeQueued(ObjectNode json, String doneAlready, String done, Instant now,
      List<Expectation> expectations, Function<List<RecordKey>, List<StoredRecord>> reader) {
    List<String> deps = TaskRecord.dependsOn(json);
    if (!deps.isEmpty()) {
      List<RecordKey> keys = new ArrayList<>(deps.size());
      for (String d : deps) {
        if (!d.equals(doneAlready)) {
          keys.add(RecordKeys.task(d));
        }
      }
      Map<String, StoredRecord> read = new HashMap<>();
      reader.apply(keys).forEach(r -> read.put(r.key().id(), r));
      for (String d : deps) {
        if (d.equals(doneAlready)) {
          continue;
        }
        StoredRecord r = read.get(d);
        if (r == null || !done.equals(TaskRecord.status(core.parse(r)))) {
          expectations.add(r == null ? Expectation.absent(RecordKeys.task(d))
              : Expectation.revision(r.key(), r.revision()));
          return TaskIndexes.Placement.waiting(d, done);
        }
      }
    }
    return TaskRecord.claimableAt(json, now) ? TaskIndexes.Placement.READY : TaskIndexes.Placement.DELAYED;
  }

  /**
   * Adds to a commit that moves task {@code id} into the status {@code done} the rewrites of the tasks waiting on it
   * (whatever their workflow, as long as {@code done} is its done status) and the expectations they need.
   */
  void unblock(String id, String done, Instant now, List<Expectation> expectations, List<Write> writes) {
    if (!core.indexed()) {
      return;
    }
    for (IndexHit h : core.scanAll(TaskIndexes.exactly(RecordKeys.TASKS, TaskIndexes.WAITS,
        TaskIndexes.waitsKey(id, done), Core.PAGE))) {
      StoredRecord waiting = h.record();
      ObjectNode json = core.parse(waiting);
      expectations.add(Expectation.revision(waiting.key(), waiting.revision()));
      TaskIndexes.Placement placement = placeQueued(json, id, done, now, expectations, core.storage()::readAll);
      writes.add(Write.put(waiting.key(), waiting.json(), waiting.hash(), TaskIndexes.task(json, placement)));
    }
  }

  /**
   * Moves this workflow's tasks whose backoff has passed at {@code now} from {@code delayed} to {@code ready}, up
   * to one batch, in one commit that records no event. A conflict (someone changed one of them meanwhile) leaves
   * them for the next claim.
   */
  void promoteDue(Instant now) {
    if (!core.indexed()) {
      return;
    }
    List<IndexHit> due = core.storage().scanIndex(io.kyros.collab.spi.IndexQuery.first(RecordKeys.TASKS,
        TaskIndexes.delayed(workflow.name()), PROMOTE_BATCH).until(TaskIndexes.timeKey(now)));
    if (due.isEmpty()) {
      return;
    }
    List<Expectation> expectations = new ArrayList<>(due.size());
    List<Write> writes = new ArrayList<>(due.size());
    for (IndexHit h : due) {
      StoredRecord r = h.record();
      ObjectNode json = core.parse(r);
      expectations.add(Expectation.revision(r.key(), r.revision()));
      // delayed implies its dependencies were done, and done is terminal
      writes.add(Write.put(r.key(), r.json(), r.hash(), TaskIndexes.task(json, TaskIndexes.Placement.READY)));
    }
    core.commit(Commit.of(expectations, writes, List.of()));
  }
}
