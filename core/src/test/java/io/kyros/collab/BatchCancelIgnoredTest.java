package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.memory.MemoryStorage;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Review: failIgnoredTimeout is scheduled by the timeout timer whatever the run was cancelled for, and always fails
 * the attempt as a HandlerTimeoutException through the retry policy. A run cancelled because its batch was cancelled
 * (which must fail the item for good) whose handler is still running one timeout later has its item requeued instead:
 * the item of a cancelled batch is claimable again.
 */
/**
 * Bug (found in review of the ignored-timeout fix): a handler of a cancelled batch's item that ignored the interrupt
 * had its attempt failed one timeout later through the retry policy, so the item went back to the queue and another
 * worker claimed it. The claim now ends as the run's cancellation says: the item fails for good.
 */
@Timeout(60)
class BatchCancelIgnoredTest {
  private final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));

  @Test
  void anItemOfACancelledBatchIsNotRequeuedByTheIgnoredTimeoutFail() throws Exception {
    CountDownLatch started = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    try (Collab collab = Collab.builder().storage(MemoryStorage.create(clock)).holder("me").build()) {
      collab.batches().submit(BatchSpec.builder("x").id("b").concurrency(1).policy(BatchPolicy.retryFailed(2))
          .items(List.of(BatchItem.of("i0", "p"))).build());
      try (WorkerPool pool = WorkerPool.builder(collab).agentId("w").handlerTimeout(Duration.ofMillis(200))
          .shutdownTimeout(Duration.ZERO).handler("x", ctx -> {
            started.countDown();
            while (true) { // a blocking call that does not answer interrupts
              try {
                if (release.await(30, TimeUnit.SECONDS)) {
                  return Outcome.done();
                }
              } catch (InterruptedException ignored) {
                // keeps waiting
              }
            }
          }).start()) {
        try {
          assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
          collab.batches().cancel("b", "operator");
          long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
          while (collab.tasks().currentClaim("b.i0").isPresent() && System.nanoTime() < deadline) {
            LockSupport.parkNanos(10_000_000L);
          }
          Task t = collab.tasks().get("b.i0").orElseThrow();
          assertThat(t.status()).as("item of a cancelled batch; lastError " + t.lastError()).isEqualTo("failed");
          clock.advance(Duration.ofHours(1)); // its retry backoff passes: any worker may claim it
          assertThat(collab.tasks().claimNext("agent2", Duration.ofMinutes(1), Set.of("x")))
              .as("an item of a cancelled batch claimed by another worker").isEmpty();
        } finally {
          release.countDown();
        }
      }
    }
  }
}
