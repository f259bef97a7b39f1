package io.kyros.collab;

import java.time.Duration;

/**
 * The settings of one {@link Collab} that its parts read: who acts, the limits and the retry policy, as
 * {@link Collab.Builder} resolved them (defaults filled in). Immutable and thread-safe.
 *
 * @param holder this instance's holder identity, the actor of the events it records
 * @param maxValueBytes the largest canonical value (document, task, lease, event details) in bytes
 * @param updateTimeout how long a read-modify-write retries before {@link UpdateConflictException}
 * @param workflow the workflow tasks follow
 * @param defaultMaxAttempts {@code maxAttempts} of a task created without one
 * @param retryBackoff the wait before a failed task's first retry
 * @param maxRetryBackoff the longest wait before a failed task's retry
 * @param valueCacheSize how many parsed values to keep, by revision
 * @param acquireRecheck the longest a waiting {@link Leases#acquire} sleeps before looking again
 */
record CoreSettings(String holder, int maxValueBytes, Duration updateTimeout, Workflow workflow,
    int defaultMaxAttempts, Duration retryBackoff, Duration maxRetryBackoff, long valueCacheSize,
    Duration acquireRecheck) {

  /**
   * The wait before the next claim of a task that failed {@code attempts} times: {@link #retryBackoff} doubled
   * per attempt after the first, at most {@link #maxRetryBackoff}.
   */
  Duration retryDelay(int attempts) {
    try {
      Duration d = retryBackoff.multipliedBy(1L << Math.min(attempts - 1, 30));
      return d.compareTo(maxRetryBackoff) > 0 ? maxRetryBackoff : d;
    } catch (ArithmeticException overflow) {
      return maxRetryBackoff;
    }
  }
}
