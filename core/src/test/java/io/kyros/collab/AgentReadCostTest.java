package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.memory.MemoryStorage;
import io.kyros.collab.spi.StoredRecord;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Bug (found in review): reading one agent ({@code get}, {@code list}, {@code register}, so every pool start) read
 * every task in the store to find the claims it holds: a cost that grew with every task ever created. It now reads
 * the tasks in the statuses that hold a claim, through the board's status index.
 */
@Timeout(60)
class AgentReadCostTest {
  private final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));

  /** Agents.get judges busy/available by reading every task in the store, done ones included. */
  @Test
  void readingAnAgentDoesNotReadEveryTaskInTheStore() {
    AtomicLong listed = new AtomicLong();
    ForwardingStorage storage = new ForwardingStorage(MemoryStorage.create(clock)) {
      @Override
      public List<StoredRecord> list(String collection, String afterId, int limit) {
        List<StoredRecord> page = super.list(collection, afterId, limit);
        listed.addAndGet(page.size());
        return page;
      }
    };
    try (Collab collab = Collab.builder().storage(storage).holder("me").build()) {
      collab.agents().register(AgentSpec.of("a", "worker", "x"));
      for (int i = 0; i < 2000; i++) {
        collab.tasks().create(NewTask.of("t" + i).withId("t" + i).withLabels("x"));
        collab.tasks().complete(collab.tasks().claimNext("other", Duration.ofMinutes(1), Set.of("x")).orElseThrow());
      }
      listed.set(0);
      collab.tasks().create(NewTask.of("held").withId("held").withLabels("x"));
      collab.tasks().claimNext("a", Duration.ofMinutes(1), Set.of("x")).orElseThrow();
      Agent a = collab.agents().get("a").orElseThrow();
      assertThat(listed.get()).as("records read to judge one agent, with 2000 done tasks").isLessThan(100);
      assertThat(a.currentTasks()).containsExactly("held");
    }
  }
}
