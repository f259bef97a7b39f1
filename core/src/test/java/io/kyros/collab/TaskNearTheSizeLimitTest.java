package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.memory.MemoryStorage;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Tasks whose stored value is near the size limit (found by an adversarial review): what a claim or a reclaim adds to
 * them (the assignee, the reason a claim ended) must not stop the claims of every other task.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TaskNearTheSizeLimitTest {
  private static final Duration TTL = Duration.ofMinutes(1);
  private static final int LIMIT = 4_000;

  private final MutableClock clock = new MutableClock(Instant.parse("2026-03-02T09:00:00Z"));
  private final MemoryStorage storage = MemoryStorage.create(clock);
  private final Collab collab = Collab.builder().storage(storage).holder("h").maxValueBytes(LIMIT).build();

  /** Creates a task whose value is {@code slack} bytes below the limit, queued, at {@code priority}. */
  private void createNearTheLimit(String id, int priority, int slack) {
    long base;
    try {
      collab.tasks().create(NewTask.of("big").withId(id).withPriority(priority).withDescription("d".repeat(LIMIT)));
      throw new AssertionError("a description as long as the limit fit");
    } catch (ValueTooLargeException e) {
      base = e.size() - LIMIT; // the task's bytes besides its description
    }
    collab.tasks().create(NewTask.of("big").withId(id).withPriority(priority)
        .withDescription("d".repeat((int) (LIMIT - base - slack))));
  }

  /**
   * Bug: reclaiming a stale claim on a task near the limit added its reason ("lease expired at ... (holder ...)") as
   * lastError and failed with ValueTooLargeException, every time, inside every claimNext and reclaimStale: one crashed
   * worker's task stopped every claim of the workflow. The reason is now cut to leave room for the next claim.
   */
  @Test
  void aStaleClaimOnATaskNearTheLimitIsReclaimedWithItsReasonCut() {
    createNearTheLimit("big", 10, TaskClaims.CLAIM_ROOM + 40);
    TaskClaim first = collab.tasks().claimNext("w", TTL, Set.of()).orElseThrow();
    assertThat(first.task().id()).isEqualTo("big");
    collab.tasks().create(NewTask.of("small").withId("small"));
    clock.advance(TTL.plusSeconds(1)); // the worker crashed

    TaskClaim again = collab.tasks().claimNext("w2", TTL, Set.of()).orElseThrow();
    assertThat(again.task().id()).as("reclaimed, then the best task again").isEqualTo("big");
    assertThat(again.task().attempts()).isEqualTo(1);
    assertThat(again.task().lastError()).startsWith("lease ex").endsWith(TaskClaims.CUT_MARK);
    assertThat(collab.tasks().claimNext("w3", TTL, Set.of()).orElseThrow().task().id()).isEqualTo("small");
    assertThat(collab.events().read(0, EventFilter.all().types("task_reclaimed"), 10)).hasSize(1);
  }

  /** reclaimStale: the reason cut where it does not fit, whole where it does, left out where nothing fits. */
  @Test
  void reclaimStaleCutsOnlyWhatDoesNotFit() {
    createNearTheLimit("full", 10, 10);
    createNearTheLimit("big", 9, TaskClaims.CLAIM_ROOM + 40);
    createNearTheLimit("roomy", 5, TaskClaims.CLAIM_ROOM + 200);
    assertThat(collab.tasks().claimUpTo(3, "w", TTL, Set.of())).hasSize(3);
    clock.advance(TTL.plusSeconds(1));
    assertThat(collab.tasks().reclaimStale()).extracting(Task::id).containsExactlyInAnyOrder("full", "big", "roomy");
    assertThat(collab.tasks().get("full").orElseThrow().lastError()).isNull();
    assertThat(collab.tasks().get("big").orElseThrow().lastError()).endsWith(TaskClaims.CUT_MARK);
    assertThat(collab.tasks().get("roomy").orElseThrow().lastError())
        .isEqualTo("lease expired at 2026-03-02T09:01:00Z (holder w)");
    assertThat(collab.tasks().claimUpTo(3, "w2", TTL, Set.of())).extracting(c -> c.task().id())
        .containsExactlyInAnyOrder("full", "big", "roomy");
  }

  /**
   * Bug: a queued task near the limit, whose claimed copy a long worker name takes over it, made claimNext throw
   * ValueTooLargeException for that worker instead of taking the next task, every time; ready() listed both.
   */
  @Test
  void aTaskThatAWorkersNameTakesOverTheLimitIsPassedOverForTheNext() {
    createNearTheLimit("big", 10, 10);
    collab.tasks().create(NewTask.of("small").withId("small"));
    String longName = "worker-" + "x".repeat(100);

    TaskClaim got = collab.tasks().claimNext(longName, TTL, Set.of()).orElseThrow();
    assertThat(got.task().id()).isEqualTo("small");
    assertThat(collab.tasks().claimNext(longName, TTL, Set.of())).as("nothing else it can store").isEmpty();
    assertThatThrownBy(() -> collab.tasks().claim("big", longName, TTL)).isInstanceOf(ValueTooLargeException.class);
    assertThat(collab.tasks().get("big").orElseThrow().status()).isEqualTo("queued");
    assertThat(collab.tasks().claimNext("w", TTL, Set.of()).orElseThrow().task().id()).isEqualTo("big");
  }

  /**
   * Bug (found in review of the fix above): a call passed over at most the first page's candidates, and a round read
   * the same page again, so five such tasks at the head of the queue made claimNext answer empty while a smaller task
   * was claimable behind them.
   */
  @Test
  void manyTasksTooLargeForAWorkerAtTheHeadOfTheQueueDoNotHideTheTaskBehindThem() {
    for (int i = 0; i < 12; i++) {
      createNearTheLimit("big-" + i, 10, 10);
    }
    collab.tasks().create(NewTask.of("small").withId("small"));
    String longName = "worker-" + "x".repeat(100);
    assertThat(collab.tasks().claimNext(longName, TTL, Set.of()).orElseThrow().task().id()).isEqualTo("small");
    assertThat(collab.tasks().claimNext(longName, TTL, Set.of())).isEmpty();
    assertThat(collab.tasks().claimUpTo(20, "w", TTL, Set.of())).hasSize(12);
  }
}
