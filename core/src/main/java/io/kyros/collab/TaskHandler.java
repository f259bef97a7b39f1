package io.kyros.collab;

/**
 * Runs one claimed task for a {@link WorkerPool}. The pool calls it on one of its worker threads with the task's
 * {@link WorkerContext}; what it returns decides what happens to the task:
 *
 * <ul>
 *   <li>{@link Outcome#done()}: the task is completed ({@code executor_succeeded}, {@code task_completed});</li>
 *   <li>{@link Outcome#release()}: the task goes back to the queue without counting an attempt;</li>
 *   <li>{@link Outcome#fail(String)}, a thrown exception, a timeout or a {@code null} return (reported as a
 *       {@link MissingOutcomeException}): the attempt failed ({@code executor_failed}); the pool's {@link RetryPolicy}
 *       decides whether it is retried.</li>
 * </ul>
 *
 * <p>A handler should check {@link WorkerContext#isCancelled()} (or be interruptible): the pool interrupts it and sets
 * the flag when its claim is lost, its timeout passes, its batch is aborted or cancelled, or the pool shuts down.
 * Implementations are called concurrently from the pool's threads, once per claimed task, and must be thread-safe.
 */
@FunctionalInterface
public interface TaskHandler {

  /**
   * Runs the task.
   *
   * @param context the claimed task, its claim and the ways to report progress
   * @return what to do with the task, never null
   * @throws Exception anything: the attempt fails, and the exception is recorded in {@code executor_failed} and as the
   *     task's {@code lastError}
   */
  Outcome handle(WorkerContext context) throws Exception;
}
