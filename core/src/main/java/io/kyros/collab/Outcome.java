package io.kyros.collab;

import java.util.Objects;

/**
 * What a {@link TaskHandler} asks its {@link WorkerPool} to do with the task it ran.
 *
 * <p>Immutable and thread-safe.
 *
 * @param kind done, release or fail
 * @param reason why it failed (for {@link Kind#FAIL}), else empty
 */
public record Outcome(Kind kind, String reason) {

  /** The three outcomes. */
  public enum Kind {
    /** Complete the task. */
    DONE,
    /** Give the task back to the queue without counting an attempt. */
    RELEASE,
    /** Count a failed attempt; the retry policy decides whether the task runs again. */
    FAIL
  }

  /**
   * Creates an outcome.
   *
   * @param kind the outcome
   * @param reason the failure's reason, not blank for {@link Kind#FAIL}
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if a failure has a blank reason
   */
  public Outcome {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(reason, "reason");
    if (kind == Kind.FAIL && reason.isBlank()) {
      throw new IllegalArgumentException("reason must not be blank for a failure");
    }
  }

  /** @return complete the task */
  public static Outcome done() {
    return new Outcome(Kind.DONE, "");
  }

  /** @return give the task back without counting an attempt */
  public static Outcome release() {
    return new Outcome(Kind.RELEASE, "");
  }

  /**
   * @param reason why the attempt failed, kept as the task's {@code lastError}
   * @return count a failed attempt
   */
  public static Outcome fail(String reason) {
    return new Outcome(Kind.FAIL, reason);
  }
}
