package io.kyros.collab;

import java.util.Objects;
import java.util.Set;

/**
 * Selects tasks for {@link Tasks#list(TaskFilter)}: by status, by label (a task matches if it has
 * any of them), by assignee. Empty sets and a null assignee match everything.
 *
 * <p>Immutable and thread-safe.
 *
 * @param statuses statuses to keep, empty for all
 * @param labels keep tasks with at least one of these labels, empty for all
 * @param assignee keep tasks assigned to this worker, null for all
 */
public record TaskFilter(Set<String> statuses, Set<String> labels, String assignee) {

  private static final TaskFilter ALL = new TaskFilter(Set.of(), Set.of(), null);

  /**
   * Creates a filter, copying the sets.
   *
   * @param statuses statuses to keep, empty for all
   * @param labels keep tasks with at least one of these labels, empty for all
   * @param assignee keep tasks assigned to this worker, null for all
   * @throws NullPointerException if a set or an element is null
   */
  public TaskFilter {
    statuses = Set.copyOf(statuses);
    labels = Set.copyOf(labels);
  }

  /** @return a filter keeping every task */
  public static TaskFilter all() {
    return ALL;
  }

  /**
   * @param statuses statuses to keep
   * @return a copy keeping only these statuses
   */
  public TaskFilter statuses(String... statuses) {
    return new TaskFilter(Set.of(statuses), labels, assignee);
  }

  /**
   * @param labels labels, any of which a task must have
   * @return a copy keeping only tasks with one of these labels
   */
  public TaskFilter labels(String... labels) {
    return new TaskFilter(statuses, Set.of(labels), assignee);
  }

  /**
   * @param assignee the worker
   * @return a copy keeping only tasks assigned to it
   */
  public TaskFilter assignee(String assignee) {
    return new TaskFilter(statuses, labels, Objects.requireNonNull(assignee, "assignee"));
  }

  /**
   * @param task a task
   * @return true if it passes
   */
  public boolean matches(Task task) {
    return (statuses.isEmpty() || statuses.contains(task.status()))
        && (labels.isEmpty() || task.labels().stream().anyMatch(labels::contains))
        && (assignee == null || assignee.equals(task.assignee()));
  }
}
