package io.kyros.collab;

import io.kyros.collab.spi.Backoff;
import java.time.Duration;

/**
 * Paces the attempts of one read-modify-write: full-jitter exponential backoff (the project's one
 * {@link Backoff}) until a deadline, then {@link UpdateConflictException}. Not thread-safe: one per operation.
 */
final class Retry {
  /** Core's pacing: full jitter from 0.2 ms, doubling, at most 50 ms. */
  private static final Backoff PACING = new Backoff(Duration.ofNanos(200_000L), Duration.ofMillis(50),
      Backoff.Jitter.FULL);
  private final String what;
  private final Duration timeout;
  private final long deadline;
  private int attempts;

  /**
   * @param what what is being retried, for the conflict's message
   * @param timeout how long to keep trying
   */
  Retry(String what, Duration timeout) {
    this.what = what;
    this.timeout = timeout;
    this.deadline = Backoff.deadlineAfter(timeout);
  }

  /** Counts a lost attempt and pauses before the next one; gives up at the deadline. */
  void pause() {
    attempts++;
    if (!PACING.pause(attempts, deadline)) {
      throw new UpdateConflictException(what, attempts, timeout);
    }
    if (Thread.currentThread().isInterrupted()) {
      throw new CollabException("interrupted while retrying " + what);
    }
  }

  /** @return the attempts lost so far */
  int attempts() {
    return attempts;
  }
}
