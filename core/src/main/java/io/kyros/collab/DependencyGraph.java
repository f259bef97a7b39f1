package io.kyros.collab;

import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.StoredRecord;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The graph of task dependencies, as the task records store it: checks that a change of a task's dependencies
 * names existing tasks and creates no cycle, and pins every task it walked so the check holds at commit time.
 * Thread-safe (stateless apart from the shared {@link Core}).
 */
final class DependencyGraph {
  private final Core core;

  DependencyGraph(Core core) {
    this.core = core;
  }

  /**
   * Walks the dependency graph from {@code deps}, the new dependencies of task {@code id}.
   *
   * @return expectations pinning every task visited
   * @throws DependencyException if a task visited depends on a missing task, or the walk comes back to {@code id}
   */
  List<Expectation> checkNoCycle(String id, List<String> deps) {
    List<Expectation> pinned = new ArrayList<>();
    Map<String, String> parent = new HashMap<>();
    Deque<String> todo = new ArrayDeque<>();
    for (String d : deps) {
      if (d.equals(id)) {
        throw new DependencyException("task " + id + " cannot depend on itself");
      }
      if (parent.putIfAbsent(d, id) == null) {
        todo.add(d);
      }
    }
    while (!todo.isEmpty()) {
      String t = todo.poll();
      StoredRecord r = core.storage().read(RecordKeys.task(t)).orElseThrow(() -> new DependencyException(
          parent.get(t).equals(id) ? "task " + id + " depends on missing task " + t
              : "task " + parent.get(t) + " depends on missing task " + t));
      pinned.add(Expectation.revision(r.key(), r.revision()));
      for (String next : TaskRecord.dependsOn(core.parse(r))) {
        if (next.equals(id)) {
          List<String> path = new ArrayList<>();
          for (String p = t; !p.equals(id); p = parent.get(p)) {
            path.add(0, p);
          }
          throw new DependencyException("dependency cycle: " + id + " -> " + String.join(" -> ", path) + " -> " + id);
        }
        if (!parent.containsKey(next)) {
          parent.put(next, t);
          todo.add(next);
        }
      }
    }
    return pinned;
  }
}
