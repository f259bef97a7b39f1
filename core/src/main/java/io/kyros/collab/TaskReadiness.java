package io.kyros.collab;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.IndexEntry;
import io.kyros.collab.spi.IndexHit;
import io.kyros.collab.spi.IndexQuery;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
 * writes: W's reads D's status, D's scans the tasks waiting on D. W's commit pins D's revision, so it fails if D's
 * commit landed first. The other order (W placed after D's scan, before D's commit) would leave W waiting for ever
 * on a done D; instead of making D's commit fail then (a steady stream of new waiters would starve D's completion),
 * D's commit leaves a marker and a sweep after it moves such stragglers:
 * <pre>
 * commit placing W on D                         commit moving D to done
 *   expects D's revision as read (D not done)     rewrites the waiters its scan of waits found
 *   writes the guard of (D, done)                 writes that record with index entry sweep (the marker)
 *                                               then {@link #sweep}: moves what still waits on D, deletes the marker
 * </pre>
 * Once D's commit has landed, no commit can place a task on D (its pin on D fails, and a retry sees D done), so the
 * sweep, which scans after that commit, finds every straggler and ends. A crash before the sweep ends leaves the
 * marker, and the next claim of any instance runs the sweep ({@link #pendingSweeps}). Guard and marker are one
 * record per task and done status waited for ({@link RecordKeys#waiters}): a task of a workflow with another done
 * status may still be placed on D after D is done in its own workflow, and must not overwrite D's marker. The guard
 * is written by every commit that makes a task wait, so a task nobody ever waited on has none: a completion whose scan
 * finds no waiter and no guard expects the guard absent instead of writing the marker (a guard written meanwhile
 * makes it conflict, and the retry writes the marker); so a completion of a task nobody waits on writes nothing more
 * than the task and its lease. On a first attempt from records this instance remembers
 * ({@link RecordSource#REMEMBERED}) a completion does not even scan ({@link Waiters#NONE_ASSUMED}): it expects the
 * guard absent, which for a task not yet done holds exactly when no task was placed to wait on it (in a store of
 * index version 2, {@link TaskIndexes#VERSION}: older ones are re-indexed, which writes the guards); if the guard
 * exists, the commit conflicts on it and the completion is built again from the same records with a scan
 * ({@link Waiters#SCAN_GUARDED}).
 * A dependency seen done is not pinned: the done status is terminal and tasks are never deleted, so it stays done.
 * Thread-safe (stateless apart from the shared {@link Core}).
 */
final class TaskReadiness {
  private static final Logger LOG = LoggerFactory.getLogger(Tasks.class);
  /** How many due tasks one promotion commit moves to {@code ready}. */
  private static final int PROMOTE_BATCH = 64;
  /** How many conflicting promotion commits one {@link #promoteDue} call tolerates before it leaves the rest. */
  private static final int PROMOTE_CONFLICTS = 4;

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
          addGuard(d, done, guards);
          return TaskIndexes.Placement.waiting(d, done);
        }
      }
    }
    return TaskRecord.claimableAt(json, now) ? TaskIndexes.Placement.READY : TaskIndexes.Placement.DELAYED;
  }

  /** How a completion learns about the tasks waiting on the completed one. */
  enum Waiters {
    /**
     * Assumed none, without a scan: the guard is expected absent. Every commit that places a task to wait writes its
     * dependency's guard, so a task with a waiter has one, and the commit then conflicts on it (then
     * {@link #SCAN_GUARDED}). What a first attempt from remembered records does: a completion of a task nobody
     * waits on costs no read at all.
     */
    NONE_ASSUMED,
    /** Scanned through {@code waits}; with none found, the guard is read to decide. */
    SCAN,
    /** Scanned, the guard known to exist (a commit that assumed none conflicted on it): the marker is written. */
    SCAN_GUARDED
  }

  /**
   * Adds to a commit that moves task {@code id} into the status {@code done} the rewrites of the tasks waiting on it
   * (whatever their workflow, as long as {@code done} is its done status) and the expectations they need; and either
   * the expectation that {@code id} has no guard or the sweep marker (see the class comment).
   *
   * @param waiters whether to assume none, without a scan, or scan them
   * @return whether the commit carries the sweep marker: once it has committed, the caller runs {@link #sweep}
   */
  boolean unblock(String id, String done, Instant now, Waiters waiters, List<Expectation> expectations,
      List<Write> writes) {
    if (!core.indexed()) {
      return false;
    }
    RecordKey guard = RecordKeys.waiters(id, done);
    if (waiters == Waiters.NONE_ASSUMED) {
      expectations.add(Expectation.absent(guard));
      return false;
    }
    List<IndexHit> waiting = waitingOn(id, done);
    // no waiter found and no guard: nobody ever waited (a placement after the scan writes the guard, so this
    // commit then conflicts)
    if (waiting.isEmpty() && waiters == Waiters.SCAN && core.storage().read(guard).isEmpty()) {
      expectations.add(Expectation.absent(guard));
      return false;
    }
    List<Write> guards = new ArrayList<>();
    for (IndexHit h : waiting) {
      writes.add(rewriteWaiter(h.record(), id, done, now, expectations, guards));
    }
    writes.addAll(guards);
    writes.add(waiterRecord(id, done, List.of(new IndexEntry(TaskIndexes.SWEEP, TaskIndexes.sweepKey(id)))));
    return true;
  }

  /**
   * The rewrite of task {@code w}, waiting on {@code id}, now that {@code id} is done: its placement on its next
   * dependency not done (that dependency's guard added to {@code guards}), or ready; the expectations added.
   */
  private Write rewriteWaiter(StoredRecord w, String id, String done, Instant now, List<Expectation> expectations,
      List<Write> guards) {
    ObjectNode json = core.parse(w);
    expectations.add(Expectation.revision(w.key(), w.revision()));
    TaskIndexes.Placement placement = placeQueued(json, id, done, now, expectations, guards, core.storage()::readAll);
    return Write.put(w.key(), w.json(), w.hash(), TaskIndexes.task(json, placement));
  }

  /** The record of task {@code id} and the done status waited for: the guard (no entry) or the sweep marker. */
  private Write waiterRecord(String id, String done, List<IndexEntry> entries) {
    Core.Encoded encoded = core.encode(core.object().put("task", id).put("done", done), "waiters of task " + id);
    return Write.put(RecordKeys.waiters(id, done), encoded.json(), encoded.hash(), entries);
  }

  /**
   * Moves every task still waiting on the done task {@code id} (placed after its completion's scan, before its
   * commit) to its next dependency not done, or to ready, each in a commit of its own; then deletes the sweep
   * marker. Ends: no task can be placed on a done task. Retries conflicts until the update timeout.
   *
   * @param id the done task
   * @param done its done status (the waiters' key)
   * @throws UpdateConflictException if it cannot finish before the update timeout (the marker stays for later)
   */
  void sweep(String id, String done) {
    RecordKey marker = RecordKeys.waiters(id, done);
    Retry backoff = core.retry("waiters of task " + id);
    for (;; backoff.pause()) {
      boolean conflict = false;
      for (IndexHit h : waitingOn(id, done)) {
        List<Expectation> expectations = new ArrayList<>();
        List<Write> guards = new ArrayList<>();
        List<Write> writes = new ArrayList<>();
        writes.add(rewriteWaiter(h.record(), id, done, core.storage().now(), expectations, guards));
        writes.addAll(guards);
        conflict |= core.commit(Commit.of(expectations, writes, List.of())) instanceof CommitResult.Conflict;
      }
      if (conflict) {
        continue; // one of them changed meanwhile: scan again
      }
      Optional<StoredRecord> m = core.storage().read(marker);
      if (m.isEmpty() || core.commit(Commit.of(List.of(Expectation.revision(marker, m.get().revision())),
          List.of(Write.delete(marker)), List.of())) instanceof CommitResult.Committed) {
        return;
      }
    }
  }

  /**
   * Runs the sweeps a completion left unfinished (a crash, a timeout), found through the markers' {@code sweep}
   * index: each is logged and left for a later claim if it fails again.
   *
   * @param markers hits of {@link #pendingSweepsQuery}
   */
  void pendingSweeps(List<IndexHit> markers) {
    for (IndexHit h : markers) {
      ObjectNode m = core.parse(h.record());
      sweepOrLeave(m.path("task").asText(), m.path("done").asText());
    }
  }

  /**
   * {@link #sweep}, for callers whose own work has committed already: a failure is logged, and the marker stays, so
   * a later claim runs the sweep again ({@link #pendingSweeps}).
   *
   * @param id the done task
   * @param done its done status
   */
  void sweepOrLeave(String id, String done) {
    try {
      sweep(id, done);
    } catch (RuntimeException e) {
      LOG.warn("cannot finish moving the tasks still waiting on {} (the marker stays; a later claim tries again): {}",
          id, e.toString());
    }
  }

  /** @return the query of a few pending sweep markers, read with a claim's other index pages */
  static IndexQuery pendingSweepsQuery() {
    return IndexQuery.first(RecordKeys.TASK_WAITERS, TaskIndexes.SWEEP, 16);
  }

  private List<IndexHit> waitingOn(String id, String done) {
    return core.scanAll(TaskIndexes.exactly(RecordKeys.TASKS, TaskIndexes.WAITS, TaskIndexes.waitsKey(id, done),
        Core.PAGE));
  }

  /** Adds the guard write of {@code dependency} for {@code done} to {@code guards}, unless one is there. */
  private void addGuard(String dependency, String done, List<Write> guards) {
    RecordKey key = RecordKeys.waiters(dependency, done);
    for (Write w : guards) {
      if (w.key().equals(key)) {
        return;
      }
    }
    guards.add(waiterRecord(dependency, done, List.of()));
  }

  /**
   * Moves this workflow's tasks whose backoff has passed at {@code now} from {@code delayed} to {@code ready}, a
   * batch per commit (which records no event), until none is left: a claim must see every due task in {@code ready},
   * since the best of them (by priority) may be the last to become due. A conflict (someone changed one of a batch
   * meanwhile, likely another process promoting it) reads the batch again; after {@value #PROMOTE_CONFLICTS} of
   * them the rest is left for the next claim.
   */
  void promoteDue(Instant now) {
    if (!core.indexed()) {
      return;
    }
    for (int conflicts = 0; conflicts < PROMOTE_CONFLICTS; ) {
      List<IndexHit> due = core.storage().scanIndex(dueBy(now));
      if (!promote(due)) {
        conflicts++;
      } else if (due.size() < PROMOTE_BATCH) {
        return;
      }
    }
  }

  /** @return the query for one batch of this workflow's tasks whose backoff has passed at {@code now} */
  IndexQuery dueBy(Instant now) {
    return IndexQuery.first(RecordKeys.TASKS, TaskIndexes.delayed(workflow.name()),
        PROMOTE_BATCH).until(TaskIndexes.timeKey(now));
  }

  /**
   * Moves tasks found by {@link #dueBy} from {@code delayed} to {@code ready}, in one commit without events.
   *
   * @return false if the commit met a conflict (someone changed one of them meanwhile), so none moved
   */
  boolean promote(List<IndexHit> due) {
    if (due.isEmpty()) {
      return true;
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
    return core.commit(Commit.of(expectations, writes, List.of())) instanceof CommitResult.Committed;
  }
}
