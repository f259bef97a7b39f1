package io.kyros.collab.app;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * A token bucket per caller (an API key's name, or a client address without keys): {@code burst}
 * requests at once, refilled at {@code perSecond}. A refused request learns how many whole seconds
 * to wait (Retry-After). Time is {@link System#nanoTime()} unless a test gives its own.
 *
 * <p>A bucket refilled to {@code burst} is the same as none, so every {@value #SWEEP_EVERY} requests the full ones
 * are dropped: the map holds only callers seen within about {@code burst / perSecond} seconds, however many distinct
 * addresses a server facing a network sees over its life.
 *
 * <p>Thread-safe: each bucket is updated under its own lock, and dropped under it.
 */
final class RateLimiter {
  private final double perSecond;
  private final int burst;
  private final LongSupplier nanoTime;
  private final ConcurrentHashMap<String, Bucket> buckets = new ConcurrentHashMap<>();
  /** Requests between two sweeps of the full buckets. */
  static final int SWEEP_EVERY = 1024;
  private final AtomicLong requests = new AtomicLong();

  private static final class Bucket {
    double tokens;
    long updated;
    /** Set when a sweep removed it from the map; guarded by the bucket. */
    boolean dropped;

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
    if (requests.incrementAndGet() % SWEEP_EVERY == 0) {
      sweep(now);
    }
    for (;;) {
      Bucket b = buckets.computeIfAbsent(caller, c -> new Bucket(burst, now));
      synchronized (b) {
        if (b.dropped) {
          continue; // a sweep dropped it meanwhile: it was full, so a new one is the same
        }
        refill(b, now);
        if (b.tokens >= 1) {
          b.tokens -= 1;
          return 0;
        }
        return Math.max(1, (long) Math.ceil((1 - b.tokens) / perSecond));
      }
    }
  }

  /**
   * Adds the tokens of the time since the bucket was last updated. A clock reading older than that (a request that read
   * the clock before another one but took the bucket's lock after it, or a sweep) adds nothing and leaves the time as
   * it is: moving it back would credit the same interval twice (found by review).
   */
  private void refill(Bucket b, long now) {
    if (now - b.updated > 0) {
      b.tokens = Math.min(burst, b.tokens + (now - b.updated) / 1e9 * perSecond);
      b.updated = now;
    }
  }

  /** Drops the buckets that have refilled to {@code burst}. */
  private void sweep(long now) {
    buckets.forEach((caller, b) -> {
      synchronized (b) {
        refill(b, now);
        if (b.tokens >= burst) {
          b.dropped = true;
          buckets.remove(caller, b);
        }
      }
    });
  }

  /** @return how many callers have a bucket now */
  int callers() {
    return buckets.size();
  }
}
