package io.kyros.collab.conformance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.Collab;
import io.kyros.collab.Event;
import io.kyros.collab.EventFilter;
import io.kyros.collab.EventType;
import io.kyros.collab.HandlerTimeoutException;
import io.kyros.collab.MissingOutcomeException;
import io.kyros.collab.NewTask;
import io.kyros.collab.Outcome;
import io.kyros.collab.RetryPolicy;
import io.kyros.collab.Task;
import io.kyros.collab.TaskFilter;
import io.kyros.collab.WorkerPool;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Worker pools (issue 14): handlers run on claimed tasks with {@code executor_*} events, retries with jittered
 * backoff on the storage's clock, exceptions never retried, a handler returning nothing, timeouts, a claim lost
 * mid-handler, graceful shutdown, progress and checklist through the context, and the concurrency limit. Time moves
 * only with the test clock; the pools' idle recheck is short so that they notice a clock move promptly.
 */
public abstract class WorkerConformance extends InterleavingConformance {

  private final List<WorkerPool> pools = new ArrayList<>();

  /**
   * Starts a pool on {@code on}, shut down after the test: short idle recheck, claim ttl of an hour unless changed.
   *
   * @param on the Collab it claims through
   * @param agentId its agent id
   * @param options further options (handlers at least)
   * @return the running pool
   */
  protected WorkerPool pool(Collab on, String agentId, Consumer<WorkerPool.Builder> options) {
    WorkerPool.Builder b = WorkerPool.builder(on).agentId(agentId).idleRecheck(Duration.ofMillis(20))
        .shutdownTimeout(Duration.ofSeconds(10));
    options.accept(b);
    WorkerPool p = b.start();
    pools.add(p);
    return p;
  }

  @AfterEach
  void shutDownPools() {
    pools.forEach(WorkerPool::close);
    pools.clear();
  }

  /** @return the events of these types, in log order */
  protected List<Event> events(EventType... types) {
    return collab.events().read(0, EventFilter.all().types(types), Integer.MAX_VALUE);
  }

  /** @return the task, which must exist */
  protected Task task(String id) {
    return collab.tasks().get(id).orElseThrow();
  }

  @Test
  void worker_runsEachTaskOnceRecordingStartedAndSucceeded() {
    for (int i = 0; i < 5; i++) {
      collab.tasks().create(NewTask.of("echo " + i).withId("e" + i).withLabels("echo"));
    }
    collab.tasks().create(NewTask.of("not mine").withId("other").withLabels("other"));
    List<String> ran = new CopyOnWriteArrayList<>();
    pool(collab, "w1", b -> b.concurrency(2).handler("echo", ctx -> {
      ran.add(ctx.task().id());
      assertThat(ctx.worker()).isEqualTo("w1");
      assertThat(ctx.attempt()).isEqualTo(1);
      assertThat(ctx.fence()).isEqualTo(ctx.claim().lease().fence());
      assertThat(ctx.isCurrent()).isTrue();
      return Outcome.done();
    }));
    awaitCondition("five tasks done", () -> collab.tasks().list(TaskFilter.all().statuses("done")).size() == 5);
    assertThat(ran).containsExactlyInAnyOrder("e0", "e1", "e2", "e3", "e4");
    assertThat(task("other").status()).isEqualTo("queued");
    awaitCondition("five executor_succeeded", () -> events(EventType.EXECUTOR_SUCCEEDED).size() == 5);
    List<Event> runs = events(EventType.EXECUTOR_STARTED, EventType.EXECUTOR_SUCCEEDED, EventType.TASK_CLAIMED,
        EventType.TASK_COMPLETED);
    for (int i = 0; i < 5; i++) {
      String id = "e" + i;
      List<String> order = runs.stream().filter(e -> e.details().path("id").asText().equals(id)).map(Event::type)
          .toList();
      assertThat(order).containsExactly("task_claimed", "executor_started", "task_completed", "executor_succeeded");
    }
    Event succeeded = events(EventType.EXECUTOR_SUCCEEDED).get(0);
    assertThat(succeeded.actor()).isEqualTo("w1");
    assertThat(succeeded.details().path("handler").asText()).isEqualTo("echo");
    assertThat(succeeded.details().path("outcome").asText()).isEqualTo("done");
    assertThat(Duration.parse(succeeded.details().path("duration").asText())).isGreaterThanOrEqualTo(Duration.ZERO);
  }

