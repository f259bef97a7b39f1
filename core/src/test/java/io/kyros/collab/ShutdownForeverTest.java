package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.memory.MemoryStorage;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Bug (found in review): {@link WorkerPool#shutdown(Duration)} accepts any non-negative deadline, and the builder's
 * {@code shutdownTimeout} (used by {@link WorkerPool#close()}) only has to be non-negative, but both reached
 * {@link Duration#toNanos()} unsaturated. A "wait for ever" deadline ({@code ChronoUnit.FOREVER.getDuration()}, or a
 * thousand years) threw {@link ArithmeticException} half way through the shutdown: the timer, the ender and the agent's
 * presence keep-alive were never stopped, so the agent showed online for ever behind a pool that no longer claimed.
 * The nanoseconds are now saturated ({@code Names.nanos}): such a shutdown waits as long as the handlers run (here
 * none) and takes the agent offline.
 */
@Timeout(60)
class ShutdownForeverTest {
  private final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));

  @Test
  void shutdownWithAVeryLongDeadlineTakesTheAgentOffline() throws Exception {
    try (Collab collab = Collab.builder().storage(MemoryStorage.create(clock)).holder("me").build()) {
      WorkerPool pool = WorkerPool.builder(collab).agentId("w").handler("x", ctx -> Outcome.done()).start();
      assertThat(collab.agents().get("w").orElseThrow().status()).isEqualTo(AgentStatus.AVAILABLE);
      boolean clean;
      try {
        clean = pool.shutdown(ChronoUnit.FOREVER.getDuration()); // no handler runs: returns at once
      } catch (ArithmeticException e) {
        throw new AssertionError("shutdown threw " + e + "; agent left "
            + collab.agents().get("w").orElseThrow().status() + ", claiming " + pool.isClaiming(), e);
      }
      assertThat(clean).isTrue();
      assertThat(pool.isClaiming()).isFalse();
      assertThat(collab.agents().get("w").orElseThrow().status()).isEqualTo(AgentStatus.OFFLINE);
    }
  }

  @Test
  void aShutdownPastItsDeadlineWithAVeryLongShutdownTimeoutReleasesTheRunningClaims() throws Exception {
    try (Collab collab = Collab.builder().storage(MemoryStorage.create(clock)).holder("me").build()) {
      String id = collab.tasks().create(NewTask.of("t").withLabels("x")).id();
      CountDownLatch running = new CountDownLatch(1);
      WorkerPool pool = WorkerPool.builder(collab).agentId("w").shutdownTimeout(ChronoUnit.FOREVER.getDuration())
          .handler("x", ctx -> {
            running.countDown();
            new CountDownLatch(1).await(); // until the shutdown's cancel interrupts it
            return Outcome.done();
          }).start();
      assertThat(running.await(20, TimeUnit.SECONDS)).as("handler started").isTrue();
      // past the deadline at once: the running handler is cancelled, then waited for at most min(shutdownTimeout, 10 s)
      assertThat(pool.shutdown(Duration.ZERO)).as("clean").isFalse();
      assertThat(collab.tasks().get(id).orElseThrow().status()).as("claim released").isEqualTo("queued");
      assertThat(collab.agents().get("w").orElseThrow().status()).isEqualTo(AgentStatus.OFFLINE);
    }
  }

  @Test
  void closeWithAVeryLongShutdownTimeoutTakesTheAgentOffline() {
    try (Collab collab = Collab.builder().storage(MemoryStorage.create(clock)).holder("me").build()) {
      WorkerPool pool = WorkerPool.builder(collab).agentId("w").shutdownTimeout(Duration.ofDays(365L * 1000))
          .handler("x", ctx -> Outcome.done()).start();
      pool.close();
      assertThat(collab.agents().get("w").orElseThrow().status()).isEqualTo(AgentStatus.OFFLINE);
    }
  }
}
