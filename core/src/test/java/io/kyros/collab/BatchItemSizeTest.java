package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.memory.MemoryStorage;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Bug (found in review): {@code create} (without start) and {@code add} accepted an item that fits in the batch record
 * but not in its task (which carries the batch id twice more: its id and its {@code batch.<id>} label), so every
 * {@code start} or step then failed with {@link ValueTooLargeException} and the batch could only be cancelled. Such an
 * item is refused when it is created or added, and nothing is written.
 */
class BatchItemSizeTest {
  private final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));

  @Test
  void anItemWhoseTaskWouldBeTooLargeIsRefusedWhenCreatedOrAdded() {
    try (Collab collab = Collab.builder().storage(MemoryStorage.create(clock)).holder("me").maxValueBytes(4096)
        .build()) {
      String id = "b".repeat(120);
      BatchSpec spec = BatchSpec.builder("item").id(id).items(List.of(BatchItem.of("i1", "x".repeat(3580)))).build();
      assertThatThrownBy(() -> collab.batches().create(spec)).isInstanceOf(ValueTooLargeException.class)
          .hasMessageContaining("task " + id + ".i1");
      assertThat(collab.batches().get(id)).as("nothing written").isEmpty();

      collab.batches().create(BatchSpec.builder("item").id(id).items(List.of(BatchItem.of("i0", "small"))).build());
      assertThatThrownBy(() -> collab.batches().add(id, List.of(BatchItem.of("i1", "x".repeat(3580)))))
          .isInstanceOf(ValueTooLargeException.class).hasMessageContaining("task " + id + ".i1");
      assertThat(collab.batches().get(id).orElseThrow().progress().total()).isEqualTo(1);
      assertThat(collab.batches().start(id).state()).isEqualTo(BatchState.RUNNING);
    }
  }
}
