package io.kyros.collab;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.spi.IndexHit;
import io.kyros.collab.spi.IndexQuery;
import io.kyros.collab.spi.StoredRecord;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * {@link Tasks#list}: the tasks matching a {@link TaskFilter}, one page in (creation time, id) order; and
 * {@link Tasks#ready}, the claimable tasks in claim order. With statuses
 * named and a storage that keeps indexes, it reads the {@code status:<status>} indexes ({@link TaskIndexes}) from the
 * page's position, merged, page by page, so a page costs what it returns (plus the tasks skipped by a label or
 * assignee condition) whatever the number of tasks in other statuses; otherwise it reads every task. Thread-safe
 * (stateless apart from the shared {@link Core}).
 */
final class TaskBoard {
  private static final Comparator<Task> ORDER = Comparator.comparing(Task::createdAt).thenComparing(Task::id);
  /** The order in which claims take tasks: highest priority first, then oldest, then smallest id. */
  private static final Comparator<Task> CLAIM_ORDER = Comparator.comparingInt(Task::priority).reversed()
      .thenComparing(Task::createdAt).thenComparing(Task::id);

  private final Core core;
  private final TaskCommits commits;

  TaskBoard(Core core, TaskCommits commits) {
    this.core = core;
    this.commits = commits;
  }

  /** See {@link Tasks#list}; the filter is checked. */
  List<Task> list(TaskFilter filter) {
    Task after = filter.after() == null ? null : commits.toTask(commits.readTask(filter.after()));
    if (core.indexed() && !filter.statuses().isEmpty()) {
      return throughIndexes(filter, after);
    }
    List<Task> out = new ArrayList<>();
    for (StoredRecord r : core.scan(RecordKeys.TASKS)) {
      Task t = commits.toTask(r);
      if (filter.matches(t) && (after == null || ORDER.compare(t, after) > 0)) {
        out.add(t);
      }
    }
    out.sort(ORDER);
    return out.size() > filter.limit() ? List.copyOf(out.subList(0, filter.limit())) : out;
  }

  private List<Task> throughIndexes(TaskFilter filter, Task after) {
    int page = (int) Math.min(Core.PAGE, filter.limit() + 1L);
    PriorityQueue<Cursor> heads = new PriorityQueue<>(
        Comparator.comparing((Cursor c) -> c.head().key()).thenComparing(c -> c.head().record().key().id()));
    for (String status : filter.statuses()) {
      IndexQuery q = IndexQuery.first(RecordKeys.TASKS, TaskIndexes.status(status), page);
      if (after != null) {
        q = new IndexQuery(q.collection(), q.index(), TaskIndexes.timeKey(after.createdAt()), after.id(),
            IndexQuery.UNBOUNDED, page);
      }
      Cursor c = new Cursor(q);
      if (c.head() != null) {
        heads.add(c);
      }
    }
    List<Task> out = new ArrayList<>();
    while (out.size() < filter.limit() && !heads.isEmpty()) {
      Cursor c = heads.poll();
      Task t = commits.toTask(c.head().record());
      if (filter.matches(t)) {
        out.add(t);
      }
      if (c.advance()) {
        heads.add(c);
      }
    }
    return out;
  }

  /** See {@link Tasks#ready}; the arguments are checked. */
  List<Task> ready(Set<String> labels, int limit) {
    Workflow workflow = core.workflow();
    Instant now = core.storage().now();
    Map<String, StoredRecord> found = new HashMap<>();
    Map<String, String> statuses = null; // the generic path's: every task's status, for its dependencies
    if (core.indexed()) {
      List<IndexQuery> queries = new ArrayList<>();
      IndexQuery due = commits.readiness().dueBy(now);
      queries.add(due);
      if (labels.isEmpty()) {
        queries.add(IndexQuery.first(RecordKeys.TASKS, TaskIndexes.ready(workflow.name()), limit));
      } else {
        for (String label : labels) {
          queries.add(IndexQuery.first(RecordKeys.TASKS, TaskIndexes.readyWithLabel(workflow.name(), label), limit));
        }
      }
      List<List<IndexHit>> results = core.storage().scanIndexes(queries);
      // the due backoffs that a claim would promote first: usually none; all of them if there are more than a page
      List<IndexHit> dueHits = results.get(0).size() < due.limit() ? results.get(0) : core.scanAll(due);
      dueHits.forEach(h -> found.put(h.record().key().id(), h.record()));
      results.subList(1, results.size()).forEach(r -> r.forEach(h -> found.put(h.record().key().id(), h.record())));
    } else {
      statuses = new HashMap<>();
      for (StoredRecord r : core.scan(RecordKeys.TASKS)) {
        found.put(r.key().id(), r);
        statuses.put(r.key().id(), TaskRecord.status(core.parse(r)));
      }
    }
    List<Task> out = new ArrayList<>();
    for (StoredRecord r : found.values()) {
      ObjectNode json = core.parse(r);
      if (!commits.ownWorkflow(json) || !workflow.initial().equals(TaskRecord.status(json))) {
        continue;
      }
      Task t = commits.toTask(r);
      if ((t.notBefore() != null && t.notBefore().isAfter(now))
          || (!labels.isEmpty() && t.labels().stream().noneMatch(labels::contains))) {
        continue;
      }
      // through the indexes a ready or delayed entry means every dependency is done; otherwise check
      if (statuses != null) {
        Map<String, String> known = statuses;
        if (!t.dependsOn().stream().allMatch(d -> workflow.done().equals(known.get(d)))) {
          continue;
        }
      }
      out.add(t);
    }
    out.sort(CLAIM_ORDER);
    return out.size() > limit ? List.copyOf(out.subList(0, limit)) : out;
  }

  /** One status index read page by page. */
  private final class Cursor {
    private IndexQuery query;
    private List<IndexHit> hits;
    private int at;

    Cursor(IndexQuery query) {
      this.query = query;
      this.hits = core.storage().scanIndex(query);
    }

    IndexHit head() {
      return at < hits.size() ? hits.get(at) : null;
    }

    /** @return whether there is a next hit */
    boolean advance() {
      at++;
      if (at < hits.size()) {
        return true;
      }
      if (hits.size() < query.limit()) {
        return false;
      }
      query = query.after(hits.get(hits.size() - 1));
      hits = core.storage().scanIndex(query);
      at = 0;
      return !hits.isEmpty();
    }
  }
}
