package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.memory.MemoryStorage;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredRecord;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Review: WorkerPool.start() now reads the agent record after it took the presence lease (with its keep-alive) and
 * subscribed. A storage error on that read makes start() throw, leaving no pool to close, while the keep-alive goes on
 * renewing the presence: the agent shows online, renewed for ever, with no pool behind it.
 */
/**
 * Bug (found in review): a pool whose start failed after it took its agent's presence left the presence kept alive
 * and its subscription running, with no pool for the caller to close: the agent showed available for ever. A failed
 * start now ends what it started and takes the agent offline.
 */
@Timeout(60)
class PoolStartFailureTest {
  private final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));

  @Test
  void aPoolWhoseStartFailedLeavesNoAgentOnline() throws Exception {
    AtomicBoolean subscribed = new AtomicBoolean();
    Thread starter = Thread.currentThread();
    ForwardingStorage storage = new ForwardingStorage(MemoryStorage.create(clock)) {
      @Override
      public long lastEventId() {
        if (Thread.currentThread() == starter) {
          subscribed.set(true);
        }
        return super.lastEventId();
      }

      @Override
      public Optional<StoredRecord> read(RecordKey key) {
        if (key.collection().equals("_agents") && Thread.currentThread() == starter && subscribed.getAndSet(false)) {
          throw new StorageException("connection reset (test)");
        }
        return super.read(key);
      }
    };
    try (Collab collab = Collab.builder().storage(storage).holder("me").build()) {
      Duration ttl = Duration.ofMillis(300);
      assertThatThrownBy(() -> WorkerPool.builder(collab).agentId("w").claimTtl(ttl)
          .handler("x", ctx -> Outcome.done()).start()).isInstanceOf(StorageException.class);
      // time passes well beyond the presence ttl; a leaked keep-alive renews it meanwhile
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
      while (System.nanoTime() < deadline) {
        clock.advance(Duration.ofMillis(20));
        LockSupport.parkNanos(10_000_000L);
      }
      assertThat(collab.agents().get("w").orElseThrow().status()).as("agent of a pool that never started")
          .isEqualTo(AgentStatus.OFFLINE);
    }
  }
}
