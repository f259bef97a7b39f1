package io.kyros.collab;

import io.kyros.collab.spi.IndexHit;
import io.kyros.collab.spi.IndexQuery;
import io.kyros.collab.spi.StoredRecord;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;

/**
 * {@link Tasks#list}: the tasks matching a {@link TaskFilter}, one page in (creation time, id) order. With statuses
 * named and a storage that keeps indexes, it reads the {@code status:<status>} indexes ({@link TaskIndexes}) from the
 * page's position, merged, page by page, so a page costs what it returns (plus the tasks skipped by a label or
 * assignee condition) whatever the number of tasks in other statuses; otherwise it reads every task. Thread-safe
 * (stateless apart from the shared {@link Core}).
 */
final class TaskBoard {
  private static final Comparator<Task> ORDER = Comparator.comparing(Task::createdAt).thenComparing(Task::id);

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
