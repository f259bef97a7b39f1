package io.kyros.collab.app;

import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * A token bucket per caller (an API key's name, or a client address without keys): {@code burst}
 * requests at once, refilled at {@code perSecond}. A refused request learns how many whole seconds
 * to wait (Retry-After). Time is {@link System#nanoTime()} unless a test gives its own.
 *
 * <p>Thread-safe: each bucket is updated under its own lock. The map of buckets grows with the
 * number of distinct callers; with API keys that is bounded by the keys file.
 */
final class RateLimiter {
  private final double perSecond;
  private final int burst;
  private final LongSupplier nanoTime;
  private final ConcurrentHashMap<String, Bucket> buckets = new ConcurrentHashMap<>();

  private static final class Bucket {
    double tokens;
    long updated;

    Bucket(double tokens, long updated) {
      this.tokens = tokens;
      this.updated = updated;
    }
  }

  RateLimiter(double perSecond, int burst, LongSupplier nanoTime) {
    this.perSecond = perSecond;
    this.burst = burst;
    this.nanoTime = nanoTime;
  }

  /** @return true if requests are limited at all */
  boolean enabled() {
    return perSecond > 0;
  }

  /**
   * Takes one token for a caller.
   *
   * @param caller who asks
   * @return 0 if the request may go on, else the seconds to wait before the next one may (at least 1)
   */
  long acquire(String caller) {
    if (!enabled()) {
      return 0;
    }
    long now = nanoTime.getAsLong();
    Bucket b = buckets.computeIfAbsent(caller, c -> new Bucket(burst, now));
    synchronized (b) {
      double elapsed = (now - b.updated) / 1e9;
      b.tokens = Math.min(burst, b.tokens + elapsed * perSecond);
      b.updated = now;
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return 0;
      }
      return Math.max(1, (long) Math.ceil((1 - b.tokens) / perSecond));
    }
  }
}
