package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.memory.MemoryStorage;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Bug (carried from a review): cancelling (or aborting) a batch writes its reason into each queued item's task as
 * {@code lastError}, whole; an item whose task was near the size limit then made the step fail with
 * {@link ValueTooLargeException}, so the batch could not be cancelled at all. The reason is cut to fit, as a failed
 * attempt's is, and the cancel goes through.
 */
class BatchCancelNearTheSizeLimitTest {
  private static final int LIMIT = 4096;
  private static final String REASON = "r".repeat(300);
  private final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));

  @Test
  void aBatchWhoseQueuedItemIsAtTheSizeLimitIsCancelled() {
    try (Collab collab = Collab.builder().storage(MemoryStorage.create(clock)).holder("me").maxValueBytes(LIMIT)
        .build()) {
      Task task = cancelledItem(collab, largestPayloadThatFits(collab));
      assertThat(task.status()).isEqualTo("failed");
      assertThat(task.lastError()).as("no room for the reason, kept in the batch and its event").isNull();
      assertThat(collab.batches().get("b").orElseThrow().reason()).isEqualTo(REASON);
    }
  }

  @Test
  void aBatchWhoseQueuedItemIsNearTheSizeLimitIsCancelledWithTheReasonCut() {
    try (Collab collab = Collab.builder().storage(MemoryStorage.create(clock)).holder("me").maxValueBytes(LIMIT)
        .build()) {
      // a little room left for the reason once a later claim's room is kept free (create keeps that room free already)
      String payload = largestPayloadThatFits(collab).substring(100);
      Task task = cancelledItem(collab, payload);
      assertThat(task.status()).isEqualTo("failed");
      assertThat(task.lastError()).startsWith("batch b cancelled: rrr").endsWith(TextCut.MARK).hasSizeLessThan(REASON.length());
    }
  }

  @Test
  void aSmallItemKeepsTheWholeReason() {
    try (Collab collab = Collab.builder().storage(MemoryStorage.create(clock)).holder("me").maxValueBytes(LIMIT)
        .build()) {
      assertThat(cancelledItem(collab, "small").lastError()).isEqualTo("batch b cancelled: " + REASON);
    }
  }

  private static Task cancelledItem(Collab collab, String payload) {
    collab.batches().create(BatchSpec.builder("item").id("b").concurrency(1)
        .items(List.of(BatchItem.of("i1", payload))).build());
    collab.batches().start("b");
    assertThat(collab.batches().cancel("b", REASON).state()).isEqualTo(BatchState.CANCELLED);
    return collab.tasks().get(Batches.itemTaskId("b", "i1")).orElseThrow();
  }

  /** The longest item payload whose batch can still be created: its task is a few bytes below the limit. */
  private static String largestPayloadThatFits(Collab collab) {
    int low = 0;
    int high = LIMIT;
    while (low < high) {
      int mid = (low + high + 1) / 2;
      try {
        collab.batches().create(BatchSpec.builder("item").id("probe" + mid)
            .items(List.of(BatchItem.of("i1", "x".repeat(mid)))).build());
        low = mid;
      } catch (ValueTooLargeException tooLarge) {
        high = mid - 1;
      }
    }
    return "x".repeat(low);
  }
}