  @Test
  void worker_recordsItsEventsInTheCommitsThatClaimAndEndTheTask() {
    collab.tasks().create(NewTask.of("ok").withId("ok").withLabels("job"));
    collab.tasks().create(NewTask.of("bad").withId("bad").withLabels("job").withMaxAttempts(1));
    InterceptingStorage recording = new InterceptingStorage(storage);
    List<List<String>> commits = new CopyOnWriteArrayList<>();
    recording.intercept((commit, next) -> {
      io.kyros.collab.spi.CommitResult r = next.commit(commit);
      if (r instanceof io.kyros.collab.spi.CommitResult.Committed c && !c.events().isEmpty()) {
        commits.add(c.events().stream().map(io.kyros.collab.spi.StoredEvent::type).toList());
      }
      return r;
    });
    Collab on = newCollab("pool", recording, o -> { });
    pool(on, "w1", b -> b.concurrency(2).handler("job",
        ctx -> ctx.task().id().equals("ok") ? Outcome.done() : Outcome.fail("no")));
    awaitCondition("both ended", () -> collab.tasks().list(TaskFilter.all().statuses("done", "failed")).size() == 2);
    // the interceptor sees a commit's events once the commit returns, which may be after they are readable
    awaitCondition("two outcomes committed", () -> commits.stream().flatMap(List::stream)
        .filter(t -> t.equals("executor_succeeded") || t.equals("executor_failed")).count() == 2);
    for (List<String> types : commits) {
      assertThat(types).as("a commit of executor events alone: %s", types)
          .anyMatch(t -> !t.startsWith("executor_"));
      for (int i = 0; i < types.size(); i++) {
        switch (types.get(i)) {
          case "executor_started" -> assertThat(types.get(i - 1)).as("in %s", types).isEqualTo("task_claimed");
          case "executor_succeeded" -> assertThat(types).as("in %s", types).contains("task_completed");
          case "executor_failed" -> assertThat(types).as("in %s", types).contains("task_failed");
          default -> { }
        }
      }
    }
    assertThat(commits.stream().flatMap(List::stream).filter(t -> t.startsWith("executor_")))
        .containsExactlyInAnyOrder("executor_started", "executor_started", "executor_succeeded", "executor_failed");
    Event failed = events(EventType.EXECUTOR_FAILED).get(0);
    assertThat(failed.details().path("retry").asBoolean()).as("one attempt only").isFalse();
    assertThat(failed.details().path("nextAttemptAt").isNull()).isTrue();
  }

  @Test
  void worker_shutdownReleaseAfterAnEarlierBackoffRecordsNoNextAttempt() throws Exception {
    collab.tasks().create(NewTask.of("again").withId("again").withLabels("again").withMaxAttempts(10));
    RetryPolicy policy = RetryPolicy.builder().maxAttempts(5).backoff(Duration.ofSeconds(10), Duration.ofSeconds(10))
        .build();
    CountDownLatch secondStarted = new CountDownLatch(1);
    WorkerPool p = pool(collab, "w1", b -> b.handler("again", ctx -> {
      if (ctx.attempt() == 1) {
        throw new IllegalStateException("first");
      }
      secondStarted.countDown();
      try {
        new CountDownLatch(1).await(1, TimeUnit.MINUTES);
      } catch (InterruptedException e) {
        // shutdown
      }
      return Outcome.done();
    }, policy));
    awaitCondition("first failure", () -> events(EventType.EXECUTOR_FAILED).size() == 1);
    Instant backoff = task("again").notBefore();
    clock.set(backoff.plusMillis(1));
    assertThat(secondStarted.await(1, TimeUnit.MINUTES)).isTrue();
    p.shutdown(Duration.ofMillis(200)); // the handler does not finish: released at the deadline
    awaitCondition("second executor_failed", () -> events(EventType.EXECUTOR_FAILED).size() == 2);
    Event released = events(EventType.EXECUTOR_FAILED).get(1);
    assertThat(released.details().path("errorClass").asText()).isEqualTo("CancellationException");
    assertThat(released.details().path("retry").asBoolean()).isTrue();
    // before 922746e: null (the release sets no new backoff); the stale notBefore of attempt 1 is not a next attempt
    assertThat(released.details().get("nextAttemptAt").isNull())
        .as("nextAttemptAt %s (the old backoff %s)", released.details().get("nextAttemptAt"), backoff).isTrue();
  }

