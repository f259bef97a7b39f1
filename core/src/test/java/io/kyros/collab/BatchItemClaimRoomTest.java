package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.memory.MemoryStorage;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Bug (found in review): {@code Batches.create}, {@code submit} and {@code add} checked an item's task only against
 * {@code maxValueBytes}, leaving no room for what a claim adds to it later (the worker as assignee, the claimed
 * status, times: {@link TaskClaims#CLAIM_ROOM}, the room a reclaim's or a cancel's {@code lastError} also leaves). An
 * item whose task fit but could not be claimed was accepted and released, and every claim then passed it over: the
 * batch never ended. Such an item is now refused when it is created, submitted or added, with a
 * {@link ValueTooLargeException} naming its task; every item accepted leaves that room, so it can be claimed (by a
 * worker with a long name), and a batch of such items can still be cancelled or aborted.
 */
class BatchItemClaimRoomTest {
  private static final int LIMIT = 4096;
  private final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));

  private static Collab open(MutableClock clock) {
    return Collab.builder().storage(MemoryStorage.create(clock)).holder("me").maxValueBytes(LIMIT).build();
  }

  /** The largest payload whose item task create accepts, in batch {@code batchId}. */
  private int largestPayload(String batchId) {
    int lo = 0;
    int hi = LIMIT;
    while (lo < hi) {
      int mid = (lo + hi + 1) / 2;
      try (Collab c = open(clock)) {
        c.batches().create(BatchSpec.builder("item").id(batchId).concurrency(1)
            .items(List.of(BatchItem.of("i1", "x".repeat(mid)))).build());
        lo = mid;
      } catch (ValueTooLargeException e) {
        hi = mid - 1;
      }
    }
    return lo;
  }

  @Test
  void theLargestItemAcceptedLeavesRoomForAClaimAndOneMoreByteIsRefused() {
    String id = "b".repeat(100);
    int payload = largestPayload(id);
    MemoryStorage storage = MemoryStorage.create(clock);
    try (Collab collab = Collab.builder().storage(storage).holder("me").maxValueBytes(LIMIT).build()) {
      collab.batches().submit(BatchSpec.builder("item").id(id).concurrency(1)
          .items(List.of(BatchItem.of("i1", "x".repeat(payload)))).build());
      String task = storage.read(RecordKeys.task(id + ".i1")).orElseThrow().json();
      assertThat(task.getBytes(StandardCharsets.UTF_8).length).as("the released task")
          .isLessThanOrEqualTo(LIMIT - TaskClaims.CLAIM_ROOM).isGreaterThan(LIMIT - TaskClaims.CLAIM_ROOM - 8);
    }
    try (Collab collab = open(clock)) {
      BatchSpec tooLarge = BatchSpec.builder("item").id(id).concurrency(1)
          .items(List.of(BatchItem.of("i1", "x".repeat(payload + 1)))).build();
      assertThatThrownBy(() -> collab.batches().submit(tooLarge)).isInstanceOf(ValueTooLargeException.class)
          .hasMessageContaining("task " + id + ".i1").hasMessageContaining(TaskClaims.CLAIM_ROOM + " bytes a claim");
      assertThat(collab.batches().get(id)).as("nothing written").isEmpty();

      collab.batches().create(BatchSpec.builder("item").id(id).items(List.of(BatchItem.of("i0", "small"))).build());
      assertThatThrownBy(() -> collab.batches().add(id, List.of(BatchItem.of("i1", "x".repeat(payload + 1)))))
          .isInstanceOf(ValueTooLargeException.class).hasMessageContaining("task " + id + ".i1");
      assertThat(collab.batches().get(id).orElseThrow().progress().total()).as("nothing added").isEqualTo(1);
    }
  }

  @Test
  void anItemCreateAcceptedCanBeClaimed() {
    String id = "b".repeat(100);
    int payload = largestPayload(id);
    try (Collab collab = open(clock)) {
      collab.batches().submit(BatchSpec.builder("item").id(id).concurrency(1)
          .items(List.of(BatchItem.of("i1", "x".repeat(payload)))).build());
      // a worker named as a pool's default agent id is: host-pid-random
      assertThat(collab.tasks().claimNext("build-host-01.example.org-12345-k3j4h5g6", Duration.ofMinutes(1),
          Set.of("item"))).as("the only item of the batch, claimable").isPresent();
    }
  }

  @Test
  void aBatchWhoseItemNearsTheLimitCanBeCancelled() {
    int payload = largestPayload("b");
    try (Collab collab = open(clock)) {
      collab.batches().submit(BatchSpec.builder("item").id("b").concurrency(1)
          .items(List.of(BatchItem.of("i1", "x".repeat(payload)))).build());
      assertThat(collab.tasks().get("b.i1")).as("released").isPresent();
      Batch b = collab.batches().cancel("b", "r".repeat(300)); // a reason the javadoc allows
      assertThat(b.state()).isEqualTo(BatchState.CANCELLED);
    }
  }

  @Test
  void anAbortAllBatchWhoseQueuedItemNearsTheLimitStillEnds() {
    String id = "b".repeat(100);
    int payload = largestPayload(id);
    try (Collab collab = open(clock)) {
      collab.batches().submit(BatchSpec.builder("item").id(id).concurrency(2).policy(BatchPolicy.abortAll())
          .items(List.of(BatchItem.of("i1", "small"), BatchItem.of("i2", "x".repeat(payload)))).build());
      TaskClaim c = collab.tasks().claimNext("w", Duration.ofMinutes(1), Set.of("item")).orElseThrow();
      assertThat(c.task().id()).isEqualTo(id + ".i1");
      collab.tasks().fail(c, "boom", null);
      Batch after = collab.batches().advance(id); // what a pool does after the item ended
      assertThat(after.state()).isEqualTo(BatchState.ABORTED);
      assertThat(collab.tasks().get(id + ".i2").orElseThrow().status()).as("the queued item").isEqualTo("failed");
    }
  }
}
