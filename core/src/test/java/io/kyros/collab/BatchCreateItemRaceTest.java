package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredRecord;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * create checks the item task ids before its commit but its commit does not expect the pending (not yet released)
 * items' tasks absent, as add's does: a task created with such an id between the check and the commit lets the batch
 * in, and its release then conflicts for ever.
 */
class BatchCreateItemRaceTest {
  @Test
  void aTaskMadeWithAnItemsIdBetweenCreatesCheckAndItsCommitRefusesTheBatch() {
    AtomicBoolean armed = new AtomicBoolean();
    Collab[] other = new Collab[1];
    ForwardingStorage storage = new ForwardingStorage() {
      @Override
      public Optional<StoredRecord> read(RecordKey key) {
        Optional<StoredRecord> r = super.read(key);
        if (key.equals(RecordKeys.task("b.i1")) && armed.compareAndSet(true, false)) {
          other[0].tasks().create(NewTask.of("made by hand").withId("b.i1")); // just after the check read it absent
        }
        return r;
      }
    };
    try (Collab collab = Collab.builder().storage(storage).holder("alice").updateTimeout(Duration.ofSeconds(2))
        .build(); Collab bob = Collab.builder().storage(storage).holder("bob").build()) {
      other[0] = bob;
      armed.set(true);
      // the commit finds b.i1 taken, and the next attempt's check refuses the batch, as if the task had come first
      assertThatThrownBy(() -> collab.batches().submit(BatchSpec.builder("item").id("b")
          .items(List.of(BatchItem.of("i0", "p0"), BatchItem.of("i1", "p1"))).concurrency(1).build()))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("duplicate item id: task b.i1 of batch b already exists");
      assertThat(collab.batches().get("b")).isEmpty();
      assertThat(collab.tasks().get("b.i0")).as("nothing of the batch was written").isEmpty();
      assertThat(collab.tasks().get("b.i1").orElseThrow().title()).isEqualTo("made by hand");
    }
  }
}
