package io.kyros.collab.spi;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.LockSupport;

/**
 * Capped exponential backoff between attempts, the one retry pacing shared by core's read-modify-write loops, the
 * JDBC backend's transaction retries and an event subscription re-reading a failing log.
 *
 * <p>The ceiling before attempt {@code n} (counting from 1) is {@code min(cap, base * 2^n)}. With
 * {@link Jitter#FULL} the pause is drawn uniformly from {@code [base, ceiling]} (full jitter, so contending callers
 * spread out); with {@link Jitter#NONE} it is the ceiling itself (a lone reader waiting for a medium to recover).
 *
 * <p>Immutable and thread-safe; the random draws come from {@link ThreadLocalRandom}.
 *
 * @param base the smallest pause, positive
 * @param cap the largest pause, at least {@code base}
 * @param jitter how the pause is drawn below its ceiling
 */
public record Backoff(Duration base, Duration cap, Jitter jitter) {

  /** How a pause is drawn below the attempt's ceiling. */
  public enum Jitter {
    /** Uniform in {@code [base, ceiling]}. */
    FULL,
    /** Exactly the ceiling. */
    NONE
  }

  /**
   * Checks the arguments.
   *
   * @param base the smallest pause, positive
   * @param cap the largest pause, at least {@code base}
   * @param jitter how the pause is drawn below its ceiling
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if {@code base} is not positive or {@code cap} is below it
   */
  public Backoff {
    Objects.requireNonNull(base, "base");
    Objects.requireNonNull(cap, "cap");
    Objects.requireNonNull(jitter, "jitter");
    if (base.isNegative() || base.isZero()) {
      throw new IllegalArgumentException("base must be positive: " + base);
    }
    if (cap.compareTo(base) < 0) {
      throw new IllegalArgumentException("cap must be at least base " + base + ": " + cap);
    }
  }

  /**
   * The pause before an attempt.
   *
   * @param attempt the number of attempts lost so far, at least 1
   * @return the pause in nanoseconds, within {@code [base, cap]}
   * @throws IllegalArgumentException if {@code attempt < 1}
   */
  public long delayNanos(int attempt) {
    if (attempt < 1) {
      throw new IllegalArgumentException("attempt must be at least 1: " + attempt);
    }
    long baseNanos = base.toNanos();
    long capNanos = cap.toNanos();
    int shift = Math.min(attempt, 62 - (63 - Long.numberOfLeadingZeros(baseNanos)));
    long ceiling = shift <= 0 ? capNanos : Math.min(capNanos, baseNanos << shift);
    return switch (jitter) {
      case NONE -> ceiling;
      case FULL -> ThreadLocalRandom.current().nextLong(baseNanos, ceiling + 1);
    };
  }

  /**
   * Parks the calling thread before the next attempt, never past a deadline.
   *
   * <p>An interrupt ends the pause early and stays set; the caller checks it and stops with its own error.
   *
   * @param attempt the number of attempts lost so far, at least 1
   * @param deadlineNanos the {@link System#nanoTime()} after which no attempt is made
   * @return false, without pausing, if the deadline has passed; true after pausing
   * @throws IllegalArgumentException if {@code attempt < 1}
   */
  public boolean pause(int attempt, long deadlineNanos) {
    long delay = delayNanos(attempt);
    long left = deadlineNanos - System.nanoTime();
    if (left <= 0) {
      return false;
    }
    LockSupport.parkNanos(Math.min(delay, left));
    return true;
  }

  /**
   * {@code System.nanoTime() + timeout}, saturated so that timeouts far in the future do not wrap.
   *
   * @param timeout how long from now, not negative
   * @return the deadline for {@link #pause}
   * @throws NullPointerException if {@code timeout} is null
   */
  public static long deadlineAfter(Duration timeout) {
    Objects.requireNonNull(timeout, "timeout");
    long nanos;
    try {
      nanos = timeout.toNanos();
    } catch (ArithmeticException e) {
      nanos = Long.MAX_VALUE;
    }
    return System.nanoTime() + Math.min(Math.max(nanos, 0), Long.MAX_VALUE / 2);
  }
}
