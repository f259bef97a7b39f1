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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Review: the idle sweep reads only the first 100 running batches of a label (by id) and never pages on, so a batch
 * whose advance was missed is never made up while 100 running batches of its label sort before it.
 */
/**
 * Bug (found in review of the batch sweep): each idle sweep read the first 100 running batches of a label and never
 * went on, so a stuck batch behind them was never brought up to date. Sweeps now go on after the last one read.
 */
@Timeout(60)
class BatchSweepPagingTest {
  private final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));

  @Test
  void aStuckBatchBehindAHundredRunningBatchesOfItsLabelIsSwept() throws Exception {
    try (Collab collab = Collab.builder().storage(MemoryStorage.create(clock)).holder("me").build()) {
      // the stuck batch: its first item completed by a process that died before advancing the batch
      collab.batches().submit(BatchSpec.builder("item").id("z").concurrency(1)
          .items(List.of(BatchItem.of("i0", "p"), BatchItem.of("i1", "p"))).build());
      collab.tasks().complete(collab.tasks().claimNext("dead", Duration.ofHours(1), Set.of("item")).orElseThrow());
      // 100 healthy running batches of the same label, their items held by another worker
      for (int i = 0; i < 100; i++) {
        collab.batches().submit(BatchSpec.builder("item").id(String.format("b%03d", i)).concurrency(1)
            .items(List.of(BatchItem.of("i0", "p"))).build());
      }
      assertThat(collab.tasks().claimUpTo(100, "other", Duration.ofHours(1), Set.of("item"))).hasSize(100);
      CountDownLatch ranI1 = new CountDownLatch(1);
      try (WorkerPool pool = WorkerPool.builder(collab).agentId("w").idleRecheck(Duration.ofMillis(50))
          .handler("item", ctx -> {
            if (ctx.task().id().equals("z.i1")) {
              ranI1.countDown();
            }
            return Outcome.done();
          }).start()) {
        assertThat(ranI1.await(5, TimeUnit.SECONDS))
            .as("item z.i1 ran; batch: " + collab.batches().get("z").orElseThrow()).isTrue();
      }
    }
  }
}
