package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.memory.MemoryStorage;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Bug (found in review): a run whose handler returned {@code done} just as its timeout fired or its batch was
 * cancelled was recorded failed ({@link HandlerTimeoutException}, or the item failed for good), although the handler
 * finished its work in time and its claim was still held: the run read the cancellation only when it came to end the
 * claim. A cancellation that arrives after the handler returned now changes nothing; one that arrives while it runs
 * still decides. Runs are driven on the test's thread with a {@link ManualTimer}: the timeout fires exactly when the
 * run, its handler returned, cancels it (the timer's thread running it at that moment), and the other cancellations
 * are sent from that same point.
 */
class CancelAfterReturnTest {
  private static final Duration TTL = Duration.ofMinutes(5);
  private final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));
  private final ManualTimer timer = new ManualTimer();

  @AfterEach
  void stopTimer() {
    timer.shutdownNow();
  }

  /** A Collab on a memory store on {@link #clock}. */
  private Collab collab() {
    return Collab.builder().storage(MemoryStorage.create(clock)).holder("me").build();
  }

  /** A pool with a handler timeout, serving another label, so it claims nothing itself. */
  private static WorkerPool pool(Collab collab) {
    return WorkerPool.builder(collab).agentId("w").handlerTimeout(Duration.ofHours(1))
        .handler("other", ctx -> Outcome.done()).start();
  }

  private static List<Event> events(Collab collab, String type, String task) {
    return collab.events().read(0, EventFilter.all().types(type).targetPrefix("tasks/" + task), 100);
  }

  @Test
  void aTimeoutThatFiresAsTheHandlerReturnsDoesNotFailTheAttempt() {
    try (Collab collab = collab(); WorkerPool pool = pool(collab)) {
      collab.tasks().create(NewTask.of("t").withId("t").withLabels("x"));
      TaskClaim claim = collab.tasks().claimNext("w", TTL, Set.of("x")).orElseThrow();
      timer.onCancel(ManualTimer.Task::fire); // the timeout fires as the run, its handler returned, cancels it
      TaskHandler handler = ctx -> Outcome.done();
      WorkerRun run = new WorkerRun(pool, collab.core(), collab, "x", handler, RetryPolicy.defaults(), claim, timer);
      run.run();
      assertThat(run.cancelReason()).as("the timeout fired").startsWith("timeout after");
      Task task = collab.tasks().get("t").orElseThrow();
      assertThat(task.status()).as("status; lastError " + task.lastError()).isEqualTo("done");
      assertThat(events(collab, "executor_succeeded", "t")).hasSize(1);
      assertThat(events(collab, "executor_failed", "t")).isEmpty();

      // one timeout after its interrupt the timer looks for a handler that ignored it: there is none
      assertThat(timer.tasks()).hasSize(2);
      timer.tasks().get(1).fire();
      assertThat(collab.tasks().get("t").orElseThrow().revision()).as("nothing written").isEqualTo(task.revision());
    }
  }

  @Test
  void aBatchCancelThatArrivesAsTheHandlerReturnsDoesNotFailTheItem() {
    try (Collab collab = collab(); WorkerPool pool = pool(collab)) {
      collab.batches().submit(BatchSpec.builder("x").id("b").items(List.of(BatchItem.of("i0", "p"))).build());
      TaskClaim claim = collab.tasks().claimNext("w", TTL, Set.of("x")).orElseThrow();
      WorkerRun[] run = new WorkerRun[1];
      timer.onCancel(task -> {
        Batch cancelled = collab.batches().cancel("b", "operator"); // leaves the claimed item to its claim
        pool.cancelIfBatchStopped(run[0], cancelled); // as the pool's reaction to the cancel's event would
      });
      TaskHandler handler = ctx -> Outcome.done();
      run[0] = new WorkerRun(pool, collab.core(), collab, "x", handler, RetryPolicy.defaults(), claim, timer);
      run[0].run();
      assertThat(run[0].cancelReason()).as("the batch's cancel arrived").startsWith("batch b cancelled");
      Task item = collab.tasks().get("b.i0").orElseThrow();
      assertThat(item.status()).as("status; lastError " + item.lastError()).isEqualTo("done");
      assertThat(events(collab, "executor_succeeded", "b.i0")).hasSize(1);
      assertThat(events(collab, "executor_failed", "b.i0")).isEmpty();
    }
  }

  @Test
  void aShutdownCancelThatArrivesAsTheHandlerReturnsDoesNotReleaseTheDoneTask() {
    try (Collab collab = collab(); WorkerPool pool = pool(collab)) {
      collab.tasks().create(NewTask.of("t").withId("t").withLabels("x"));
      TaskClaim claim = collab.tasks().claimNext("w", TTL, Set.of("x")).orElseThrow();
      WorkerRun[] run = new WorkerRun[1];
      timer.onCancel(task -> run[0].cancel(WorkerRun.Cancel.SHUTDOWN, "pool w shut down"));
      TaskHandler handler = ctx -> Outcome.done();
      run[0] = new WorkerRun(pool, collab.core(), collab, "x", handler, RetryPolicy.defaults(), claim, timer);
      run[0].run();
      assertThat(run[0].releaseForShutdown()).as("the shutdown's release comes after the run's end").isFalse();
      Task task = collab.tasks().get("t").orElseThrow();
      assertThat(task.status()).as("status; lastError " + task.lastError()).isEqualTo("done");
      assertThat(events(collab, "executor_failed", "t")).isEmpty();
    }
  }

  /** The policy for a cancellation that arrives while the handler runs is unchanged: it decides. */
  @Test
  void aTimeoutThatFiresWhileTheHandlerRunsStillFailsTheAttempt() {
    try (Collab collab = collab(); WorkerPool pool = pool(collab)) {
      collab.tasks().create(NewTask.of("t").withId("t").withLabels("x"));
      TaskClaim claim = collab.tasks().claimNext("w", TTL, Set.of("x")).orElseThrow();
      TaskHandler handler = ctx -> {
        timer.tasks().get(0).fire(); // the timeout, while the handler still runs
        assertThat(ctx.isCancelled()).isTrue();
        assertThat(Thread.interrupted()).as("the handler's thread was interrupted").isTrue();
        return Outcome.done(); // too late: its work is not taken
      };
      new WorkerRun(pool, collab.core(), collab, "x", handler, RetryPolicy.defaults(), claim, timer).run();
      Task task = collab.tasks().get("t").orElseThrow();
      assertThat(task.status()).as("the attempt failed; the default policy retries it").isEqualTo("queued");
      assertThat(task.lastError()).startsWith("io.kyros.collab.HandlerTimeoutException");
      assertThat(events(collab, "executor_failed", "t")).singleElement().satisfies(e -> assertThat(
          e.details().get("errorClass").asText()).isEqualTo("io.kyros.collab.HandlerTimeoutException"));
    }
  }
}
