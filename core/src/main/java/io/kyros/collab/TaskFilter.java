package io.kyros.collab;

import java.util.Objects;
import java.util.Set;

/**
 * Selects tasks for {@link Tasks#list(TaskFilter)}: by status, by label (a task matches if it has
 * any of them), by assignee; and one page of them in the list's order (creation time, then id): the
 * tasks after the task {@code after}, at most {@code limit} of them. Empty sets and a null assignee
 * match everything; a null {@code after} starts at the beginning.
 *
 * <p>Immutable and thread-safe.
 *
 * @param statuses statuses to keep, empty for all
 * @param labels keep tasks with at least one of these labels, empty for all
 * @param assignee keep tasks assigned to this worker, null for all
 * @param after the id of the last task of the previous page, null for the first page
 * @param limit the most tasks to return, &gt; 0 ({@link Integer#MAX_VALUE} for all)
 */
public record TaskFilter(Set<String> statuses, Set<String> labels, String assignee, String after, int limit) {

  private static final TaskFilter ALL = new TaskFilter(Set.of(), Set.of(), null);

  /**
   * Creates a filter, copying the sets.
   *
   * @param statuses statuses to keep, empty for all
   * @param labels keep tasks with at least one of these labels, empty for all
   * @param assignee keep tasks assigned to this worker, null for all
   * @param after the id of the last task of the previous page, null for the first page
   * @param limit the most tasks to return
   * @throws NullPointerException if a set or an element is null
   * @throws IllegalArgumentException if limit is not positive
   */
  public TaskFilter {
    statuses = Set.copyOf(statuses);
    labels = Set.copyOf(labels);
    if (limit <= 0) {
      throw new IllegalArgumentException("limit must be positive: " + limit);
    }
  }

  /**
   * Creates a filter returning every matching task in one page.
   *
   * @param statuses statuses to keep, empty for all
   * @param labels keep tasks with at least one of these labels, empty for all
   * @param assignee keep tasks assigned to this worker, null for all
   * @throws NullPointerException if a set or an element is null
   */
  public TaskFilter(Set<String> statuses, Set<String> labels, String assignee) {
    this(statuses, labels, assignee, null, Integer.MAX_VALUE);
  }

  /** @return a filter keeping every task */
  public static TaskFilter all() {
    return ALL;
  }

  /**
   * @param statuses statuses to keep (a status given twice counts once)
   * @return a copy keeping only these statuses
   * @throws NullPointerException if a status is null
   */
  public TaskFilter statuses(String... statuses) {
    return new TaskFilter(Names.filterValues(statuses), labels, assignee, after, limit);
  }

  /**
   * @param labels labels, any of which a task must have (a label given twice counts once)
   * @return a copy keeping only tasks with one of these labels
   * @throws NullPointerException if a label is null
   */
  public TaskFilter labels(String... labels) {
    return new TaskFilter(statuses, Names.filterValues(labels), assignee, after, limit);
  }

  /**
   * @param assignee the worker
   * @return a copy keeping only tasks assigned to it
   */
  public TaskFilter assignee(String assignee) {
    return new TaskFilter(statuses, labels, Objects.requireNonNull(assignee, "assignee"), after, limit);
  }

  /**
   * @param taskId the id of the last task of the previous page
   * @return a copy returning the tasks after it in the list's order
   */
  public TaskFilter after(String taskId) {
    return new TaskFilter(statuses, labels, assignee, Objects.requireNonNull(taskId, "taskId"), limit);
  }

  /**
   * @param limit the most tasks to return, &gt; 0
   * @return a copy returning at most that many
   * @throws IllegalArgumentException if limit is not positive
   */
  public TaskFilter limit(int limit) {
    return new TaskFilter(statuses, labels, assignee, after, limit);
  }

  /**
   * @param task a task
   * @return true if it passes the status, label and assignee conditions (paging aside)
   */
  public boolean matches(Task task) {
    return (statuses.isEmpty() || statuses.contains(task.status()))
        && (labels.isEmpty() || task.labels().stream().anyMatch(labels::contains))
        && (assignee == null || assignee.equals(task.assignee()));
  }
}
