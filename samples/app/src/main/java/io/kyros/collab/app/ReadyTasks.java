package io.kyros.collab.app;

import io.kyros.collab.Task;
import io.kyros.collab.TaskFilter;
import io.kyros.collab.Tasks;
import io.kyros.collab.Workflow;
import java.time.Instant;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The tasks claimable now, in the order {@link Tasks#claimNext} takes them: in the workflow's
 * initial status, every dependency done, retry backoff ({@code not_before}) passed, carrying one of
 * the labels asked for (any task if none); highest priority first, then oldest, then smallest id.
 * A snapshot: another worker may claim one of them the next moment.
 *
 * <p>Stateless and thread-safe.
 */
final class ReadyTasks {
  private static final Comparator<Task> BEST_FIRST = Comparator.comparingInt(Task::priority).reversed()
      .thenComparing(Task::createdAt).thenComparing(Task::id);

  private ReadyTasks() {}

  /**
   * @param tasks the tasks service
   * @param now the storage's current time
   * @param labels labels of which a task must carry one, empty for any
   * @return the claimable tasks, best first
   */
  static List<Task> of(Tasks tasks, Instant now, Set<String> labels) {
    Workflow workflow = tasks.workflow();
    List<Task> all = tasks.list(TaskFilter.all());
    Map<String, String> status = new HashMap<>();
    all.forEach(t -> status.put(t.id(), t.status()));
    return all.stream()
        .filter(t -> t.status().equals(workflow.initial()))
        .filter(t -> t.notBefore() == null || !t.notBefore().isAfter(now))
        .filter(t -> t.dependsOn().stream().allMatch(d -> workflow.done().equals(status.get(d))))
        .filter(t -> labels.isEmpty() || !Collections.disjoint(labels, t.labels()))
        .sorted(BEST_FIRST)
        .toList();
  }

  /**
   * Why a task is not claimable now, for an agent that asked for it by id.
   *
   * @param tasks the tasks service
   * @param task the task
   * @param now the storage's current time
   * @return a sentence
   */
  static String whyNot(Tasks tasks, Task task, Instant now) {
    Workflow workflow = tasks.workflow();
    if (!task.status().equals(workflow.initial())) {
      return "task " + task.id() + " is " + task.status()
          + (task.assignee() == null ? "" : ", claimed by " + task.assignee());
    }
    if (task.notBefore() != null && task.notBefore().isAfter(now)) {
      return "task " + task.id() + " is waiting for its retry backoff until " + task.notBefore();
    }
    StringBuilder pending = new StringBuilder();
    for (String d : task.dependsOn()) {
      String s = tasks.get(d).map(Task::status).orElse("missing");
      if (!workflow.done().equals(s)) {
        pending.append(pending.length() == 0 ? "" : ", ").append(d).append(" (").append(s).append(')');
      }
    }
    if (pending.length() > 0) {
      return "task " + task.id() + " waits for its dependencies " + pending;
    }
    return "another agent claimed task " + task.id() + " first";
  }
}
