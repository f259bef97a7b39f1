package io.kyros.collab;

import java.time.Duration;

/**
 * A {@link TaskHandler} ran longer than its {@link WorkerPool}'s handler timeout: the pool cancelled it (flag and
 * interrupt) and records this as the failure of the attempt.
 */
public final class HandlerTimeoutException extends CollabException {
  private static final long serialVersionUID = 1L;

  /**
   * @param taskId the task the handler ran
   * @param timeout the timeout it exceeded
   */
  public HandlerTimeoutException(String taskId, Duration timeout) {
    super("handler for task " + taskId + " did not finish within its timeout " + timeout);
  }
}
