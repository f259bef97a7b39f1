package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.memory.MemoryStorage;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredEvent;
import io.kyros.collab.spi.StoredRecord;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A worker pool keeps its promises when something around it fails or races it (found by review): a failed read
 * while it reacts to an event does not end its event subscription; a claim committed just before its batch was
 * cancelled never runs its handler; a shutdown on an interrupted thread still releases the claims and takes the agent
 * offline; a dispatcher that dies says so instead of looking alive; a handler whose claim was lost ticks nothing.
 */
@Timeout(60)
class WorkerPoolResilienceTest {
  private static final Duration TTL = Duration.ofMinutes(1);
  private static final Instant START = Instant.parse("2030-01-01T00:00:00Z");

  @Test
  void aFailedReadWhileReactingToAnEventDoesNotStopThePoolFromSeeingLaterOnes() {
    MutableClock clock = new MutableClock(START);
    ForwardingStorage storage = new ForwardingStorage(MemoryStorage.create(clock)) {
      @Override
      public Optional<StoredRecord> read(RecordKey key) {
        if (key.id().equals("victim") && Thread.currentThread().getName().startsWith("collab-tail-")) {
          throw new StorageException("read failed (test)");
        }
        return super.read(key);
      }
    };
    try (Collab collab = Collab.builder().storage(storage).holder("me").build()) {
      collab.tasks().create(NewTask.of("victim").withId("victim").withLabels("x").withMaxAttempts(1));
      collab.tasks().claimNext("crashed", TTL, Set.of("x")).orElseThrow();
      try (WorkerPool pool = WorkerPool.builder(collab).agentId("w").handler("y", ctx -> Outcome.done()).start()) {
        clock.advance(Duration.ofMinutes(2));
        // task_reclaimed to failed: the pool reads the task to find its batch, on its subscription's thread (the
        // pool's own dispatcher may be the one that reclaims it, as every claim first does)
        collab.tasks().reclaimStale();
        FlowPublisherTest.awaitCondition("the task reclaimed for good",
            () -> collab.tasks().get("victim").orElseThrow().status().equals("failed"));
        collab.agents().setEnabled("w", false);
        FlowPublisherTest.awaitCondition("the pool to see its agent disabled", () -> !pool.isClaiming());
      }
    }
  }

  @Test
  void aClaimTakenJustBeforeItsBatchWasCancelledNeverRunsItsHandler() {
    MutableClock clock = new MutableClock(START);
    AtomicInteger handled = new AtomicInteger();
    TaskHandler handler = ctx -> {
      handled.incrementAndGet();
      return Outcome.done();
    };
    try (Collab collab = Collab.builder().storage(MemoryStorage.create(clock)).holder("me").build()) {
      collab.batches().submit(BatchSpec.builder("item").id("b").items(List.of(BatchItem.of("i0", "p"))).build());
      TaskClaim claim = collab.tasks().claimNext("w", TTL, Set.of("item")).orElseThrow();
      // a pool serving another label, so it claims nothing itself
      try (WorkerPool pool = WorkerPool.builder(collab).agentId("w").handler("other", handler).start()) {
        // the cancel's event came before the run was among the pool's runs: only the run's own check can see it
        collab.batches().cancel("b", "stop");
        new WorkerRun(pool, collab.core(), collab, "item", handler, RetryPolicy.defaults(), claim).run();
        assertThat(handled).as("handler calls").hasValue(0);
        assertThat(collab.tasks().get("b.i0").orElseThrow().status()).isEqualTo("failed");
      }
    }
  }

