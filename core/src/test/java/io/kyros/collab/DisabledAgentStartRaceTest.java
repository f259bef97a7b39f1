package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.memory.MemoryStorage;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredEvent;
import io.kyros.collab.spi.StoredRecord;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Review: WorkerPool.start() reads the agent's record after subscribing and then assigns {@code enabled}; the pool's
 * subscription thread does the same on agent_status_changed. Neither read-and-assign is atomic against the other: a
 * disable committed between start()'s read and its assignment is handled by the listener first (enabled = false),
 * then start() overwrites it with its stale read (enabled = true), and the disabled agent's pool claims and runs.
 */
/**
 * Bug (found in review of the disabled-agent fix): the pool's start read the agent's record and assigned it after the
 * subscription's thread had read and assigned a later one (the disable), so the pool claimed for a disabled agent.
 * Then (its fix held a lock over start's reading, so the subscription's reading waited for it; a CI run under load
 * failed): between start's assignment of its older reading and the subscription's, the dispatcher claimed and ran. The
 * reading begun last wins now, and start waits for it before the dispatcher starts.
 */
@Timeout(60)
class DisabledAgentStartRaceTest {
  private final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));

  @Test
  void aStaleStartReadDoesNotOverwriteTheListenersDisable() throws Exception {
    AtomicReference<Collab> ref = new AtomicReference<>();
    AtomicBoolean subscribed = new AtomicBoolean();
    AtomicLong disableEventId = new AtomicLong(Long.MAX_VALUE);
    CountDownLatch listenerHandledDisable = new CountDownLatch(1);
    CountDownLatch ran = new CountDownLatch(1);
    Thread starter = Thread.currentThread();
    ForwardingStorage storage = new ForwardingStorage(MemoryStorage.create(clock)) {
      @Override
      public long lastEventId() { // WorkerPool.start: subscribe(collab.events().lastId(), ...)
        if (Thread.currentThread() == starter && ref.get() != null) {
          subscribed.set(true);
        }
        return super.lastEventId();
      }

      @Override
      public Optional<StoredRecord> read(RecordKey key) {
        if (key.collection().equals("_agents") && Thread.currentThread().getName().startsWith("collab-tail-")
            && disableEventId.get() != Long.MAX_VALUE) {
          // the subscription's reading of the disable is slow: a pool that let start assign its older reading first
          // (the fix before this one) claims and runs meanwhile; one whose dispatcher waits for this reading runs
          // nothing, and this reading goes on after 5 s
          try {
            ran.await(5, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
        Optional<StoredRecord> r = super.read(key);
        // start()'s read of the agent record after subscribing: an operator's disable lands right after it
        if (key.collection().equals("_agents") && Thread.currentThread() == starter && subscribed.getAndSet(false)) {
          ref.get().agents().setEnabled("w", false);
          disableEventId.set(super.lastEventId());
          try {
            // the subscription reads the disable while this reading is still under way: it must win over this one
            listenerHandledDisable.await(30, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
        return r;
      }

      @Override
      public List<StoredEvent> readEvents(long afterId, int limit) {
        if (afterId >= disableEventId.get() && Thread.currentThread().getName().startsWith("collab-tail-")) {
          listenerHandledDisable.countDown(); // the subscription delivered the disable and reads on
        }
        return super.readEvents(afterId, limit);
      }
    };
    try (Collab collab = Collab.builder().storage(storage).holder("me").build()) {
      collab.tasks().create(NewTask.of("t").withId("t").withLabels("x"));
      ref.set(collab);
      try (WorkerPool pool = WorkerPool.builder(collab).agentId("w").handler("x", ctx -> {
        ran.countDown();
        return Outcome.done();
      }).start()) {
        assertThat(listenerHandledDisable.await(10, TimeUnit.SECONDS)).as("the listener handled the disable").isTrue();
        assertThat(collab.agents().get("w").orElseThrow().status()).isEqualTo(AgentStatus.DISABLED);
        assertThat(ran.await(3, TimeUnit.SECONDS)).as("a disabled agent's pool ran a task").isFalse();
        assertThat(pool.isClaiming()).isFalse();
      }
    }
  }
}
