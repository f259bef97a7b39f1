package io.kyros.collab.app;

import io.kyros.collab.Task;
import io.kyros.collab.Tasks;
import io.kyros.collab.Workflow;
import java.time.Instant;

/**
 * Why a task is not claimable now, for an agent that asked for it by id (the claimable tasks themselves come from
 * {@link Tasks#ready}, in claim order).
 *
 * <p>Stateless and thread-safe.
 */
final class WhyNotClaimable {
  private WhyNotClaimable() {}

  /**
   * @param tasks the tasks service
   * @param task the task
   * @param now the storage's current time
   * @return a sentence
   */
  static String of(Tasks tasks, Task task, Instant now) {
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