  /**
   * The commit that aborts a batch creates its final step; a pool may claim that step before its subscription
   * delivers the abort's {@code batch_state_changed}, which then cancelled every run of the batch, the final step
   * too (found by review). Here the pool's subscription is held back until the final step runs, and the handler
   * waits until the subscription has delivered the abort.
   */
  @Test
  void theFinalStepOfAnAbortedBatchIsNotCancelledByTheAbortsEvent() {
    CountDownLatch gate = new CountDownLatch(1);
    AtomicLong tailAfter = new AtomicLong(-1);
    ForwardingStorage storage = new ForwardingStorage() {
      @Override
      public List<StoredEvent> readEvents(long afterId, int limit) {
        if (Thread.currentThread().getName().startsWith("collab-tail-")) {
          try {
            gate.await();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          tailAfter.accumulateAndGet(afterId, Math::max); // every event up to afterId was delivered
        }
        return super.readEvents(afterId, limit);
      }
    };
    AtomicBoolean cancelled = new AtomicBoolean();
    try (Collab collab = Collab.builder().storage(storage).holder("me").build()) {
      collab.batches().submit(BatchSpec.builder("item").id("b").policy(BatchPolicy.abortAll()).finalStep("fin")
          .items(List.of(BatchItem.of("i0", "p"))).build());
      try (WorkerPool pool = WorkerPool.builder(collab).agentId("w").handler("item", ctx -> Outcome.fail("boom"))
          .handler("fin", ctx -> {
            long abort = collab.events().lastId(); // the abort's event is at most this
            gate.countDown();
            FlowPublisherTest.awaitCondition("the pool to see the abort", () -> tailAfter.get() >= abort);
            cancelled.set(ctx.isCancelled());
            return Outcome.done();
          }).start()) {
        FlowPublisherTest.awaitCondition("the final step to end", () -> collab.tasks().get("b.final")
            .map(t -> t.status().equals("done") || t.status().equals("failed")).orElse(false));
        assertThat(collab.batches().get("b").orElseThrow().state()).isEqualTo(BatchState.ABORTED);
        assertThat(cancelled).as("final step cancelled").isFalse();
        assertThat(collab.tasks().get("b.final").orElseThrow().status()).isEqualTo("done");
      }
    }
  }

  @Test
  void anItemOfACancelledBatchThatAReclaimQueuedAgainIsNotRunByThePoolThatClaimsIt() {
    MutableClock clock = new MutableClock(START);
    AtomicInteger handled = new AtomicInteger();
    try (Collab collab = Collab.builder().storage(MemoryStorage.create(clock)).holder("me").build()) {
      collab.batches().submit(BatchSpec.builder("item").id("b").policy(BatchPolicy.retryFailed(1))
          .items(List.of(BatchItem.of("i0", "p"))).build());
      collab.tasks().claimNext("crashed", TTL, Set.of("item")).orElseThrow();
      collab.batches().cancel("b", "stop"); // leaves the claimed item to its claim
      clock.advance(Duration.ofMinutes(2));
      assertThat(collab.tasks().reclaimStale()).extracting(Task::status).containsExactly("queued"); // a retry left
      try (WorkerPool pool = WorkerPool.builder(collab).agentId("w").handler("item", ctx -> {
        handled.incrementAndGet();
        return Outcome.done();
      }).start()) {
        FlowPublisherTest.awaitCondition("the item to end",
            () -> collab.tasks().get("b.i0").orElseThrow().status().equals("failed"));
        assertThat(handled).as("handler calls").hasValue(0);
      }
    }
  }

  @Test
  void aHandlerWhoseClaimWasLostCannotTickTheChecklistOfATaskAnotherWorkerHolds() {
    MutableClock clock = new MutableClock(START);
    TaskHandler handler = ctx -> Outcome.done();
    try (Collab collab = Collab.builder().storage(MemoryStorage.create(clock)).holder("me").build()) {
      collab.tasks().create(NewTask.of("t").withId("t").withLabels("x").withChecklist("one"));
      TaskClaim stale = collab.tasks().claimNext("w", TTL, Set.of("x")).orElseThrow();
      try (WorkerPool pool = WorkerPool.builder(collab).agentId("w").handler("y", handler).start()) {
        WorkerRun run = new WorkerRun(pool, collab.core(), collab, "x", handler, RetryPolicy.defaults(), stale);
        clock.advance(Duration.ofMinutes(2));
        // the claim reclaims the stale claim first (unless the pool's dispatcher, claiming too, already did)
        TaskClaim taken = collab.tasks().claimNext("other", TTL, Set.of("x")).orElseThrow();
        assertThat(taken.lease().fence()).isGreaterThan(stale.lease().fence());
        Task before = collab.tasks().get("t").orElseThrow();
        assertThatThrownBy(() -> new WorkerContext(run).check(0, true)).isInstanceOf(LeaseLostException.class);
        Task after = collab.tasks().get("t").orElseThrow();
        assertThat(after.etag()).as("nothing written").isEqualTo(before.etag());
        assertThat(after.checklist()).extracting(ChecklistItem::done).containsExactly(false);
      }
    }
  }

  @Test
  void aShutdownOnAnInterruptedThreadStillReleasesTheClaimsAndTakesTheAgentOffline() throws Exception {
    CountDownLatch started = new CountDownLatch(1);
    CountDownLatch never = new CountDownLatch(1);
    try (Collab collab = Collab.builder().storage(MemoryStorage.create()).holder("me").build()) {
      collab.tasks().create(NewTask.of("stuck").withId("stuck").withLabels("x"));
      WorkerPool pool = WorkerPool.builder(collab).agentId("w").handler("x", ctx -> {
        started.countDown();
        never.await(); // until the shutdown cancels it
        return Outcome.done();
      }).start();
      started.await();
      Thread.currentThread().interrupt();
      try {
        pool.close();
      } finally {
        assertThat(Thread.interrupted()).as("the interrupt is kept").isTrue();
      }
      assertThat(collab.agents().get("w").orElseThrow().status()).isEqualTo(AgentStatus.OFFLINE);
      // released by the shutdown, or by the cancelled handler's own ending should it get there first
      FlowPublisherTest.awaitCondition("the claim released",
          () -> collab.tasks().get("stuck").orElseThrow().status().equals("queued"));
    }
  }

  @Test
  void aDispatcherThatDiesOfAnErrorStopsClaimingVisibly() {
    ForwardingStorage storage = new ForwardingStorage();
    try (Collab collab = Collab.builder().storage(storage).holder("me").build()) {
      storage.intercept((commit, next) -> {
        if (Thread.currentThread().getName().endsWith("-dispatcher")) {
          throw new AssertionError("the dispatcher's commit failed (test)");
        }
        return next.commit(commit);
      });
      try (WorkerPool pool = WorkerPool.builder(collab).agentId("w").handler("x", ctx -> Outcome.done()).start()) {
        collab.tasks().create(NewTask.of("t").withId("t").withLabels("x"));
        FlowPublisherTest.awaitCondition("the pool to report that it no longer claims", () -> !pool.isClaiming());
        assertThat(collab.tasks().get("t").orElseThrow().status()).isEqualTo("queued");
      }
    }
  }
}
