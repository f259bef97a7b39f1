package io.kyros.collab;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.function.DoubleSupplier;

/**
 * How a {@link WorkerPool} retries a task whose handler failed: at most {@link #maxAttempts} attempts (a task's own
 * {@link Task#maxAttempts()} caps them further: it is the per-task override), waiting before attempt {@code n + 1}
 * a delay drawn uniformly from {@code [0, min(maxBackoff, initialBackoff * multiplier^(n-1))]} ("full jitter", so
 * workers that failed together do not retry together), and never retrying the exception types listed in
 * {@link #nonRetryable} (or their subclasses). Build one with {@link #builder()}; {@link #defaults()} gives 5
 * attempts, 1 s initial and 5 min maximum backoff, multiplier 2.
 *
 * <p>Immutable and thread-safe.
 *
 * @param maxAttempts the most attempts of one task, at least 1 (1: never retried)
 * @param initialBackoff the cap of the first retry's delay, positive
 * @param maxBackoff the largest cap of any delay, at least {@code initialBackoff}
 * @param multiplier how much the cap grows per attempt, at least 1
 * @param nonRetryable exception types that fail the task at once
 */
public record RetryPolicy(int maxAttempts, Duration initialBackoff, Duration maxBackoff, double multiplier,
    List<Class<? extends Throwable>> nonRetryable) {

  /**
   * Creates a policy, checking every argument.
   *
   * @param maxAttempts the most attempts of one task, at least 1
   * @param initialBackoff the cap of the first retry's delay, positive
   * @param maxBackoff the largest cap of any delay, at least {@code initialBackoff}
   * @param multiplier how much the cap grows per attempt, at least 1 and finite
   * @param nonRetryable exception types never retried
   * @throws IllegalArgumentException if a bound is broken (the message names it)
   * @throws NullPointerException naming it if a reference, or one of the nonRetryable types, is null
   */
  public RetryPolicy {
    if (maxAttempts < 1) {
      throw new IllegalArgumentException("maxAttempts must be at least 1: " + maxAttempts);
    }
    Names.requireBounded("initialBackoff", initialBackoff);
    Names.requireBounded("maxBackoff", maxBackoff);
    if (maxBackoff.compareTo(initialBackoff) < 0) {
      throw new IllegalArgumentException("maxBackoff must be at least initialBackoff " + initialBackoff + ": "
          + maxBackoff);
    }
    if (!(multiplier >= 1) || Double.isInfinite(multiplier)) {
      throw new IllegalArgumentException("multiplier must be finite and at least 1: " + multiplier);
    }
    Objects.requireNonNull(nonRetryable, "nonRetryable");
    for (int i = 0; i < nonRetryable.size(); i++) {
      if (nonRetryable.get(i) == null) {
        throw new NullPointerException("nonRetryable[" + i + "] is null");
      }
    }
    nonRetryable = List.copyOf(nonRetryable);
  }

  /** @return 5 attempts, backoff from 1 s doubling up to 5 min, every exception retried */
  public static RetryPolicy defaults() {
    return builder().build();
  }

  /** @return a builder starting from {@link #defaults()} */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * @param error what the handler threw
   * @return whether the policy allows retrying it (the attempt count aside)
   */
  public boolean retries(Throwable error) {
    Objects.requireNonNull(error, "error");
    return nonRetryable.stream().noneMatch(c -> c.isInstance(error));
  }

  /**
   * The cap of the delay before the attempt after {@code attempt}: {@code initialBackoff * multiplier^(attempt-1)},
   * at most {@code maxBackoff}.
   *
   * @param attempt the attempt that just failed, from 1
   * @return the cap
   * @throws IllegalArgumentException if attempt is not positive
   */
  public Duration backoffCap(int attempt) {
    if (attempt < 1) {
      throw new IllegalArgumentException("attempt must be positive: " + attempt);
    }
    double nanos = initialBackoff.toNanos() * Math.pow(multiplier, attempt - 1);
    return nanos >= maxBackoff.toNanos() ? maxBackoff : Duration.ofNanos((long) nanos);
  }

  /**
   * The delay before the next attempt, with full jitter: uniform in {@code [0, backoffCap(attempt)]}, in whole
   * milliseconds.
   *
   * @param attempt the attempt that just failed, from 1
   * @param random a source of uniform doubles in {@code [0, 1)}
   * @return the delay
   */
  public Duration delay(int attempt, DoubleSupplier random) {
    // whole milliseconds: stores keep instants at millisecond or microsecond precision
    return Duration.ofMillis((long) (backoffCap(attempt).toMillis() * random.getAsDouble()));
  }

  /**
   * Builds a {@link RetryPolicy}; each option can be set once. Not thread-safe.
   */
  public static final class Builder {
    private int maxAttempts = 5;
    private Duration initialBackoff = Duration.ofSeconds(1);
    private Duration maxBackoff = Duration.ofMinutes(5);
    private double multiplier = 2;
    private List<Class<? extends Throwable>> nonRetryable = List.of();
    private final java.util.Set<String> set = new java.util.HashSet<>();

    private Builder() {}

    private void once(String option) {
      if (!set.add(option)) {
        throw new IllegalStateException(option + " is already set");
      }
    }

    /**
     * @param attempts the most attempts of one task, at least 1
     * @return this builder
     * @throws IllegalStateException if already set
     */
    public Builder maxAttempts(int attempts) {
      once("maxAttempts");
      this.maxAttempts = attempts;
      return this;
    }

    /**
     * @param initial the cap of the first retry's delay, positive
     * @param max the largest cap, at least {@code initial}
     * @return this builder
     * @throws IllegalStateException if already set
     */
    public Builder backoff(Duration initial, Duration max) {
      once("backoff");
      this.initialBackoff = Objects.requireNonNull(initial, "initial");
      this.maxBackoff = Objects.requireNonNull(max, "max");
      return this;
    }

    /**
     * @param multiplier how much the cap grows per attempt, at least 1
     * @return this builder
     * @throws IllegalStateException if already set
     */
    public Builder multiplier(double multiplier) {
      once("multiplier");
      this.multiplier = multiplier;
      return this;
    }

    /**
     * @param types exception types that fail the task at once, each a {@link Throwable} type
     * @return this builder
     * @throws IllegalStateException if already set
     * @throws IllegalArgumentException if a type is not a {@link Throwable}
     * @throws NullPointerException naming {@code nonRetryable} if types or one of them is null
     */
    public Builder nonRetryable(Class<?>... types) {
      Objects.requireNonNull(types, "nonRetryable");
      once("nonRetryable");
      List<Class<? extends Throwable>> out = new java.util.ArrayList<>();
      for (int i = 0; i < types.length; i++) {
        Class<?> t = types[i];
        if (t == null) {
          throw new NullPointerException("nonRetryable[" + i + "] is null");
        }
        if (!Throwable.class.isAssignableFrom(t)) {
          throw new IllegalArgumentException("nonRetryable types must be Throwable types: " + t.getName());
        }
        out.add(t.asSubclass(Throwable.class));
      }
      this.nonRetryable = List.copyOf(out);
      return this;
    }

    /**
     * @return the policy
     * @throws IllegalArgumentException if an option breaks its bound
     */
    public RetryPolicy build() {
      return new RetryPolicy(maxAttempts, initialBackoff, maxBackoff, multiplier, nonRetryable);
    }
  }
}
