package io.kyros.collab.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.Test;

/** The per-caller token buckets: limits as configured, and a map that does not keep every caller ever seen. */
class RateLimiterTest {
  private final AtomicLong nanos = new AtomicLong();
  private final RateLimiter limiter = new RateLimiter(10, 3, nanos::get);

  @Test
  void aCallerGetsItsBurstThenWaitsForTheRefill() {
    for (int i = 0; i < 3; i++) {
      assertThat(limiter.acquire("a")).isZero();
    }
    assertThat(limiter.acquire("a")).isEqualTo(1);
    assertThat(limiter.acquire("b")).as("another caller has its own bucket").isZero();
    nanos.addAndGet(100_000_000); // 0.1 s: one token at 10 per second
    assertThat(limiter.acquire("a")).isZero();
    assertThat(limiter.acquire("a")).isEqualTo(1);
  }

  @Test
  void callersWhoseBucketsRefilledAreForgotten() {
    // found by review: without API keys, a server facing a network kept a bucket for every address it ever saw
    for (int i = 0; i < 5 * RateLimiter.SWEEP_EVERY; i++) {
      limiter.acquire("addr:" + i);
    }
    assertThat(limiter.callers()).as("buckets of callers seen within the refill time are kept")
        .isGreaterThan(RateLimiter.SWEEP_EVERY);
    limiter.acquire("busy");
    limiter.acquire("busy");
    limiter.acquire("busy");
    nanos.addAndGet(1_000_000_000); // 1 s: every bucket but busy's refilled (3 tokens at 10 per second)
    for (int i = 0; i < RateLimiter.SWEEP_EVERY; i++) {
      limiter.acquire("busy");
    }
    assertThat(limiter.callers()).isEqualTo(1);
    assertThat(limiter.acquire("busy")).as("busy is still limited").isPositive();
  }

  @Test
  void aRequestThatReadTheClockEarlierButLockedLaterDoesNotMintTokens() throws Exception {
    // found by review: refilling with an older clock reading moved the bucket's time back, so the next request was
    // credited the same interval again
    AtomicLong mainClock = new AtomicLong();
    CountDownLatch aReadClock = new CountDownLatch(1);
    CountDownLatch aMayGoOn = new CountDownLatch(1);
    LongSupplier clock = () -> {
      if (Thread.currentThread().getName().equals("A")) {
        aReadClock.countDown();
        try {
          aMayGoOn.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          throw new IllegalStateException(e);
        }
        return 0L; // A read the clock at t = 0, then lost the race for the bucket's lock
      }
      return mainClock.get();
    };
    RateLimiter limiter = new RateLimiter(1, 1, clock); // 1 per second, burst 1
    int granted = limiter.acquire("c") == 0 ? 1 : 0; // t = 0
    long[] aResult = new long[1];
    Thread a = new Thread(() -> aResult[0] = limiter.acquire("c"), "A");
    a.start();
    assertThat(aReadClock.await(10, TimeUnit.SECONDS)).isTrue();
    mainClock.set(1_000_000_000L); // t = 1 s
    granted += limiter.acquire("c") == 0 ? 1 : 0;
    aMayGoOn.countDown();
    a.join();
    granted += aResult[0] == 0 ? 1 : 0;
    granted += limiter.acquire("c") == 0 ? 1 : 0; // still t = 1 s
    assertThat(granted).as("the burst and one second's refill").isEqualTo(2);
  }
}
