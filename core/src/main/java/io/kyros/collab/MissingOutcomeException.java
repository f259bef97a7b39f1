package io.kyros.collab;

/**
 * A {@link TaskHandler} returned {@code null} instead of an {@link Outcome}. The {@link WorkerPool} records it as the
 * failure of the attempt (in {@code executor_failed} and as the task's {@code lastError}), never as success.
 */
public final class MissingOutcomeException extends CollabException {
  private static final long serialVersionUID = 1L;

  /**
   * @param handler the label of the handler that returned nothing
   * @param taskId the task it ran
   */
  public MissingOutcomeException(String handler, String taskId) {
    super("handler for label " + handler + " returned no outcome (null) for task " + taskId
        + "; return Outcome.done(), Outcome.release() or Outcome.fail(reason)");
  }
}
