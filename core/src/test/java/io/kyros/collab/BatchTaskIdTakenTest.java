package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.memory.MemoryStorage;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Bug (found in review): a task holding the id of a batch's final step, or of an item still pending, wedged the batch
 * for ever: each step created that task expecting it absent, conflicted, and after the update timeout failed with
 * "concurrent writers kept changing it"; the batch stayed running and no later item was released. Now a final step's
 * id taken before the batch is refused as an item's is, and an id taken later is passed over: the item is counted
 * cancelled (not released), the final step not created, each with a warning.
 */
class BatchTaskIdTakenTest {
  private static final Duration TTL = Duration.ofMinutes(5);
  private final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));

  private Collab collab() {
    return Collab.builder().storage(MemoryStorage.create(clock)).holder("me").updateTimeout(Duration.ofMillis(300))
        .build();
  }

  private static void runNext(Collab collab) {
    collab.tasks().complete(collab.tasks().claimNext("w", TTL, Set.of("item")).orElseThrow());
  }

  @Test
  void aFinalStepTaskIdTakenBeforeTheBatchIsRefused() {
    try (Collab collab = collab()) {
      collab.tasks().create(NewTask.of("someone else's").withId("b.final"));
      BatchSpec spec = BatchSpec.builder("item").id("b").finalStep("fin").items(List.of(BatchItem.of("i0", "p")))
          .build();
      assertThatThrownBy(() -> collab.batches().submit(spec)).isInstanceOf(IllegalArgumentException.class)
          .hasMessage("the final step's task b.final of batch b already exists");
      assertThat(collab.batches().get("b")).as("nothing written").isEmpty();
    }
  }

  @Test
  void idsTakenAfterTheBatchWasCreatedArePassedOverAndTheBatchEnds() {
    try (Collab collab = collab()) {
      collab.batches().submit(BatchSpec.builder("item").id("b").concurrency(1).finalStep("fin")
          .items(List.of(BatchItem.of("i0", "p"), BatchItem.of("i1", "p"), BatchItem.of("i2", "p"))).build());
      collab.tasks().create(NewTask.of("unrelated").withId("b.i1"));
      runNext(collab);
      Batch b = collab.batches().advance("b");
      assertThat(b.progress().cancelled()).as("i1 passed over").isEqualTo(1);
      assertThat(collab.tasks().get("b.i2")).as("i2 released").isPresent();
      assertThat(collab.tasks().get("b.i1").orElseThrow().title()).isEqualTo("unrelated");

      collab.tasks().create(NewTask.of("also unrelated").withId("b.final"));
      runNext(collab);
      Batch ended = collab.batches().advance("b");
      assertThat(ended.state()).isEqualTo(BatchState.COMPLETED_WITH_FAILURES);
      assertThat(ended.progress().succeeded()).isEqualTo(2);
      assertThat(collab.tasks().get("b.final").orElseThrow().title()).as("the final step not created over it")
          .isEqualTo("also unrelated");
    }
  }
}
