package io.kyros.collab;

import java.util.Objects;

/**
 * The outcome of a task transition: the old and new status and the task after the change.
 *
 * <p>Immutable and thread-safe.
 *
 * @param oldStatus the status before
 * @param newStatus the status after
 * @param task the task after the change
 */
public record TransitionResult(String oldStatus, String newStatus, Task task) {

  /**
   * Creates a result.
   *
   * @param oldStatus the status before
   * @param newStatus the status after
   * @param task the task after the change
   * @throws NullPointerException if any argument is null
   */
  public TransitionResult {
    Objects.requireNonNull(oldStatus, "oldStatus");
    Objects.requireNonNull(newStatus, "newStatus");
    Objects.requireNonNull(task, "task");
  }
}
