package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.memory.MemoryStorage;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A {@link WorkerRun} whose claim a shutdown released while the run still waited in the executor's queue (the
 * shutdown's deadline passed first) must not start its handler when it finally runs: the task is back in the queue
 * and may already be another worker's (found by review).
 */
class WorkerRunTest {
  private static final Duration TTL = Duration.ofMinutes(5);

  @Test
  void aRunReleasedByAShutdownBeforeItStartedNeverRunsItsHandler() {
    MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));
    AtomicInteger handled = new AtomicInteger();
    TaskHandler handler = ctx -> {
      handled.incrementAndGet();
      return Outcome.done();
    };
    try (Collab collab = Collab.builder().storage(MemoryStorage.create(clock)).holder("me").build()) {
      collab.tasks().create(NewTask.of("t").withId("t").withLabels("x"));
      TaskClaim claim = collab.tasks().claimNext("w", TTL, Set.of("x")).orElseThrow();
      // a pool serving another label, so it claims nothing itself
      try (WorkerPool pool = WorkerPool.builder(collab).agentId("w").handler("y", handler).start()) {
        WorkerRun queued = new WorkerRun(pool, collab.core(), collab, "x", handler, RetryPolicy.defaults(), claim);
        queued.cancel(WorkerRun.Cancel.SHUTDOWN, "pool w shut down");
        assertThat(queued.releaseForShutdown()).isTrue();
        Task released = collab.tasks().get("t").orElseThrow();
        assertThat(released.status()).isEqualTo("queued");
        queued.run(); // the executor gets to it only now
        assertThat(handled).as("handler calls").hasValue(0);
        assertThat(collab.tasks().get("t").orElseThrow().revision()).as("nothing written after the release")
            .isEqualTo(released.revision());
        assertThat(collab.tasks().claimNext("other", TTL, Set.of("x"))).as("the task is free for another worker")
            .isPresent();
      }
    }
  }
}
