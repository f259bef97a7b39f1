package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.memory.MemoryStorage;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/**
 * Bug (found in review): leaving again (a second {@code leave}, a pool shut down twice, which is documented as
 * idempotent) recorded another {@code agent_status_changed} "available → offline" for an agent already offline.
 */
class AgentLeaveTest {
  private final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));

  @Test
  void leavingTwiceRecordsOneStatusChange() {
    try (Collab collab = Collab.builder().storage(MemoryStorage.create(clock)).holder("me").build()) {
      collab.agents().register(AgentSpec.of("a", "worker", "x"));
      Lease presence = collab.agents().join("a", Duration.ofMinutes(1));
      collab.agents().leave("a", presence);
      long after = collab.events().lastId();
      collab.agents().leave("a", presence);
      assertThat(collab.events().read(after, EventFilter.all().types(EventType.AGENT_STATUS_CHANGED), 10))
          .as("a second leave of an agent already offline").isEmpty();
    }
  }

  /** WorkerPool.shutdown is documented idempotent. */
  @Test
  void shuttingAPoolDownTwiceRecordsOneLeave() throws Exception {
    try (Collab collab = Collab.builder().storage(MemoryStorage.create(clock)).holder("me").build()) {
      WorkerPool pool = WorkerPool.builder(collab).agentId("w").handler("x", ctx -> Outcome.done()).start();
      pool.shutdown(Duration.ZERO);
      long after = collab.events().lastId();
      pool.shutdown(Duration.ZERO);
      assertThat(collab.events().read(after, EventFilter.all(), 10)).as("events of the second shutdown").isEmpty();
    }
  }
}
