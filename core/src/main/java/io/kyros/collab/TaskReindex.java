package io.kyros.collab;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.IndexEntry;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredRecord;
import io.kyros.collab.spi.Write;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gives the records of a store written before its index format ({@link TaskIndexes#VERSION}) their index entries,
 * once, when a {@link Collab} opens on a storage that keeps indexes. A marker record per workflow,
 * {@code _collab/indexes.<workflow>} ({@code {"indexVersion": <n>, "readsParkedClaims": true, "workflow": <name>}},
 * the workflow part spelled as in {@link TaskIndexes}), says which format that workflow's tasks were indexed to; if
 * it is absent or older, every task of the workflow and every held lease is rewritten unchanged with its entries, in
 * batches committed with expectations on every record rewritten (and on the dependency a waiting task is pinned to),
 * then the marker. (Held leases are rewritten with {@code expires}: a stale claim of another workflow parked in
 * {@code expires:<workflow>} goes back there, and the next claim that meets it parks it again.)
 *
 * <p>{@code readsParkedClaims} says that the workflow's Collabs read its stale claims parked by Collabs of other
 * workflows ({@link LeaseCommits#park}); those park a claim only if its workflow's marker says so, so that a store
 * whose nodes of that workflow all run a version without it keeps those claims where they look. A marker of the
 * current format without it (written by such a version) is rewritten with it when a Collab of this version opens.
 *
 * <p>Idempotent and safe with concurrent openers and writers: a batch that conflicts is redone record by record from
 * fresh reads, a record that changed since the scan was rewritten by a writer that already writes entries, and the
 * marker is committed with an expectation on what was read, so two openers both finish and agree. The rewrites
 * record no event and change the records' revisions (so their ETags), not their values. Thread-safe.
 */
final class TaskReindex {
  private static final Logger LOG = LoggerFactory.getLogger(TaskReindex.class);
  private static final String INDEX_VERSION = "indexVersion";
  private static final String WORKFLOW = "workflow";
  private static final String READS_PARKED_CLAIMS = "readsParkedClaims";
  /** Records per rewrite commit. */
  private static final int BATCH = 256;

  private final Core core;
  private final LeaseCommits leases;
  private final TaskReadiness readiness;
  private final Workflow workflow;
  private final RecordKey marker;

  TaskReindex(Core core, LeaseCommits leases, TaskReadiness readiness) {
    this.core = core;
    this.leases = leases;
    this.readiness = readiness;
    this.workflow = core.workflow();
    this.marker = marker(workflow.name());
  }

  private static RecordKey marker(String workflow) {
    return new RecordKey(RecordKeys.META, "indexes." + TaskIndexes.workflowPart(workflow));
  }

  /**
   * @param core the core
   * @param workflow a workflow's name
   * @return whether that workflow's marker says its Collabs read the stale claims others park for it
   */
  static boolean readsParkedClaims(Core core, String workflow) {
    return core.storage().read(marker(workflow)).map(r -> core.parse(r).path(READS_PARKED_CLAIMS).asBoolean())
        .orElse(false);
  }

  /** Re-indexes if the marker is absent or older than {@link TaskIndexes#VERSION}; a no-op without indexes. */
  void ensure() {
    if (!core.indexed()) {
      return;
    }
    while (true) {
      Optional<StoredRecord> current = core.storage().read(marker);
      ObjectNode read = current.map(core::parse).orElse(null);
      if (read != null && read.path(INDEX_VERSION).asInt() >= TaskIndexes.VERSION) {
        if (read.path(READS_PARKED_CLAIMS).asBoolean()) {
          return;
        }
        // written by a version that does not read parked claims: say that this one does
        ObjectNode said = read.deepCopy().put(READS_PARKED_CLAIMS, true);
        Core.Encoded encoded = core.encode(said, "index marker");
        if (core.commit(Commit.of(List.of(Expectation.revision(marker, current.get().revision())),
            List.of(Write.put(marker, encoded.json(), encoded.hash())), List.of())) instanceof CommitResult.Committed) {
          return;
        }
        continue; // another opener wrote it meanwhile: read it again
      }
      int tasks = reindexTasks();
      int held = reindexLeases(RecordKeys.TASK_LEASES) + reindexLeases(RecordKeys.LEASES);
      Core.Encoded encoded = core.encode(core.object().put(INDEX_VERSION, TaskIndexes.VERSION)
          .put(READS_PARKED_CLAIMS, true).put(WORKFLOW, workflow.name()), "index marker");
      CommitResult r = core.commit(Commit.of(
          List.of(new Expectation(marker, current.map(StoredRecord::revision).orElse(Expectation.ABSENT))),
          List.of(Write.put(marker, encoded.json(), encoded.hash())), List.of()));
      if (r instanceof CommitResult.Committed) {
        if (tasks + held > 0) {
          LOG.info("indexed {} tasks of workflow {} and {} held leases to index format {}", tasks, workflow.name(),
              held, TaskIndexes.VERSION);
        }
        return;
      }
      // another opener wrote the marker meanwhile: read it again
    }
  }

  private int reindexTasks() {
    List<StoredRecord> all = core.scan(RecordKeys.TASKS);
    Map<String, StoredRecord> byId = new HashMap<>();
    all.forEach(r -> byId.put(r.key().id(), r));
    Instant now = core.storage().now();
    List<StoredRecord> own = new ArrayList<>();
    for (StoredRecord r : all) {
      if (workflow.name().equals(TaskRecord.workflowName(core.parse(r)))) {
        own.add(r);
      }
    }
    for (int from = 0; from < own.size(); from += BATCH) {
      List<StoredRecord> batch = own.subList(from, Math.min(own.size(), from + BATCH));
      List<Expectation> expectations = new ArrayList<>();
      List<Write> writes = new ArrayList<>();
      List<Write> guards = new ArrayList<>();
      for (StoredRecord r : batch) {
        expectations.add(Expectation.revision(r.key(), r.revision()));
        writes.add(Write.put(r.key(), r.json(), r.hash(), entries(core.parse(r), now, expectations, guards,
            keys -> keys.stream().map(k -> byId.get(k.id())).filter(java.util.Objects::nonNull).toList())));
      }
      writes.addAll(guards);
      if (core.commit(Commit.of(expectations, writes, List.of())) instanceof CommitResult.Conflict) {
        batch.forEach(r -> reindexTask(r.key()));
      }
    }
    return own.size();
  }

  /** Rewrites one task from a fresh read, until it commits or the task is gone. */
  private void reindexTask(RecordKey key) {
    Retry backoff = core.retry("index of " + key);
    for (;; backoff.pause()) {
      Optional<StoredRecord> r = core.storage().read(key);
      if (r.isEmpty()) {
        return;
      }
      List<Expectation> expectations = new ArrayList<>();
      expectations.add(Expectation.revision(key, r.get().revision()));
      List<Write> writes = new ArrayList<>();
      List<Write> guards = new ArrayList<>();
      writes.add(Write.put(key, r.get().json(), r.get().hash(), entries(core.parse(r.get()), core.storage().now(),
          expectations, guards, core.storage()::readAll)));
      writes.addAll(guards);
      if (core.commit(Commit.of(expectations, writes, List.of())) instanceof CommitResult.Committed) {
        return;
      }
    }
  }

  private List<IndexEntry> entries(ObjectNode json, Instant now, List<Expectation> expectations, List<Write> guards,
      java.util.function.Function<List<RecordKey>, List<StoredRecord>> reader) {
    TaskIndexes.Placement placement = workflow.initial().equals(TaskRecord.status(json))
        ? readiness.placeQueued(json, null, workflow.done(), now, expectations, guards, reader)
        : TaskIndexes.Placement.NONE;
    return TaskIndexes.task(json, placement);
  }

  private int reindexLeases(String collection) {
    int held = 0;
    List<StoredRecord> all = core.scan(collection);
    for (int from = 0; from < all.size(); from += BATCH) {
      List<Expectation> expectations = new ArrayList<>();
      List<Write> writes = new ArrayList<>();
      for (StoredRecord r : all.subList(from, Math.min(all.size(), from + BATCH))) {
        Lease l = leases.held(r);
        if (l != null) {
          expectations.add(Expectation.revision(r.key(), r.revision()));
          writes.add(Write.put(r.key(), r.json(), r.hash(), TaskIndexes.lease(l.expiresAt())));
        }
      }
      held += writes.size();
      if (!writes.isEmpty() && core.commit(Commit.of(expectations, writes, List.of())) instanceof CommitResult.Conflict) {
        writes.forEach(w -> reindexLease(w.key()));
      }
    }
    return held;
  }

  /** Rewrites one lease record from a fresh read, until it commits, is free or gone. */
  private void reindexLease(RecordKey key) {
    Retry backoff = core.retry("index of " + key);
    for (;; backoff.pause()) {
      Optional<StoredRecord> r = core.storage().read(key);
      Lease l = r.map(leases::held).orElse(null);
      if (l == null) {
        return;
      }
      Write w = Write.put(key, r.get().json(), r.get().hash(), TaskIndexes.lease(l.expiresAt()));
      if (core.commit(Commit.of(List.of(Expectation.revision(key, r.get().revision())), List.of(w), List.of()))
          instanceof CommitResult.Committed) {
        return;
      }
    }
  }
}