  @Test
  void worker_failedAttemptsRetryAfterAJitteredBackoffOnTheStorageClockThenFailForGood() {
    collab.tasks().create(NewTask.of("flaky").withId("f").withLabels("flaky").withMaxAttempts(10));
    RetryPolicy policy = RetryPolicy.builder().maxAttempts(3).backoff(Duration.ofSeconds(10), Duration.ofSeconds(15))
        .multiplier(2).build();
    pool(collab, "w1", b -> b.handler("flaky", ctx -> {
      throw new IllegalStateException("boom " + ctx.attempt());
    }, policy));
    List<Event> failures = new ArrayList<>();
    for (int attempt = 1; attempt <= 3; attempt++) {
      int n = attempt;
      awaitCondition("failure " + n, () -> events(EventType.EXECUTOR_FAILED).size() == n);
      Event failed = events(EventType.EXECUTOR_FAILED).get(n - 1);
      failures.add(failed);
      assertThat(failed.details().path("attempt").asInt()).isEqualTo(n);
      assertThat(failed.details().path("errorClass").asText()).isEqualTo(IllegalStateException.class.getName());
      assertThat(failed.details().path("error").asText()).isEqualTo("boom " + n);
      Task t = task("f");
      assertThat(t.lastError()).isEqualTo(IllegalStateException.class.getName() + ": boom " + n);
      assertThat(t.attempts()).isEqualTo(n);
      if (n < 3) {
        assertThat(failed.details().path("retry").asBoolean()).isTrue();
        Instant next = Instant.parse(failed.details().path("nextAttemptAt").asText());
        assertThat(next).isEqualTo(t.notBefore());
        // full jitter: anywhere from now to the cap (10 s, then 15 s: 20 s capped by maxBackoff)
        Duration cap = n == 1 ? Duration.ofSeconds(10) : Duration.ofSeconds(15);
        assertThat(Duration.between(clock.instant(), next)).isBetween(Duration.ZERO, cap);
        assertThat(t.status()).isEqualTo("queued");
        clock.set(next.plusMillis(1));
      } else {
        assertThat(failed.details().path("retry").asBoolean()).isFalse();
        assertThat(failed.details().get("nextAttemptAt").isNull()).isTrue();
        assertThat(t.status()).isEqualTo("failed");
      }
    }
    assertThat(events(EventType.TASK_FAILED)).hasSize(3);
  }

  @Test
  void worker_nonRetryableExceptionsAndMissingOutcomesFailTheTaskAtOnce() {
    collab.tasks().create(NewTask.of("fatal").withId("fatal").withLabels("fatal").withMaxAttempts(5));
    collab.tasks().create(NewTask.of("null").withId("nothing").withLabels("nothing").withMaxAttempts(1));
    pool(collab, "w1", b -> b.retryPolicy(RetryPolicy.builder().nonRetryable(IllegalArgumentException.class).build())
        .handler("fatal", ctx -> {
          throw new IllegalArgumentException("bad input");
        }).handler("nothing", ctx -> null));
    awaitCondition("both failed", () -> collab.tasks().list(TaskFilter.all().statuses("failed")).size() == 2);
    awaitCondition("two executor_failed", () -> events(EventType.EXECUTOR_FAILED).size() == 2);
    assertThat(task("fatal").attempts()).isEqualTo(1);
    assertThat(task("fatal").lastError()).contains("IllegalArgumentException: bad input");
    Event nothing = events(EventType.EXECUTOR_FAILED).stream()
        .filter(e -> e.details().path("id").asText().equals("nothing")).findFirst().orElseThrow();
    assertThat(nothing.details().path("errorClass").asText()).isEqualTo(MissingOutcomeException.class.getName());
    assertThat(nothing.details().path("error").asText()).contains("returned no outcome");
    assertThat(task("nothing").lastError()).contains("returned no outcome");
  }

