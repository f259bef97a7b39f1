package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.memory.MemoryStorage;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A {@link WorkerRun} whose claim a shutdown released while the run still waited in the executor's queue (the
 * shutdown's deadline passed first) must not start its handler when it finally runs: the task is back in the queue
 * and may already be another worker's (found by review). And every run ends with its {@code executor_failed} or
 * {@code executor_succeeded}, the handler's error in it, and its claim ended (found by a later review). Runs are
 * driven on the test's thread, on a {@link MutableClock}.
 */
class WorkerRunTest {
  private static final Duration TTL = Duration.ofMinutes(5);
  private final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));

  @Test
  void aRunReleasedByAShutdownBeforeItStartedNeverRunsItsHandler() {
    AtomicInteger handled = new AtomicInteger();
    TaskHandler handler = ctx -> {
      handled.incrementAndGet();
      return Outcome.done();
    };
    try (Collab collab = Collab.builder().storage(MemoryStorage.create(clock)).holder("me").build()) {
      collab.tasks().create(NewTask.of("t").withId("t").withLabels("x"));
      TaskClaim claim = collab.tasks().claimNext("w", TTL, Set.of("x")).orElseThrow();
      // a pool serving another label, so it claims nothing itself
      try (WorkerPool pool = WorkerPool.builder(collab).agentId("w").handler("y", handler).start()) {
        WorkerRun queued = new WorkerRun(pool, collab.core(), collab, "x", handler, RetryPolicy.defaults(), claim);
        queued.cancel(WorkerRun.Cancel.SHUTDOWN, "pool w shut down");
        assertThat(queued.releaseForShutdown()).isTrue();
        Task released = collab.tasks().get("t").orElseThrow();
        assertThat(released.status()).isEqualTo("queued");
        queued.run(); // the executor gets to it only now
        assertThat(handled).as("handler calls").hasValue(0);
        assertThat(collab.tasks().get("t").orElseThrow().revision()).as("nothing written after the release")
            .isEqualTo(released.revision());
        assertThat(collab.tasks().claimNext("other", TTL, Set.of("x"))).as("the task is free for another worker")
            .isPresent();
      }
    }
  }

  /** Creates task t (label x) and claims it for worker w. */
  private static TaskClaim claimedTask(Collab collab) {
    collab.tasks().create(NewTask.of("t").withId("t").withLabels("x"));
    return collab.tasks().claimNext("w", TTL, Set.of("x")).orElseThrow();
  }

  /** A Collab on a memory store on {@link #clock}. */
  private Collab collab() {
    return Collab.builder().storage(MemoryStorage.create(clock)).holder("me").build();
  }

  /** The executor_failed events of task t, oldest first. */
  private static List<Event> failures(Collab collab) {
    return collab.events().read(0, EventFilter.all().types("executor_failed").targetPrefix("tasks/t"), 100);
  }

  /**
   * Bug: a handler that failed after its claim was lost (it overran its ttl) had its error dropped: executor_failed
   * said only "claim lost", and the task's lastError the lease's expiry.
   */
  @Test
  void aHandlersErrorIsRecordedWhenItsClaimWasLostMeanwhile() {
    try (Collab collab = collab()) {
      TaskClaim claim = claimedTask(collab);
      TaskHandler overruns = ctx -> {
        clock.advance(TTL.plusSeconds(1)); // the claim expires while the handler works
        throw new IllegalStateException("boom: disk full");
      };
      try (WorkerPool pool = WorkerPool.builder(collab).agentId("w").handler("y", overruns).start()) {
        new WorkerRun(pool, collab.core(), collab, "x", overruns, RetryPolicy.defaults(), claim).run();
      }
      assertThat(failures(collab)).singleElement().satisfies(e -> {
        assertThat(e.details().get("errorClass").asText()).isEqualTo("LeaseLostException");
        assertThat(e.details().get("handlerErrorClass").asText()).isEqualTo("java.lang.IllegalStateException");
        assertThat(e.details().get("handlerError").asText()).isEqualTo("boom: disk full");
      });
    }
  }

  /**
   * Bug: a shutdown past its deadline that found the run's claim already lost logged it at debug and recorded nothing,
   * and the run, ended by that shutdown, recorded nothing either: an executor_started without its end.
   */
  @Test
  void aShutdownThatFindsTheClaimLostRecordsTheRunsEnd() {
    TaskHandler handler = ctx -> Outcome.done();
    try (Collab collab = collab()) {
      TaskClaim claim = claimedTask(collab);
      try (WorkerPool pool = WorkerPool.builder(collab).agentId("w").handler("y", handler).start()) {
        WorkerRun run = new WorkerRun(pool, collab.core(), collab, "x", handler, RetryPolicy.defaults(), claim);
        run.cancel(WorkerRun.Cancel.SHUTDOWN, "pool w shut down");
        clock.advance(TTL.plusSeconds(1));
        assertThat(run.releaseForShutdown()).isTrue();
        run.run(); // ended: starts nothing, records nothing more
      }
      assertThat(failures(collab)).singleElement().satisfies(e -> {
        assertThat(e.details().get("errorClass").asText()).isEqualTo("LeaseLostException");
        assertThat(e.details().get("error").asText()).startsWith("claim lost before the shutdown released it: ");
        assertThat(e.details().has("handlerErrorClass")).isFalse();
      });
    }
  }

  /**
   * Bug: a handler that moved its task to review and returned Outcome.done() (the workflow has no review → done edge)
   * left the task in review with a claim nobody renewed, and no executor_succeeded or executor_failed: the run had
   * left the pool, and after the ttl the task was reclaimed and its work done again. The attempt now fails through the
   * claim, which ends it.
   */
  @Test
  void doneFromAStatusWithoutAnEdgeToDoneFailsTheAttemptAndEndsTheClaim() {
    try (Collab collab = collab()) {
      TaskClaim claim = claimedTask(collab);
      TaskHandler toReview = ctx -> {
        collab.tasks().transition(ctx.claim(), "in_progress");
        collab.tasks().transition(ctx.claim(), "review");
        return Outcome.done();
      };
      try (WorkerPool pool = WorkerPool.builder(collab).agentId("w").handler("y", toReview).start()) {
        new WorkerRun(pool, collab.core(), collab, "x", toReview, RetryPolicy.defaults(), claim).run();
      }
      Task task = collab.tasks().get("t").orElseThrow();
      assertThat(task.status()).as("the attempt failed; the default policy retries it").isEqualTo("queued");
      assertThat(task.assignee()).isNull();
      assertThat(task.lastError()).startsWith("io.kyros.collab.InvalidTransitionException: ");
      assertThat(collab.tasks().currentClaim("t")).isEmpty();
      assertThat(failures(collab)).singleElement().satisfies(e -> assertThat(e.details().get("errorClass").asText())
          .isEqualTo("io.kyros.collab.InvalidTransitionException"));
    }
  }

  /**
   * Bug (found in review of the fix above): the interrupt that a lost claim's cancellation sends the handler was
   * recorded as the handler's own failure, and an Outcome.fail returned after the claim was lost was dropped.
   */
  @Test
  void theHandlersOwnFailureIsWhatItReturnedNotTheCancellationsInterrupt() {
    try (Collab collab = collab()) {
      TaskClaim claim = claimedTask(collab);
      try (WorkerPool pool = WorkerPool.builder(collab).agentId("w").handler("y", ctx -> Outcome.done()).start()) {
        WorkerRun[] run = new WorkerRun[1];
        TaskHandler interrupted = ctx -> {
          run[0].cancel(WorkerRun.Cancel.LOST, "claim lost: it expired");
          throw new InterruptedException("sleep interrupted"); // what a blocking call throws on the interrupt
        };
        run[0] = new WorkerRun(pool, collab.core(), collab, "x", interrupted, RetryPolicy.defaults(), claim);
        run[0].run();
        collab.tasks().release(claim); // the first run's cancel was made up: its claim is still current
        TaskClaim second = collab.tasks().claim("t", "w", TTL).orElseThrow();
        TaskHandler failsLate = ctx -> {
          clock.advance(TTL.plusSeconds(1));
          return Outcome.fail("the upstream answered 503");
        };
        new WorkerRun(pool, collab.core(), collab, "x", failsLate, RetryPolicy.defaults(), second).run();
      }
      assertThat(failures(collab)).hasSize(2);
      assertThat(failures(collab).get(0).details().has("handlerErrorClass")).as("the interrupt is the cancel's")
          .isFalse();
      com.fasterxml.jackson.databind.node.ObjectNode late = failures(collab).get(1).details();
      assertThat(late.get("errorClass").asText()).isEqualTo("LeaseLostException");
      assertThat(late.get("handlerErrorClass").asText()).isEqualTo("Outcome.fail");
      assertThat(late.get("handlerError").asText()).isEqualTo("the upstream answered 503");
    }
  }

  /**
   * Bug (found in review): a handler's message went whole into the task's lastError, task_failed and executor_failed,
   * so a message near the size limit made the fail too large to store: the run logged a warning, the task stayed
   * claimed until its lease expired, and the handler's error was lost. Both a thrown message and an Outcome.fail
   * reason of 1.5 million characters (the limit is 1 MiB) now end the attempt, kept to their first 4,000 characters.
   */
  @Test
  void aHandlersMessageLargerThanTheSizeLimitStillFailsTheAttempt() {
    String huge = "x".repeat(1_500_000);
    try (Collab collab = collab()) {
      TaskClaim claim = claimedTask(collab);
      TaskHandler throwsHuge = ctx -> {
        throw new IllegalStateException(huge);
      };
      try (WorkerPool pool = WorkerPool.builder(collab).agentId("w").handler("y", throwsHuge).start()) {
        new WorkerRun(pool, collab.core(), collab, "x", throwsHuge, RetryPolicy.defaults(), claim).run();
        Task failed = collab.tasks().get("t").orElseThrow();
        assertThat(failed.status()).as("the attempt failed; the default policy retries it").isEqualTo("queued");
        assertThat(collab.tasks().currentClaim("t")).isEmpty();
        String kept = "java.lang.IllegalStateException: " + "x".repeat(WorkerRun.HANDLER_ERROR_CHARS)
            + " … (" + (huge.length() - WorkerRun.HANDLER_ERROR_CHARS) + " more)";
        assertThat(failed.lastError()).isEqualTo(kept);
        assertThat(failures(collab)).singleElement().satisfies(e -> assertThat(e.details().get("error").asText())
            .isEqualTo(kept.substring("java.lang.IllegalStateException: ".length())));

        clock.advance(Duration.ofHours(1)); // past the retry's backoff
        TaskClaim second = collab.tasks().claim("t", "w", TTL).orElseThrow();
        TaskHandler returnsHuge = ctx -> Outcome.fail(huge);
        new WorkerRun(pool, collab.core(), collab, "x", returnsHuge, RetryPolicy.defaults(), second).run();
      }
      assertThat(collab.tasks().get("t").orElseThrow().lastError())
          .startsWith("Outcome.fail: xxx").endsWith(" more)").hasSizeLessThan(WorkerRun.HANDLER_ERROR_CHARS + 100);
      assertThat(failures(collab)).hasSize(2);
    }
  }
}
