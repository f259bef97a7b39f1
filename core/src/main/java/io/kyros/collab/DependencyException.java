package io.kyros.collab;

/**
 * A task's dependencies are invalid: a dependency does not exist, a task depends on itself, or the
 * change would create a cycle. Nothing was written; the message names the tasks involved.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class DependencyException extends CollabException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception.
   *
   * @param message the broken condition, naming the tasks
   */
  public DependencyException(String message) {
    super(message);
  }
}
