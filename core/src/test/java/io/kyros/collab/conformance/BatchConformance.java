package io.kyros.collab.conformance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.Batch;
import io.kyros.collab.BatchItem;
import io.kyros.collab.BatchPolicy;
import io.kyros.collab.BatchProgress;
import io.kyros.collab.BatchSpec;
import io.kyros.collab.BatchState;
import io.kyros.collab.Collab;
import io.kyros.collab.Event;
import io.kyros.collab.EventType;
import io.kyros.collab.InvalidTransitionException;
import io.kyros.collab.NotFoundException;
import io.kyros.collab.Outcome;
import io.kyros.collab.PreconditionFailedException;
import io.kyros.collab.RetryPolicy;
import io.kyros.collab.Subscription;
import io.kyros.collab.Task;
import io.kyros.collab.TaskFilter;
import io.kyros.collab.TaskHandler;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Batches (issue 14): the concurrency limit kept through the store across pools, the three failure policies, the
 * final step, the state machine, progress with its ETag and subscription, cancellation, and bad input refused before
 * anything is written.
 */
public abstract class BatchConformance extends WorkerConformance {

  private static final RetryPolicy FAST = RetryPolicy.builder().backoff(Duration.ofSeconds(1), Duration.ofSeconds(1))
      .build();

  private static List<BatchItem> items(int n) {
    List<BatchItem> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(BatchItem.of("i" + i, "payload " + i));
    }
    return out;
  }

  /** Waits until the batch has ended, moving the clock past any retry backoff of its items. */
  private Batch awaitEnd(String id) {
    awaitCondition("batch " + id + " ended with every item finished", () -> {
      Instant now = clock.instant();
      for (Task t : collab.tasks().list(TaskFilter.all().statuses("queued").labels("batch." + id))) {
        if (t.notBefore() != null && t.notBefore().isAfter(now)) {
          clock.set(t.notBefore().truncatedTo(java.time.temporal.ChronoUnit.MILLIS).plusMillis(1));
        }
      }
      Batch b = collab.batches().get(id).orElseThrow();
      return b.state().isTerminal() && b.progress().running() == 0 && b.progress().queued() == 0;
    });
    return collab.batches().get(id).orElseThrow();
  }

  private List<Event> itemEvents(String batchId) {
    return events(EventType.TASK_CLAIMED, EventType.TASK_COMPLETED, EventType.TASK_FAILED, EventType.TASK_RELEASED,
        EventType.TASK_RECLAIMED, EventType.TASK_TRANSITIONED).stream()
        .filter(e -> e.details().path("id").asText().startsWith(batchId + ".")).toList();
  }

  @Test
  void batch_continueOnFailureRunsEveryItemWithinTheLimitAcrossPoolsThenTheFinalStep() {
    List<String> finals = new CopyOnWriteArrayList<>();
    TaskHandler items = ctx -> ctx.task().description().endsWith("3") || ctx.task().description().endsWith("7")
        ? Outcome.fail("odd payload " + ctx.task().description()) : Outcome.done();
    TaskHandler report = ctx -> {
      finals.add(ctx.task().description());
      assertThat(ctx.batchId()).contains("b1");
      return Outcome.done();
    };
    Collab other = newCollab("bob");
    pool(collab, "w1", b -> b.concurrency(4).retryPolicy(FAST).handler("item", items).handler("report", report));
    pool(other, "w2", b -> b.concurrency(4).retryPolicy(FAST).handler("item", items).handler("report", report));
    Batch submitted = collab.batches().submit(BatchSpec.builder("item").id("b1").items(items(12)).concurrency(3)
        .finalStep("report").build());
    assertThat(submitted.state()).isEqualTo(BatchState.RUNNING);
    assertThat(submitted.progress().total()).isEqualTo(12);
    Batch end = awaitEnd("b1");
    assertThat(end.state()).isEqualTo(BatchState.COMPLETED_WITH_FAILURES);
    assertThat(end.progress()).isEqualTo(new BatchProgress(12, 0, 0, 10, 2, 0, 100));
    awaitCondition("final step done", () -> collab.tasks().get("b1.final").map(t -> t.status().equals("done"))
        .orElse(false));
    assertThat(finals).containsExactly("b1");
    assertThat(end.finalStepTaskId()).isEqualTo("b1.final");
    List<Event> log = itemEvents("b1");
    assertThat(maxHeldAtOnce(log, id -> !id.equals("b1.final"))).isBetween(1, 3);
    assertThat(log.stream().filter(e -> e.type().equals("task_claimed") && !e.details().path("id").asText()
        .equals("b1.final")).count()).isEqualTo(12); // each item claimed once: no retry under this policy
    long lastItemEnd = log.stream().filter(e -> !e.details().path("id").asText().equals("b1.final")
        && !e.type().equals("task_claimed")).mapToLong(Event::id).max().orElseThrow();
    long finalClaim = log.stream().filter(e -> e.type().equals("task_claimed")
        && e.details().path("id").asText().equals("b1.final")).mapToLong(Event::id).min().orElseThrow();
    assertThat(finalClaim).isGreaterThan(lastItemEnd);
    assertThat(collab.tasks().get("b1.i3").orElseThrow().lastError()).isEqualTo("Outcome.fail: odd payload payload 3");
  }

  @Test
  void batch_abortAllCancelsQueuedItemsAndSignalsRunningOnes() throws Exception {
    CountDownLatch blockerStarted = new CountDownLatch(1);
    List<String> cancelled = new CopyOnWriteArrayList<>();
    pool(collab, "w1", b -> b.concurrency(4).handler("item", ctx -> {
      if (ctx.task().id().equals("b2.i0")) {
        blockerStarted.await();
        throw new IllegalStateException("first failure");
      }
      blockerStarted.countDown();
      try {
        new CountDownLatch(1).await(1, TimeUnit.MINUTES);
      } catch (InterruptedException e) {
        cancelled.add(ctx.cancellationReason().orElseThrow());
        throw e;
      }
      return Outcome.done();
    }));
    collab.batches().submit(BatchSpec.builder("item").id("b2").items(items(10)).concurrency(2)
        .policy(BatchPolicy.abortAll()).finalStep("report").build());
    Batch end = awaitEnd("b2");
    assertThat(end.state()).isEqualTo(BatchState.ABORTED);
    assertThat(end.reason()).isEqualTo("item task b2.i0 failed");
    assertThat(end.progress()).isEqualTo(new BatchProgress(10, 0, 0, 0, 1, 9, 100));
    assertThat(cancelled).containsExactly("batch b2 aborted");
    Event aborted = events(EventType.BATCH_STATE_CHANGED).stream()
        .filter(e -> e.details().path("newState").asText().equals("aborted")).findFirst().orElseThrow();
    assertThat(itemEvents("b2").stream().filter(e -> e.type().equals("task_claimed"))
        .filter(e -> e.id() > aborted.id())).isEmpty();
    assertThat(collab.tasks().get("b2.i5")).isEmpty(); // never released
    assertThat(collab.tasks().get("b2.final")).isNotEmpty(); // the final step runs after an abort too
  }

  @Test
  void batch_retryFailedRunsFailedItemsAgainThenEndsFailedIfAnyStillFails() {
    pool(collab, "w1", b -> b.concurrency(2).retryPolicy(FAST).handler("item", ctx -> {
      if (ctx.task().id().equals("b3.i1") && ctx.attempt() < 3) {
        throw new IllegalStateException("flaky " + ctx.attempt());
      }
      if (ctx.task().id().equals("b3.i2")) {
        throw new IllegalStateException("always");
      }
      return Outcome.done();
    }));
    collab.batches().submit(BatchSpec.builder("item").id("b3").items(items(4)).concurrency(2)
        .policy(BatchPolicy.retryFailed(2)).build());
    Batch end = awaitEnd("b3");
    assertThat(end.state()).isEqualTo(BatchState.FAILED);
    assertThat(end.progress()).isEqualTo(new BatchProgress(4, 0, 0, 3, 1, 0, 100));
    assertThat(collab.tasks().get("b3.i1").orElseThrow().attempts()).isEqualTo(2);
    assertThat(collab.tasks().get("b3.i2").orElseThrow().attempts()).isEqualTo(3);
    assertThat(collab.tasks().get("b3.i2").orElseThrow().maxAttempts()).isEqualTo(3);
  }

  @Test
  void batch_retryFailedEndsCompletedWhenEveryItemSucceedsAtLast() {
    pool(collab, "w1", b -> b.concurrency(2).retryPolicy(FAST).handler("item", ctx -> ctx.attempt() < 2
        ? Outcome.fail("first try") : Outcome.done()));
    collab.batches().submit(BatchSpec.builder("item").id("b4").items(items(3)).concurrency(1)
        .policy(BatchPolicy.retryFailed(1)).build());
    assertThat(awaitEnd("b4").state()).isEqualTo(BatchState.COMPLETED);
  }

  @Test
  void batch_cancelStopsQueuedAndRunningItemsAndRunsNoFinalStep() throws Exception {
    CountDownLatch twoRunning = new CountDownLatch(2);
    pool(collab, "w1", b -> b.concurrency(4).handler("item", ctx -> {
      twoRunning.countDown();
      new CountDownLatch(1).await(1, TimeUnit.MINUTES);
      return Outcome.done();
    }));
    collab.batches().submit(BatchSpec.builder("item").id("b5").items(items(6)).concurrency(2).finalStep("report")
        .build());
    assertThat(twoRunning.await(1, TimeUnit.MINUTES)).isTrue();
    Batch cancelled = collab.batches().cancel("b5", "operator changed their mind");
    assertThat(cancelled.state()).isEqualTo(BatchState.CANCELLED);
    assertThat(cancelled.reason()).isEqualTo("operator changed their mind");
    Batch end = awaitEnd("b5");
    assertThat(end.progress()).isEqualTo(new BatchProgress(6, 0, 0, 0, 0, 6, 100));
    assertThat(end.finalStepTaskId()).isNull();
    assertThat(collab.tasks().get("b5.final")).isEmpty();
    assertThatThrownBy(() -> collab.batches().cancel("b5", "again")).isInstanceOf(InvalidTransitionException.class)
        .hasMessageContaining("cancelled -> cancelled");
  }

  @Test
  void batch_stateMachineRefusesInvalidMovesAndWritesNothing() {
    Batch pending = collab.batches().create(BatchSpec.builder("item").id("b6").items(items(2)).build());
    assertThat(pending.state()).isEqualTo(BatchState.PENDING);
    assertThat(collab.tasks().list(TaskFilter.all())).isEmpty(); // nothing released while pending
    Batch more = collab.batches().add("b6", List.of(BatchItem.of("extra", "x")));
    assertThat(more.progress().total()).isEqualTo(3);
    Batch running = collab.batches().start("b6");
    assertThat(running.state()).isEqualTo(BatchState.RUNNING);
    assertThat(collab.tasks().list(TaskFilter.all())).extracting(Task::id).containsExactlyInAnyOrder("b6.i0", "b6.i1",
        "b6.extra");
    long before = collab.events().lastId();
    assertThatThrownBy(() -> collab.batches().start("b6")).isInstanceOf(InvalidTransitionException.class)
        .hasMessageContaining("running -> running");
    collab.batches().cancel("b6", "test");
    before = collab.events().lastId();
    assertThatThrownBy(() -> collab.batches().add("b6", List.of(BatchItem.of("late", "x"))))
        .isInstanceOf(InvalidTransitionException.class).hasMessageContaining("cancelled -> add items");
    assertThatThrownBy(() -> collab.batches().start("b6")).isInstanceOf(InvalidTransitionException.class);
    assertThat(collab.events().lastId()).isEqualTo(before);
    List<String> types = events(EventType.BATCH_CREATED, EventType.BATCH_ITEMS_ADDED, EventType.BATCH_STATE_CHANGED)
        .stream().map(e -> e.type() + ":" + e.details().path("newState").asText("")).toList();
    assertThat(types).containsExactly("batch_created:", "batch_items_added:", "batch_state_changed:running",
        "batch_state_changed:cancelled");
  }

  @Test
  void batch_badInputIsRefusedNamingTheConditionAndWritesNothing() {
    long before = collab.events().lastId();
    assertThatThrownBy(() -> BatchSpec.builder("item").items(items(2)).concurrency(0).build())
        .isInstanceOf(IllegalArgumentException.class).hasMessage("concurrency must be positive: 0");
    assertThatThrownBy(() -> BatchSpec.builder("item").items(items(2)).concurrency(-1).build())
        .isInstanceOf(IllegalArgumentException.class).hasMessage("concurrency must be positive: -1");
    assertThatThrownBy(() -> BatchSpec.builder("item").build()).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("a batch needs at least one item: items is empty");
    assertThatThrownBy(() -> BatchSpec.builder("item").items(List.of(BatchItem.of("a", "1"), BatchItem.of("a", "2")))
        .build()).isInstanceOf(IllegalArgumentException.class).hasMessage("duplicate item id: a");
    assertThatThrownBy(() -> BatchPolicy.of("stop-on-error", 0)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("unknown batch policy: \"stop-on-error\" (known: continue-on-failure, abort-all, retry-failed)");
    assertThatThrownBy(() -> BatchPolicy.retryFailed(0)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("retries must be between 1 and 100 for retry-failed: 0");
    assertThatThrownBy(() -> BatchItem.of("final", "x")).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("item id final is reserved for the batch's final step");
    // a label naming another batch would make the items that batch's (Batches.batchOf reads the first batch. label)
    assertThatThrownBy(() -> BatchSpec.builder("batch.a").id("z1").items(items(1)).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("label must not start with batch. (reserved: it names the batch of an item): batch.a");
    assertThatThrownBy(() -> BatchSpec.builder("item").id("z1").items(items(1)).finalStep("batch.z1").build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("finalStepLabel must not start with batch. (reserved: it names the batch of an item): batch.z1");
    assertThatThrownBy(() -> collab.batches().start("missing")).isInstanceOf(NotFoundException.class);
    assertThatThrownBy(() -> collab.batches().add("missing", items(1))).isInstanceOf(NotFoundException.class);
    assertThat(collab.events().lastId()).isEqualTo(before);
    collab.batches().create(BatchSpec.builder("item").id("b7").items(items(2)).build());
    before = collab.events().lastId();
    assertThatThrownBy(() -> collab.batches().add("b7", List.of(BatchItem.of("i1", "again"))))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("duplicate item id: i1");
    assertThatThrownBy(() -> collab.batches().add("b7", List.of())).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("a batch needs at least one item: items is empty");
    assertThatThrownBy(() -> collab.batches().create(BatchSpec.builder("item").id("b7").items(items(1)).build()))
        .isInstanceOf(PreconditionFailedException.class);
    collab.batches().start("b7");
    before = collab.events().lastId();
    assertThatThrownBy(() -> collab.batches().add("b7", List.of(BatchItem.of("i0", "released already"))))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("duplicate item id: task b7.i0");
    assertThat(collab.events().lastId()).isEqualTo(before);
  }

  @Test
  void batch_progressIsReadableWithAnEtagAndStreamedToASubscriber() {
    List<BatchProgress> seen = new CopyOnWriteArrayList<>();
    List<String> states = new CopyOnWriteArrayList<>();
    Subscription s = collab.batches().subscribe("b8", 0, e -> {
      if (e.type().equals("batch_progress")) {
        seen.add(BatchProgress.of(e));
      } else {
        states.add(e.details().path("newState").asText());
      }
    });
    // another batch's events are not delivered
    collab.batches().create(BatchSpec.builder("item").id("b80").items(items(1)).build());
    pool(collab, "w1", b -> b.concurrency(2).handler("item", ctx -> Outcome.done()));
    collab.batches().submit(BatchSpec.builder("item").id("b8").items(items(5)).concurrency(2).build());
    Batch end = awaitEnd("b8");
    awaitCondition("final progress delivered", () -> !seen.isEmpty() && seen.get(seen.size() - 1).percent() == 100);
    s.close();
    assertThat(states).containsExactly("running", "completed");
    assertThat(seen.get(seen.size() - 1)).isEqualTo(new BatchProgress(5, 0, 0, 5, 0, 0, 100));
    for (int i = 1; i < seen.size(); i++) {
      assertThat(seen.get(i).percent()).isGreaterThanOrEqualTo(seen.get(i - 1).percent());
    }
    List<Event> progress = events(EventType.BATCH_PROGRESS).stream().filter(e -> e.target().equals("batches/b8"))
        .toList();
    assertThat(progress.get(progress.size() - 1).details().path("etag").asText()).isEqualTo(end.etag().toString());
  }

  @Test
  void batch_itemTaskIdsNameOneItemOfOneBatch() {
    // found by review: batch a's item b.c and batch a.b's item c both had task a.b.c; the second batch's item could
    // never be released, and its batch retried until the update timeout with "concurrent writers kept changing it"
    assertThatThrownBy(() -> BatchItem.of("b.c", "p")).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("item id must not contain '.': b.c (its task id, <batch id>.<item id>, must name one item of one"
            + " batch)");
    collab.batches().submit(BatchSpec.builder("item").id("a.b").items(List.of(BatchItem.of("c", "p1"))).build());
    assertThat(collab.tasks().get("a.b.c")).isPresent();
    // a task made by hand with an item's task id
    collab.tasks().create(io.kyros.collab.NewTask.of("by hand").withId("x.one"));
    long before = collab.events().lastId();
    assertThatThrownBy(() -> collab.batches().submit(BatchSpec.builder("item").id("x")
        .items(List.of(BatchItem.of("zero", "p"), BatchItem.of("one", "p"))).build()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("duplicate item id: task x.one of batch x already exists");
    assertThat(collab.batches().get("x")).isEmpty();
    assertThat(collab.events().lastId()).as("nothing written").isEqualTo(before);
  }

  @Test
  void batch_cancelWithPreconditionsChecksThemInItsCommit() {
    Batch b = collab.batches().create(BatchSpec.builder("item").id("p1").items(items(3)).build());
    collab.batches().start("p1"); // a change after the caller's read
    long before = collab.events().lastId();
    assertThatThrownBy(() -> collab.batches().cancel("p1", "stop", io.kyros.collab.Preconditions.ifMatch(b.etag())))
        .isInstanceOf(PreconditionFailedException.class);
    assertThat(collab.events().lastId()).as("nothing written").isEqualTo(before);
    Batch current = collab.batches().get("p1").orElseThrow();
    assertThat(current.state()).isEqualTo(BatchState.RUNNING);
    assertThat(collab.batches().cancel("p1", "stop", io.kyros.collab.Preconditions.ifMatch(current.etag())).state())
        .isEqualTo(BatchState.CANCELLED);
  }

  @Test
  void batch_submittingAnExistingBatchAgainIsPreconditionFailedHoweverFarItGot() {
    // found by review: the check of the items' task ids ran before the batch's own, so once an item was released a
    // second submit was an IllegalArgumentException instead of the documented PreconditionFailedException
    BatchSpec spec = BatchSpec.builder("item").id("album").items(List.of(BatchItem.of("a", "p"),
        BatchItem.of("b", "p"))).build();
    collab.batches().submit(spec);
    assertThat(collab.tasks().get("album.a")).isPresent();
    assertThatThrownBy(() -> collab.batches().submit(spec)).isInstanceOf(PreconditionFailedException.class);
  }
}
