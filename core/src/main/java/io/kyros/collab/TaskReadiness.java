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
import java.util.Optional;
import java.util.function.Function;

/**
 * Keeps the claim indexes ({@link TaskIndexes}) true in the commits that change tasks, when the storage keeps
 * indexes ({@link Core#indexed()}; otherwise every method here adds nothing):
 * <ul>
 *   <li>{@link #entries}: the entries of a task this instance writes. A task in its workflow's initial status
 *       whose dependencies are all done is {@code ready}, or {@code delayed} until its {@code notBefore}; one
 *       with a dependency not done {@code waits} on the first such dependency.</li>
 *   <li>{@link #unblock}: the commit that moves a task into a done status rewrites the tasks waiting on it (found
 *       through {@code waits}) in the same commit: each now waits on its next dependency not done, or is ready
 *       (or delayed). The waiting tasks' values do not change, only their revisions and entries; the commit
 *       records no event for them.</li>
 *   <li>{@link #promoteDue}: tasks whose backoff has passed move from {@code delayed} to {@code ready}, in one
 *       commit without events, before a claim looks at {@code ready}; so backing-off tasks cost a claim nothing
 *       while they wait, and each is promoted once.</li>
 * </ul>
 *
 * <p>A task W placed to wait on a dependency D and D reaching done are two commits that read what the other
 * writes: W's reads D's status, D's scans the tasks waiting on D. Each must fail if the other committed after its
 * read, or W could wait for ever on a D that is done (the commit completing D scanned before W waited):
 * <pre>
 * commit placing W on D                         commit moving D to done
 *   expects D's revision as read (D not done)     expects _task-waiters/D as read (before its scan of waits)
 *   writes _task-waiters/D (the guard of D)       deletes _task-waiters/D if present
 * </pre>
 * If D's commit lands first, W's expectation on D fails; if W's lands first, it changed the guard D's commit
 * expects; either way the later one retries on fresh reads. The guard is written only by commits that make a task
 * wait; a task that nobody waits on never has one, and its completion expects the guard absent without reading it
 * when the completion starts from records this instance remembers ({@link RecordSource#REMEMBERED}).
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
   * {@code expectations} the pin on a dependency it waits for, and to {@code guards} that dependency's guard.
   *
   * @param now the storage time the change is decided at (backoff passed or not)
   * @param guards the guard writes of the commit, which the caller adds to it (a key at most once)
   */
  List<IndexEntry> entries(ObjectNode json, Instant now, List<Expectation> expectations, List<Write> guards) {
    if (!core.indexed()) {
      return List.of();
    }
    TaskIndexes.Placement placement;
    if (!workflow.initial().equals(TaskRecord.status(json))) {
      placement = TaskIndexes.Placement.NONE;
    } else {
      placement = placeQueued(json, null, workflow.done(), now, expectations, guards, core.storage()::readAll);
    }
    return TaskIndexes.task(json, placement);
  }

  /**
   * Where a task in its initial status stands: waiting on its first dependency not in {@code done} (pinned, its
   * guard written), else delayed or ready by its backoff.
   *
   * @param doneAlready a dependency known to be done in the commit being built, not read; or null
   * @param guards receives the guard write of the dependency waited on, unless it holds one for that key already
   * @param reader reads the dependencies' records (the storage, or a snapshot of it)
   */
  TaskIndexes.Placement placeQueued(ObjectNode json, String doneAlready, String done, Instant now,
      List<Expectation> expectations, List<Write> guards, Function<List<RecordKey>, List<StoredRecord>> reader) {
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
          addGuard(d, guards);
          return TaskIndexes.Placement.waiting(d, done);
        }
      }
    }
    return TaskRecord.claimableAt(json, now) ? TaskIndexes.Placement.READY : TaskIndexes.Placement.DELAYED;
  }

  /**
   * Adds to a commit that moves task {@code id} into the status {@code done} the rewrites of the tasks waiting on it
   * (whatever their workflow, as long as {@code done} is its done status), the expectations they need, and the
   * expectation (and removal) of {@code id}'s guard.
   *
   * @param source {@link RecordSource#REMEMBERED} on a first attempt from remembered records: then a task found with
   *     no waiters is expected to have no guard, unread (a stale guard makes the attempt conflict, and the retry,
   *     from {@link RecordSource#READ}, reads it)
   */
  void unblock(String id, String done, Instant now, RecordSource source, List<Expectation> expectations,
      List<Write> writes) {
    if (!core.indexed()) {
      return;
    }
    RecordKey guardKey = RecordKeys.waiters(id);
    List<IndexHit> waiting = null;
    if (source == RecordSource.REMEMBERED) {
      waiting = waitingOn(id, done);
      if (waiting.isEmpty()) {
        expectations.add(Expectation.absent(guardKey));
        return;
      }
    }
    // the guard is read before the scan: a task placed on id after the read changes it, failing this commit
    Optional<StoredRecord> guard = core.storage().read(guardKey);
    if (guard.isPresent()) {
      expectations.add(Expectation.revision(guardKey, guard.get().revision()));
      writes.add(Write.delete(guardKey));
    } else {
      expectations.add(Expectation.absent(guardKey));
    }
    if (waiting == null || guard.isPresent()) {
      waiting = waitingOn(id, done);
    }
    List<Write> guards = new ArrayList<>();
    for (IndexHit h : waiting) {
      StoredRecord w = h.record();
      ObjectNode json = core.parse(w);
      expectations.add(Expectation.revision(w.key(), w.revision()));
      TaskIndexes.Placement placement = placeQueued(json, id, done, now, expectations, guards,
          core.storage()::readAll);
      writes.add(Write.put(w.key(), w.json(), w.hash(), TaskIndexes.task(json, placement)));
    }
    writes.addAll(guards);
  }

  private List<IndexHit> waitingOn(String id, String done) {
    return core.scanAll(TaskIndexes.exactly(RecordKeys.TASKS, TaskIndexes.WAITS, TaskIndexes.waitsKey(id, done),
        Core.PAGE));
  }

  /** Adds the guard write of {@code dependency} to {@code guards}, unless one is there. */
  private void addGuard(String dependency, List<Write> guards) {
    RecordKey key = RecordKeys.waiters(dependency);
    for (Write w : guards) {
      if (w.key().equals(key)) {
        return;
      }
    }
    Core.Encoded encoded = core.encode(core.object().put("task", dependency), "guard of task " + dependency);
    guards.add(Write.put(key, encoded.json(), encoded.hash()));
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
    promote(core.storage().scanIndex(dueBy(now)));
  }

  /** @return the query for one batch of this workflow's tasks whose backoff has passed at {@code now} */
  io.kyros.collab.spi.IndexQuery dueBy(Instant now) {
    return io.kyros.collab.spi.IndexQuery.first(RecordKeys.TASKS, TaskIndexes.delayed(workflow.name()),
        PROMOTE_BATCH).until(TaskIndexes.timeKey(now));
  }

  /**
   * Moves tasks found by {@link #dueBy} from {@code delayed} to {@code ready}, in one commit without events; a
   * conflict leaves them for the next claim.
   */
  void promote(List<IndexHit> due) {
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
