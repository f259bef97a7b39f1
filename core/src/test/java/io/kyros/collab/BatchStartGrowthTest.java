package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.memory.MemoryStorage;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Bug (found in review): {@code Batches.create} (without start) checked only the pending record's size. A start moves
 * up to {@code concurrency} items from the pending list to the in-flight list, each as its task id
 * {@code <batch id>.<item id>}, longer than its pending entry when the batch id is long, so a pending batch accepted
 * near the size limit could never start: every start threw {@link ValueTooLargeException}. {@code create}, and
 * {@code add} on a pending batch, now refuse a batch whose record would not fit as a start would leave it (as
 * {@code submit} does, deciding the start in the same commit), with a message saying so; every pending batch accepted
 * can start.
 */
class BatchStartGrowthTest {
  private static final String ID = "b".repeat(100);
  private final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));

  private Collab open() {
    return Collab.builder().storage(MemoryStorage.create(clock)).holder("me").maxValueBytes(4096).build();
  }

  private static List<BatchItem> items(int from, int to) {
    List<BatchItem> out = new ArrayList<>();
    for (int i = from; i < to; i++) {
      out.add(BatchItem.of("i" + i, ""));
    }
    return out;
  }

  /** The most items create accepts in one pending batch of concurrency 20. */
  private int mostItemsCreateAccepts() {
    int n = 1;
    while (true) {
      try (Collab c = open()) {
        c.batches().create(BatchSpec.builder("item").id(ID).concurrency(20).items(items(0, n + 1)).build());
        n++;
      } catch (ValueTooLargeException e) {
        return n;
      }
    }
  }

  @Test
  void aBatchThatCreateAcceptedCanStart() {
    int n = mostItemsCreateAccepts();
    try (Collab collab = open()) {
      collab.batches().create(BatchSpec.builder("item").id(ID).concurrency(20).items(items(0, n)).build());
      assertThat(collab.batches().start(ID).state()).isEqualTo(BatchState.RUNNING);
    }
    try (Collab collab = open()) {
      assertThatThrownBy(() -> collab.batches().create(BatchSpec.builder("item").id(ID).concurrency(20)
          .items(items(0, n + 1)).build())).isInstanceOf(ValueTooLargeException.class)
          .hasMessageContaining("batch " + ID + " as a start would leave it");
      assertThat(collab.batches().get(ID)).as("nothing written").isEmpty();
    }
  }

  @Test
  void itemsAddedToAPendingBatchLeaveItAbleToStart() {
    int n = mostItemsCreateAccepts();
    try (Collab collab = open()) {
      collab.batches().create(BatchSpec.builder("item").id(ID).concurrency(20).items(items(0, n - 1)).build());
      collab.batches().add(ID, items(n - 1, n));
      assertThatThrownBy(() -> collab.batches().add(ID, items(n, n + 1))).isInstanceOf(ValueTooLargeException.class)
          .hasMessageContaining("as a start would leave it");
      assertThat(collab.batches().get(ID).orElseThrow().progress().total()).isEqualTo(n);
      assertThat(collab.batches().start(ID).state()).isEqualTo(BatchState.RUNNING);
    }
  }
}
