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
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Bug (found in review): a batch moved on only in a best-effort commit after a pool saw one of its items end; one
 * missed (a storage error, a process that died between the item's commit and the batch's, an item reclaimed to failed
 * while no pool ran) was never made up, and the batch released no more items and stayed running for ever. Idle pools
 * now bring the running batches of their labels up to date ({@code Batches.running}, the index of running batches).
 */
@Timeout(60)
class BatchAdvanceRecoveryTest {
  private final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));

  private static BatchSpec twoItemsOneAtATime() {
    return BatchSpec.builder("item").id("b").concurrency(1)
        .items(List.of(BatchItem.of("i0", "p"), BatchItem.of("i1", "p"))).build();
  }

  /** Starts a pool serving "item" and reports whether it ran item i1 within 5 seconds. */
  private static boolean poolRunsI1(Collab collab) throws InterruptedException {
    CountDownLatch ranI1 = new CountDownLatch(1);
    try (WorkerPool pool = WorkerPool.builder(collab).agentId("w").idleRecheck(Duration.ofMillis(50))
        .handler("item", ctx -> {
          if (ctx.task().id().equals("b.i1")) {
            ranI1.countDown();
          }
          return Outcome.done();
        }).start()) {
      return ranI1.await(5, TimeUnit.SECONDS);
    }
  }

  /** One transient failure of the advance commit after an item finished: logged, never retried. */
  @Test
  void aBatchWhoseAdvanceFailedOnceStillFinishes() throws Exception {
    ForwardingStorage storage = new ForwardingStorage(MemoryStorage.create(clock));
    AtomicBoolean armed = new AtomicBoolean();
    storage.intercept((commit, next) -> {
      if (commit.writes().stream().anyMatch(w -> w.key().collection().equals("_batches")) && armed.getAndSet(false)) {
        throw new StorageException("connection reset (test)");
      }
      return next.commit(commit);
    });
    try (Collab collab = Collab.builder().storage(storage).holder("me").build()) {
      collab.batches().submit(twoItemsOneAtATime());
      CountDownLatch ranI1 = new CountDownLatch(1);
      try (WorkerPool pool = WorkerPool.builder(collab).agentId("w").idleRecheck(Duration.ofMillis(50))
          .handler("item", ctx -> {
            if (ctx.task().id().equals("b.i0")) {
              armed.set(true); // the batch commit after this item's completion fails once
            } else {
              ranI1.countDown();
            }
            return Outcome.done();
          }).start()) {
        assertThat(ranI1.await(5, TimeUnit.SECONDS))
            .as("item i1 ran; batch: " + collab.batches().get("b").orElseThrow()).isTrue();
      }
    }
  }

  /** The pool's process died between its complete commit and its advance commit; after a restart nothing advances. */
  @Test
  void aBatchWhoseWorkerDiedBetweenCompletingAnItemAndAdvancingTheBatchStillFinishes() throws Exception {
    try (Collab collab = Collab.builder().storage(MemoryStorage.create(clock)).holder("me").build()) {
      collab.batches().submit(twoItemsOneAtATime());
      // what the dead pool committed: the claim and the completion of i0, not the batch's advance
      collab.tasks().complete(collab.tasks().claimNext("w", Duration.ofMinutes(1), Set.of("item")).orElseThrow());
      assertThat(poolRunsI1(collab)).as("item i1 ran; batch: " + collab.batches().get("b").orElseThrow()).isTrue();
    }
  }

  /** The in-flight item's stale claim was reclaimed (to failed) by a claimNext elsewhere while no pool ran. */
  @Test
  void aBatchWhoseInFlightItemWasReclaimedWhileNoPoolRanStillFinishes() throws Exception {
    try (Collab collab = Collab.builder().storage(MemoryStorage.create(clock)).holder("me").build()) {
      collab.batches().submit(twoItemsOneAtATime());
      collab.tasks().claimNext("crashed", Duration.ofMinutes(1), Set.of("item")).orElseThrow();
      clock.advance(Duration.ofMinutes(2));
      collab.tasks().claimNext("someone-else", Duration.ofMinutes(1), Set.of("other")); // its reclaim pass
      assertThat(collab.tasks().get("b.i0").orElseThrow().status()).isEqualTo("failed");
      assertThat(poolRunsI1(collab)).as("item i1 ran; batch: " + collab.batches().get("b").orElseThrow()).isTrue();
    }
  }
}