  @Test
  void worker_aHandlerPastItsTimeoutIsInterruptedAndTheAttemptFails() {
    collab.tasks().create(NewTask.of("slow").withId("slow").withLabels("slow").withMaxAttempts(1));
    AtomicInteger interrupted = new AtomicInteger();
    pool(collab, "w1", b -> b.handlerTimeout(Duration.ofMillis(200)).handler("slow", ctx -> {
      try {
        new CountDownLatch(1).await(1, TimeUnit.MINUTES);
      } catch (InterruptedException e) {
        interrupted.incrementAndGet();
        assertThat(ctx.isCancelled()).isTrue();
        throw e;
      }
      return Outcome.done();
    }));
    awaitCondition("failed", () -> task("slow").status().equals("failed"));
    awaitCondition("executor_failed", () -> events(EventType.EXECUTOR_FAILED).size() == 1);
    assertThat(interrupted).hasValue(1);
    Event failed = events(EventType.EXECUTOR_FAILED).get(0);
    assertThat(failed.details().path("errorClass").asText()).isEqualTo(HandlerTimeoutException.class.getName());
    assertThat(task("slow").lastError()).contains("timeout PT0.2S");
  }

  @Test
  void worker_aClaimLostMidHandlerCancelsTheHandlerAndTheTaskRunsAgain() throws Exception {
    collab.tasks().create(NewTask.of("long").withId("long").withLabels("long"));
    CountDownLatch started = new CountDownLatch(1);
    List<String> reasons = new CopyOnWriteArrayList<>();
    pool(collab, "w1", b -> b.concurrency(1).claimTtl(Duration.ofMillis(900)).handler("long", ctx -> {
      if (ctx.attempt() > 1) {
        return Outcome.done();
      }
      started.countDown();
      try {
        new CountDownLatch(1).await(1, TimeUnit.MINUTES);
      } catch (InterruptedException e) {
        reasons.add(ctx.cancellationReason().orElse("none"));
        throw e;
      }
      return Outcome.done();
    }));
    assertThat(started.await(1, TimeUnit.MINUTES)).isTrue();
    clock.advance(Duration.ofSeconds(5)); // the claim is stale by the storage's clock
    assertThat(newCollab("sweeper").tasks().reclaimStale()).extracting(Task::id).containsExactly("long");
    awaitCondition("done on the second attempt", () -> task("long").status().equals("done"));
    assertThat(reasons).hasSize(1);
    assertThat(reasons.get(0)).startsWith("claim lost");
    Event lost = events(EventType.EXECUTOR_FAILED).get(0);
    assertThat(lost.details().path("errorClass").asText()).isEqualTo("LeaseLostException");
    assertThat(lost.details().path("attempt").asInt()).isEqualTo(1);
    assertThat(task("long").attempts()).isEqualTo(1); // the reclaim counted the lost attempt
  }

  @Test
  void worker_shutdownWaitsForRunningHandlersThenReleasesWhatIsLeft() throws Exception {
    collab.tasks().create(NewTask.of("quick").withId("quick").withLabels("quick"));
    collab.tasks().create(NewTask.of("stuck").withId("stuck").withLabels("stuck"));
    CountDownLatch bothStarted = new CountDownLatch(2);
    CountDownLatch finishQuick = new CountDownLatch(1);
    WorkerPool p = pool(collab, "w1", b -> b.concurrency(2).handler("quick", ctx -> {
      bothStarted.countDown();
      finishQuick.await();
      return Outcome.done();
    }).handler("stuck", ctx -> {
      bothStarted.countDown();
      while (true) { // ignores interrupts: only the release after the deadline ends its claim
        try {
          new CountDownLatch(1).await(1, TimeUnit.MINUTES);
          return Outcome.done();
        } catch (InterruptedException ignored) {
          if (ctx.isCancelled()) {
            return Outcome.done();
          }
        }
      }
    }));
    assertThat(bothStarted.await(1, TimeUnit.MINUTES)).isTrue();
    finishQuick.countDown();
    awaitCondition("quick done", () -> task("quick").status().equals("done"));
    assertThat(p.shutdown(Duration.ofMillis(100))).isFalse();
    assertThat(p.isClaiming()).isFalse();
    Task stuck = task("stuck");
    assertThat(stuck.status()).isEqualTo("queued");
    assertThat(stuck.attempts()).isZero();
    assertThat(stuck.assignee()).isNull();
    assertThat(events(EventType.TASK_RELEASED)).extracting(e -> e.details().path("id").asText())
        .containsExactly("stuck");
  }

