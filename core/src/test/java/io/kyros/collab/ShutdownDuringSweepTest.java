package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.memory.MemoryStorage;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredRecord;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Review: shutdown now joins the dispatcher without bound, and the dispatcher's idle sweep (up to 100 batch advances
 * per label, each a read-modify-write retried up to the update timeout) never looks at {@code stopping}: a shutdown
 * that begins during a sweep waits for every remaining advance, whatever its deadline.
 */
/**
 * Bug (found in review of the batch sweep): a shutdown that began during an idle sweep waited for every remaining
 * batch's update (a read-modify-write each), whatever its deadline. The sweep stops once the pool is stopping.
 */
@Timeout(60)
class ShutdownDuringSweepTest {
  private final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));

  @Test
  void aShutdownDuringTheIdleSweepDoesNotWaitForTheRestOfTheSweep() throws Exception {
    CountDownLatch inSweep = new CountDownLatch(1);
    CountDownLatch proceed = new CountDownLatch(1);
    AtomicBoolean armed = new AtomicBoolean();
    AtomicBoolean counting = new AtomicBoolean();
    AtomicInteger readsAfterShutdown = new AtomicInteger();
    ForwardingStorage storage = new ForwardingStorage(MemoryStorage.create(clock)) {
      @Override
      public Optional<StoredRecord> read(RecordKey key) {
        if (key.collection().equals("_batches") && Thread.currentThread().getName().endsWith("-dispatcher")) {
          if (armed.getAndSet(false)) {
            inSweep.countDown();
            try {
              proceed.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          } else if (counting.get()) {
            readsAfterShutdown.incrementAndGet();
          }
        }
        return super.read(key);
      }
    };
    try (Collab collab = Collab.builder().storage(storage).holder("me").build()) {
      for (int i = 0; i < 30; i++) {
        collab.batches().submit(BatchSpec.builder("item").id(String.format("b%03d", i)).concurrency(1)
            .items(List.of(BatchItem.of("i0", "p"))).build());
      }
      assertThat(collab.tasks().claimUpTo(30, "other", Duration.ofHours(1), Set.of("item"))).hasSize(30);
      armed.set(true);
      WorkerPool pool = WorkerPool.builder(collab).agentId("w").handler("item", ctx -> Outcome.done()).start();
      try {
        assertThat(inSweep.await(30, TimeUnit.SECONDS)).as("the sweep began").isTrue();
        CompletableFuture<Boolean> stopped = BackgroundShutdown.begin(pool);
        counting.set(true);
        proceed.countDown();
        stopped.get(30, TimeUnit.SECONDS);
        assertThat(readsAfterShutdown.get()).as("batch reads the dispatcher made after shutdown(ZERO) began")
            .isLessThanOrEqualTo(1);
      } finally {
        proceed.countDown();
        pool.close();
      }
    }
  }
}
