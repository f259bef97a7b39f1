package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.memory.MemoryStorage;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredRecord;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Bug (found in review): {@link WorkerContext} is documented thread-safe (the handler may hand it to threads of its
 * own), and {@code check(index, done)} documents only IndexOutOfBounds, LeaseLost and Storage exceptions, but
 * {@code WorkerRun.updateChecklist} read the task and committed the tick with If-Match on the ETag read, without
 * retrying: a tick of another item committed between the two (by another of the handler's threads) made {@code check}
 * throw {@link PreconditionFailedException}, the tick lost. A tick that finds the task changed since its reading now
 * reads it again and applies itself to that, while the claim holds: both ticks land. A lost claim still ends in
 * {@link LeaseLostException} (WorkerPoolResilienceTest). The interleaving is forced by the storage, not by timing.
 */
@Timeout(60)
class ConcurrentChecklistTickTest {
  private final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));

  @Test
  void twoTicksOfDifferentItemsBothLand() throws Exception {
    AtomicReference<WorkerContext> interleave = new AtomicReference<>();
    AtomicReference<String> taskId = new AtomicReference<>();
    ForwardingStorage storage = new ForwardingStorage(MemoryStorage.create(clock)) {
      @Override
      public Optional<StoredRecord> read(RecordKey key) {
        Optional<StoredRecord> r = super.read(key);
        WorkerContext other = key.collection().equals(RecordKeys.TASKS) && key.id().equals(taskId.get())
            ? interleave.getAndSet(null) : null;
        if (other != null) {
          other.check(1, true); // another thread's tick, committed right after this check's read
        }
        return r;
      }
    };
    CompletableFuture<Object> seen = new CompletableFuture<>();
    try (Collab collab = Collab.builder().storage(storage).holder("me").build()) {
      taskId.set(collab.tasks().create(NewTask.of("t").withLabels("x").withChecklist("a", "b")).id());
      try (WorkerPool pool = WorkerPool.builder(collab).agentId("w").handler("x", ctx -> {
        try {
          interleave.set(ctx);
          seen.complete(ctx.check(0, true));
        } catch (Throwable t) {
          seen.complete(t);
        }
        return Outcome.release();
      }).start()) {
        Object r = seen.get(20, TimeUnit.SECONDS);
        assertThat(r).as("what check(0) gave").isInstanceOf(Task.class);
        assertThat(((Task) r).checklist()).extracting(ChecklistItem::done).containsExactly(true, true);
      }
    }
  }
}
