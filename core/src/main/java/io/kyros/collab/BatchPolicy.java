package io.kyros.collab;

import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;

/**
 * What a batch does when an item fails for good:
 * <ul>
 *   <li>{@code continue-on-failure}: the other items run; the batch ends {@code completed_with_failures} (or
 *       {@code completed} if none failed);</li>
 *   <li>{@code abort-all}: the first failure cancels the items not yet claimed and signals the running ones (their
 *       handlers are cancelled); the batch ends {@code aborted};</li>
 *   <li>{@code retry-failed}: a failed item runs again, up to {@code retries} more times, after the worker's retry
 *       backoff, before it counts as failed; the batch ends {@code completed} or, if any item still failed,
 *       {@code failed}.</li>
 * </ul>
 * Under the first two an item is attempted once by its handler (a crashed worker's reclaim counts as an attempt
 * too, so use {@code retry-failed} where crashes must be retried).
 *
 * <p>Immutable and thread-safe.
 *
 * @param kind the policy
 * @param retries how many times a failed item runs again ({@code retry-failed} only; 0 for the others)
 */
public record BatchPolicy(Kind kind, int retries) {

  /** The three policies. */
  public enum Kind {
    /** The rest run; the batch ends {@code completed_with_failures}. */
    CONTINUE_ON_FAILURE,
    /** The first failure aborts the batch. */
    ABORT_ALL,
    /** Failed items run again up to {@code retries} times. */
    RETRY_FAILED;

    /** @return the name used in events and JSON, for example {@code abort-all} */
    public String wireName() {
      return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
  }

  /**
   * Creates a policy.
   *
   * @param kind the policy
   * @param retries retries of a failed item: 1 to 100 for {@code retry-failed}, 0 for the others
   * @throws IllegalArgumentException if retries is out of range for the kind
   * @throws NullPointerException if kind is null
   */
  public BatchPolicy {
    Objects.requireNonNull(kind, "kind");
    if (kind == Kind.RETRY_FAILED ? retries < 1 || retries > 100 : retries != 0) {
      throw new IllegalArgumentException(kind == Kind.RETRY_FAILED
          ? "retries must be between 1 and 100 for retry-failed: " + retries
          : "retries must be 0 for " + kind.wireName() + ": " + retries);
    }
  }

  /** @return {@code continue-on-failure} */
  public static BatchPolicy continueOnFailure() {
    return new BatchPolicy(Kind.CONTINUE_ON_FAILURE, 0);
  }

  /** @return {@code abort-all} */
  public static BatchPolicy abortAll() {
    return new BatchPolicy(Kind.ABORT_ALL, 0);
  }

  /**
   * @param retries how many times a failed item runs again, 1 to 100
   * @return {@code retry-failed}
   */
  public static BatchPolicy retryFailed(int retries) {
    return new BatchPolicy(Kind.RETRY_FAILED, retries);
  }

  /**
   * Looks a policy up by its name, as an HTTP or MCP caller gives it.
   *
   * @param name {@code continue-on-failure}, {@code abort-all} or {@code retry-failed}
   * @param retries retries for {@code retry-failed}, ignored (must be 0) for the others
   * @return the policy
   * @throws IllegalArgumentException if the name is not one of the three, or retries is out of range
   */
  public static BatchPolicy of(String name, int retries) {
    Objects.requireNonNull(name, "name");
    for (Kind k : Kind.values()) {
      if (k.wireName().equals(name)) {
        return new BatchPolicy(k, retries);
      }
    }
    throw new IllegalArgumentException("unknown batch policy: \"" + Names.printable(name) + "\" (known: "
        + String.join(", ", Arrays.stream(Kind.values()).map(Kind::wireName).toList()) + ")");
  }

  /** @return how many attempts an item gets: {@code retries + 1} */
  public int attemptsPerItem() {
    return retries + 1;
  }
}
