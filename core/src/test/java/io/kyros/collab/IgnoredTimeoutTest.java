package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.memory.MemoryStorage;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Bug (found in review): a handler past its timeout that ignored the interrupt kept its claim for ever (its keep-alive
 * renewed it, the attempt never failed, the task was never retried). One timeout after the interrupt the attempt now
 * fails without it.
 */
@Timeout(60)
class IgnoredTimeoutTest {
  private final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));

  /**
   * A handler past its timeout that does not answer the interrupt keeps its claim alive for as long as it runs: the
   * attempt never fails, the task is never retried, the slot never frees.
   */
  @Test
  void aHandlerPastItsTimeoutThatIgnoresTheInterruptDoesNotHoldItsClaimForEver() throws Exception {
    CountDownLatch stuck = new CountDownLatch(1);
    CountDownLatch started = new CountDownLatch(1);
    try (Collab collab = Collab.builder().storage(MemoryStorage.create(clock)).holder("me").build()) {
      try (WorkerPool pool = WorkerPool.builder(collab).agentId("w").handlerTimeout(Duration.ofMillis(100))
          .shutdownTimeout(Duration.ZERO)
          .handler("x", ctx -> {
            started.countDown();
            while (true) { // a blocking call that does not answer interrupts
              try {
                if (stuck.await(30, TimeUnit.SECONDS)) {
                  return Outcome.done();
                }
              } catch (InterruptedException ignored) {
                // keeps waiting
              }
            }
          }).start()) {
        collab.tasks().create(NewTask.of("t").withId("t").withLabels("x"));
        assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
        try {
          long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5); // 50 x the timeout
          while (collab.tasks().currentClaim("t").isPresent() && System.nanoTime() < deadline) {
            LockSupport.parkNanos(10_000_000L);
          }
          assertThat(collab.tasks().currentClaim("t")).as("claim 5 s after a 100 ms handler timeout").isEmpty();
          assertThat(collab.tasks().get("t").orElseThrow().lastError())
              .startsWith("io.kyros.collab.HandlerTimeoutException");
        } finally {
          stuck.countDown();
        }
      }
    }
  }
}