  @Test
  void worker_contextReportsProgressAndTicksChecklistItems() {
    collab.tasks().create(NewTask.of("steps").withId("steps").withLabels("steps").withChecklist("one", "two"));
    pool(collab, "w1", b -> b.handler("steps", ctx -> {
      ctx.progress(50, "half way");
      ctx.check(1, true);
      assertThat(ctx.batchId()).isEmpty();
      assertThatThrownBy(() -> ctx.progress(101, "too far")).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("percent must be between 0 and 100: 101");
      return Outcome.done();
    }));
    awaitCondition("done", () -> task("steps").status().equals("done"));
    assertThat(task("steps").checklist()).extracting(c -> c.done()).containsExactly(false, true);
    Event progress = events(EventType.EXECUTOR_PROGRESS).get(0);
    assertThat(progress.details().path("percent").asInt()).isEqualTo(50);
    assertThat(progress.details().path("message").asText()).isEqualTo("half way");
    assertThat(progress.target()).isEqualTo("tasks/steps");
  }

  @Test
  void worker_aPoolNeverHoldsMoreThanItsConcurrency() throws Exception {
    for (int i = 0; i < 7; i++) {
      collab.tasks().create(NewTask.of("t" + i).withId("t" + i).withLabels("work"));
    }
    AtomicInteger running = new AtomicInteger();
    AtomicInteger most = new AtomicInteger();
    CountDownLatch gate = new CountDownLatch(1);
    pool(collab, "w1", b -> b.concurrency(3).handler("work", ctx -> {
      most.accumulateAndGet(running.incrementAndGet(), Math::max);
      gate.await();
      running.decrementAndGet();
      return Outcome.done();
    }));
    awaitCondition("three claimed", () -> collab.tasks().list(TaskFilter.all().statuses("claimed")).size() == 3);
    gate.countDown();
    awaitCondition("all done", () -> collab.tasks().list(TaskFilter.all().statuses("done")).size() == 7);
    assertThat(most.get()).isBetween(1, 3);
    assertThat(maxHeldAtOnce(events(EventType.TASK_CLAIMED, EventType.TASK_COMPLETED), id -> true)).isEqualTo(3);
  }

  @Test
  void worker_badBuilderInputIsRefusedNamingTheCondition() {
    long before = collab.events().lastId();
    assertThatThrownBy(() -> WorkerPool.builder(collab).concurrency(0))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("concurrency must be positive: 0");
    assertThatThrownBy(() -> WorkerPool.builder(collab).concurrency(-3))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("concurrency must be positive: -3");
    assertThatThrownBy(() -> WorkerPool.builder(collab).start())
        .isInstanceOf(IllegalStateException.class).hasMessage("a worker pool needs at least one handler");
    assertThatThrownBy(() -> WorkerPool.builder(collab).handler("a", ctx -> Outcome.done())
        .handler("a", ctx -> Outcome.done())).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("label a already has a handler");
    assertThatThrownBy(() -> WorkerPool.builder(collab).handler("bad label", ctx -> Outcome.done()))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("label must match");
    assertThatThrownBy(() -> RetryPolicy.builder().maxAttempts(0).build())
        .isInstanceOf(IllegalArgumentException.class).hasMessage("maxAttempts must be at least 1: 0");
    assertThatThrownBy(() -> RetryPolicy.builder().backoff(Duration.ofSeconds(5), Duration.ofSeconds(1)).build())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxBackoff must be at least");
    assertThatThrownBy(() -> RetryPolicy.builder().multiplier(0.5).build())
        .isInstanceOf(IllegalArgumentException.class).hasMessage("multiplier must be finite and at least 1: 0.5");
    assertThatThrownBy(() -> Outcome.fail(" ")).isInstanceOf(IllegalArgumentException.class);
    assertThat(collab.events().lastId()).isEqualTo(before);
  }

  /**
   * Replays claims and their ends from the log and returns the most tasks held at once among those {@code counted}.
   *
   * @param events task events in log order
   * @param counted which task ids count
   * @return the most claims held at once
   */
  protected static int maxHeldAtOnce(List<Event> events, java.util.function.Predicate<String> counted) {
    java.util.Set<String> held = new java.util.HashSet<>();
    int most = 0;
    for (Event e : events) {
      String id = e.details().path("id").asText();
      if (!counted.test(id)) {
        continue;
      }
      if (e.type().equals("task_claimed")) {
        held.add(id);
        most = Math.max(most, held.size());
      } else if (!e.type().equals("task_transitioned") || !"claimed".equals(e.details().path("newStatus").asText())) {
        held.remove(id);
      }
    }
    return most;
  }
}
