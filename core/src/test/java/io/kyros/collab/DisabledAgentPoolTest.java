package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.memory.MemoryStorage;
import io.kyros.collab.spi.StoredEvent;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Bug (found in review): a disabled agent's pool ran tasks (design.md invariant 7 says its pools do not claim): a
 * disable committed while the pool started was missed, and any status change but "disabled" (such as "left", when
 * another pool of the same agent id stopped) enabled it. The pool now reads the agent's record after subscribing and
 * on each status change, and does not run what it claimed while the disable arrived.
 */
@Timeout(60)
class DisabledAgentPoolTest {
  private final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));

  /** An operator disables the agent while its pool starts: after register() read it, before the pool subscribes. */
  @Test
  void aDisableCommittedWhileThePoolStartsIsNotMissed() throws Exception {
    AtomicReference<Collab> ref = new AtomicReference<>();
    AtomicBoolean armed = new AtomicBoolean();
    ForwardingStorage storage = new ForwardingStorage(MemoryStorage.create(clock)) {
      @Override
      public long lastEventId() { // WorkerPool.start: subscribe(collab.events().lastId(), ...)
        if (armed.getAndSet(false)) {
          ref.get().agents().setEnabled("w", false);
        }
        return super.lastEventId();
      }
    };
    try (Collab collab = Collab.builder().storage(storage).holder("me").build()) {
      ref.set(collab);
      collab.tasks().create(NewTask.of("t").withId("t").withLabels("x"));
      CountDownLatch ran = new CountDownLatch(1);
      armed.set(true);
      try (WorkerPool pool = WorkerPool.builder(collab).agentId("w").handler("x", ctx -> {
        ran.countDown();
        return Outcome.done();
      }).start()) {
        assertThat(collab.agents().get("w").orElseThrow().status()).isEqualTo(AgentStatus.DISABLED);
        assertThat(ran.await(3, TimeUnit.SECONDS)).as("a disabled agent's pool ran a task").isFalse();
      }
    }
  }

  /**
   * Two pools of one Collab get the same default agent id. The first one's shutdown records "left" (disabled ->
   * offline), and the second pool takes any newStatus other than "disabled" for "enabled". Its subscription is held
   * once it has delivered that "left" (a slow subscription), so that its own re-join's "offline -> disabled" arrives
   * late, as it can on any store.
   */
  @Test
  void anotherPoolLeavingDoesNotReEnableADisabledAgentsPool() throws Exception {
    AtomicLong holdAfter = new AtomicLong(Long.MAX_VALUE);
    CountDownLatch ran = new CountDownLatch(1);
    ForwardingStorage storage = new ForwardingStorage(MemoryStorage.create(clock)) {
      @Override
      public List<StoredEvent> readEvents(long afterId, int limit) {
        if (afterId >= holdAfter.get() && Thread.currentThread().getName().startsWith("collab-tail-")) {
          try {
            ran.await(3, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
        return super.readEvents(afterId, limit);
      }
    };
    try (Collab collab = Collab.builder().storage(storage).holder("me").build()) {
      WorkerPool first = WorkerPool.builder(collab).handler("x", ctx -> Outcome.done()).start();
      try (WorkerPool second = WorkerPool.builder(collab).handler("y", ctx -> {
        ran.countDown();
        return Outcome.done();
      }).start()) {
        assertThat(second.agentId()).isEqualTo(first.agentId()); // the default agent id
        collab.agents().setEnabled(first.agentId(), false);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while ((first.isClaiming() || second.isClaiming()) && System.nanoTime() < deadline) {
          java.util.concurrent.locks.LockSupport.parkNanos(1_000_000L);
        }
        assertThat(second.isClaiming()).isFalse();
        collab.tasks().create(NewTask.of("t").withId("t").withLabels("y"));
        holdAfter.set(collab.events().lastId() + 2); // the shutdown records lease_released, then "left"
        first.close();
        assertThat(collab.agents().get(second.agentId()).orElseThrow().status()).isEqualTo(AgentStatus.DISABLED);
        assertThat(ran.await(3, TimeUnit.SECONDS)).as("a disabled agent's pool ran a task").isFalse();
      }
    }
  }
}
