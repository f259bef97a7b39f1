package io.kyros.collab;

import static io.kyros.collab.FlowPublisherTest.awaitCondition;
import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.memory.MemoryStorage;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.StoredEvent;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Bug (a conformance test failed once on H2 under load): {@link WorkerPool#isClaiming()} turned false as soon as the
 * pool saw its agent disabled, while a claim the dispatcher had begun before was still being committed; a task
 * created after {@code isClaiming()} was false could be claimed by it (and then released unrun). Now {@code
 * isClaiming()} stays true until such a claim has ended, so once it is false the pool takes nothing.
 */
@Timeout(60)
class DisabledDuringClaimTest {
  private final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));

  @Test
  void aClaimInFlightWhenTheAgentIsDisabledKeepsThePoolClaimingUntilItEnds() throws Exception {
    CountDownLatch claimEntered = new CountDownLatch(1);
    CountDownLatch claimMayCommit = new CountDownLatch(1);
    CountDownLatch listenerHandledDisable = new CountDownLatch(1);
    AtomicBoolean blocked = new AtomicBoolean();
    AtomicLong disableEventId = new AtomicLong(Long.MAX_VALUE);
    AtomicInteger ran = new AtomicInteger();
    ForwardingStorage storage = new ForwardingStorage(MemoryStorage.create(clock)) {
      @Override
      public CommitResult commit(Commit commit) {
        boolean claimsT = Thread.currentThread().getName().endsWith("-dispatcher") && commit.writes().stream()
            .anyMatch(w -> w.key().collection().equals("_tasks") && w.key().id().equals("t"));
        if (claimsT && blocked.compareAndSet(false, true)) { // the pool's first claim of t waits here
          claimEntered.countDown();
          try {
            claimMayCommit.await(30, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
        return super.commit(commit);
      }

      @Override
      public List<StoredEvent> readEvents(long afterId, int limit) {
        if (afterId >= disableEventId.get() && Thread.currentThread().getName().startsWith("collab-tail-")) {
          listenerHandledDisable.countDown(); // the pool's subscription handled the disable and reads on
        }
        return super.readEvents(afterId, limit);
      }
    };
    try (Collab collab = Collab.builder().storage(storage).holder("me").build();
        WorkerPool pool = WorkerPool.builder(collab).agentId("w").handler("x", ctx -> {
          ran.incrementAndGet();
          return Outcome.done();
        }).start()) {
      try {
        collab.tasks().create(NewTask.of("t").withId("t").withLabels("x"));
        assertThat(claimEntered.await(30, TimeUnit.SECONDS)).as("the pool began claiming t").isTrue();
        disableEventId.set(collab.events().lastId() + 1); // before the disable, whose commit appends this one event
        collab.agents().setEnabled("w", false);
        assertThat(listenerHandledDisable.await(30, TimeUnit.SECONDS)).as("the pool saw the disable").isTrue();
        assertThat(pool.isClaiming()).as("claiming while the claim begun before the disable is in flight").isTrue();

        claimMayCommit.countDown();
        awaitCondition("the pool to stop claiming", () -> !pool.isClaiming());
        // the claim ended: t was claimed and, the agent being disabled, released unrun before isClaiming() turned false
        assertThat(collab.tasks().get("t").orElseThrow().status()).isEqualTo("queued");
        collab.tasks().create(NewTask.of("u").withId("u").withLabels("x"));
        assertThat(collab.tasks().get("u").orElseThrow().status()).isEqualTo("queued");
        assertThat(collab.events().read(0, 1000).stream().filter(e -> e.type().equals("task_claimed")).count())
            .as("claims").isEqualTo(1);
        assertThat(ran).hasValue(0);
      } finally {
        claimMayCommit.countDown(); // a failed assertion must not leave the claim waiting 30 s while the pool closes
      }
    }
  }
}
