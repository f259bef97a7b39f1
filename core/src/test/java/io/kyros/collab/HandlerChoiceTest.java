package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.memory.MemoryStorage;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Bug (found in review): a task carrying several served labels went to the handler of its first label in alphabetical
 * order, not to the first handler added, as {@code WorkerPool.Builder#handler} says.
 */
@Timeout(60)
class HandlerChoiceTest {
  private final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));

  /** WorkerPool.Builder#handler: "A task carrying several served labels goes to the first handler added." */
  @Test
  void aTaskWithSeveralServedLabelsGoesToTheFirstHandlerAdded() throws Exception {
    try (Collab collab = Collab.builder().storage(MemoryStorage.create(clock)).holder("me").build()) {
      CompletableFuture<String> ranBy = new CompletableFuture<>();
      try (WorkerPool pool = WorkerPool.builder(collab).agentId("w")
          .handler("zeta", ctx -> {
            ranBy.complete("zeta");
            return Outcome.done();
          })
          .handler("alpha", ctx -> {
            ranBy.complete("alpha");
            return Outcome.done();
          }).start()) {
        collab.tasks().create(NewTask.of("t").withId("t").withLabels("alpha", "zeta"));
        assertThat(ranBy.get(30, TimeUnit.SECONDS)).as("the handler that ran").isEqualTo("zeta");
      }
    }
  }
}
