package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.memory.MemoryStorage;
import io.kyros.collab.spi.CommitResult;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Bug (found in review): shutdown waited at most its deadline (1 ms for a deadline of zero) for the dispatcher, so a
 * claim it was still committing was neither run nor given back when shutdown returned true; closed storage then left
 * it held until its lease expired (an attempt counted, a batch item failed for good without running).
 */
@Timeout(60)
class ShutdownDuringClaimTest {
  private final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));

  /**
   * The dispatcher is inside a claim call (committed, its round trip not back) when shutdown(ZERO) begins: shutdown
   * returns only once that claim is given back (before the fix: after 1 ms, true, the claim still held).
   */
  @Test
  void aClaimTheDispatcherIsTakingWhenShutdownStartsIsReleasedBeforeShutdownReturns() throws Exception {
    CountDownLatch inClaim = new CountDownLatch(1);
    CountDownLatch proceed = new CountDownLatch(1);
    ForwardingStorage storage = new ForwardingStorage(MemoryStorage.create(clock));
    try (Collab collab = Collab.builder().storage(storage).holder("me").build()) {
      WorkerPool pool = WorkerPool.builder(collab).agentId("w").handler("x", ctx -> Outcome.done()).start();
      try {
        storage.intercept((commit, next) -> {
          CommitResult r = next.commit(commit);
          if (Thread.currentThread().getName().endsWith("-dispatcher") && inClaim.getCount() > 0) {
            inClaim.countDown(); // the claim committed; its round trip has not returned yet (a slow network)
            try {
              proceed.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }
          return r;
        });
        collab.tasks().create(NewTask.of("t").withId("t").withLabels("x"));
        assertThat(inClaim.await(30, TimeUnit.SECONDS)).isTrue();
        java.util.concurrent.CompletableFuture<Boolean> stopped = BackgroundShutdown.begin(pool);
        assertThat(pool.isClaiming()).as("the shutdown began").isFalse();
        assertThat(stopped).as("shutdown waits for the claim the dispatcher is taking").isNotDone();
        proceed.countDown(); // the claim's round trip returns
        assertThat(stopped.get(30, TimeUnit.SECONDS)).as("no handler ran: nothing was cut short").isTrue();
        assertThat(collab.tasks().currentClaim("t")).as("claim held after shutdown returned").isEmpty();
        assertThat(collab.tasks().get("t").orElseThrow().status()).isEqualTo("queued");
      } finally {
        proceed.countDown();
      }
    }
  }
}
