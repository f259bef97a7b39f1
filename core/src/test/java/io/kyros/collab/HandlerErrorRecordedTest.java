package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.memory.MemoryStorage;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * A handler's error is never lost (design.md, invariant 7), found in review to fail in two ways: a message cut through
 * a character of two UTF-16 units (or holding half of one), which the store refuses as JSON text, and a message that
 * pushed a task near the size limit over it. Either made the commit ending the attempt throw: no
 * {@code executor_failed}, no {@code lastError}, the claim held until its ttl.
 */
class HandlerErrorRecordedTest {
  private static final Duration TTL = Duration.ofMinutes(5);
  private final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));

  /** Runs one attempt of task {@code t} with a handler throwing {@code message}. */
  private static void runFailing(Collab collab, String message) {
    TaskHandler fails = ctx -> {
      throw new IllegalStateException(message);
    };
    TaskClaim claim = collab.tasks().claimNext("w", TTL, Set.of("x")).orElseThrow();
    try (WorkerPool pool = WorkerPool.builder(collab).agentId("w").handler("y", fails).start()) {
      new WorkerRun(pool, collab.core(), collab, "x", fails, RetryPolicy.defaults(), claim).run();
    }
  }

  private static void assertAttemptRecorded(Collab collab, String errorStart) {
    List<Event> failed = collab.events().read(0, EventFilter.all().types("executor_failed"), 100);
    assertThat(failed).as("executor_failed of the run").hasSize(1);
    Task task = collab.tasks().get("t").orElseThrow();
    assertThat(task.status()).as("the attempt failed and the claim ended").isEqualTo("queued");
    assertThat(collab.tasks().currentClaim("t")).isEmpty();
    assertThat(task.lastError()).startsWith(errorStart);
  }

  @Test
  void aLongMessageCutAtACharacterOfTwoUnitsIsRecordedWhole() {
    String message = "a".repeat(WorkerRun.HANDLER_ERROR_CHARS - 1) + "\uD83D\uDE00" + "tail";
    try (Collab collab = Collab.builder().storage(MemoryStorage.create(clock)).holder("me").build()) {
      collab.tasks().create(NewTask.of("t").withId("t").withLabels("x"));
      runFailing(collab, message);
      assertAttemptRecorded(collab, "java.lang.IllegalStateException: aaaa");
      assertThat(collab.tasks().get("t").orElseThrow().lastError())
          .endsWith("a … (6 more)").doesNotContain("\uD83D");
    }
  }

  @Test
  void aMessageHoldingHalfACharacterIsRecordedWithAReplacementCharacter() {
    try (Collab collab = Collab.builder().storage(MemoryStorage.create(clock)).holder("me").build()) {
      collab.tasks().create(NewTask.of("t").withId("t").withLabels("x"));
      runFailing(collab, "broken \uDE00 and \uD83D here, whole \uD83D\uDE00");
      assertAttemptRecorded(collab, "java.lang.IllegalStateException: broken \uFFFD and \uFFFD here, whole \uD83D\uDE00");
    }
  }

  @Test
  void aMessageOnATaskNearTheSizeLimitIsRecordedAsMuchAsFits() {
    int limit = 8_000;
    try (Collab collab = Collab.builder().storage(MemoryStorage.create(clock)).holder("me").maxValueBytes(limit)
        .build()) {
      // a task with about 2,000 bytes to spare: claimable, claimed fine
      collab.tasks().create(NewTask.of("t").withId("t").withLabels("x").withDescription("d".repeat(limit - 2_400)));
      runFailing(collab, "e".repeat(3_000));
      assertAttemptRecorded(collab, "java.lang.IllegalStateException: eeee");
      assertThat(collab.tasks().get("t").orElseThrow().lastError()).endsWith(TaskClaims.CUT_MARK);
      Event failed = collab.events().read(0, EventFilter.all().types("task_failed"), 10).get(0);
      assertThat(failed.details().get("error").asText()).as("the event keeps the whole reason")
          .isEqualTo("java.lang.IllegalStateException: " + "e".repeat(3_000));
      // and the task can be claimed again once its backoff passed: the reason left room for a claim
      clock.advance(Duration.ofDays(1));
      assertThat(collab.tasks().claim("t", "w2", TTL)).isPresent();
    }
  }

  /**
   * Bug (found in a review of the fix above): a message of 4,000 characters outside ASCII (up to 12,000 bytes) still
   * made the events recording the attempt too large for a size limit of 8,000 bytes.
   */
  @Test
  void aMessageOfCharactersOutsideAsciiIsRecordedAsMuchAsFits() {
    try (Collab collab = Collab.builder().storage(MemoryStorage.create(clock)).holder("me").maxValueBytes(8_000)
        .build()) {
      collab.tasks().create(NewTask.of("t").withId("t").withLabels("x"));
      runFailing(collab, "\u4e2d".repeat(WorkerRun.HANDLER_ERROR_CHARS));
      assertAttemptRecorded(collab, "java.lang.IllegalStateException: \u4e2d\u4e2d");
      Event failed = collab.events().read(0, EventFilter.all().types("executor_failed"), 10).get(0);
      assertThat(failed.details().get("error").asText()).endsWith(TextCut.MARK);
    }
  }

  /**
   * Bug (found in a review of the fix above): {@code Tasks.fail} with a reason larger than the size limit threw
   * {@code ValueTooLargeException} from its {@code task_failed} event and left the claim held.
   */
  @Test
  void failWithAReasonLargerThanTheSizeLimitEndsTheClaim() {
    int limit = 8_000;
    try (Collab collab = Collab.builder().storage(MemoryStorage.create(clock)).holder("me").maxValueBytes(limit)
        .build()) {
      collab.tasks().create(NewTask.of("t").withId("t"));
      TaskClaim claim = collab.tasks().claimNext("w", TTL, Set.of()).orElseThrow();
      Task failed = collab.tasks().fail(claim, "r".repeat(limit));
      assertThat(collab.tasks().currentClaim("t")).isEmpty();
      assertThat(failed.lastError()).startsWith("rrrr").endsWith(TextCut.MARK);
      Event event = collab.events().read(0, EventFilter.all().types("task_failed"), 10).get(0);
      assertThat(event.details().get("error").asText()).startsWith("rrrr").endsWith(TextCut.MARK);
    }
  }

  @Test
  void aTextIsCutToItsBudgetOfJsonBytesKeepingWholeCharacters() {
    assertThat(TextCut.toBytes("abc", 3)).isEqualTo("abc");
    long mark = TextCut.bytes(TextCut.MARK);
    String tail = "z".repeat(100); // longer than any budget below, so each text is cut
    assertThat(TextCut.toBytes("abc" + tail, mark + 3)).isEqualTo("abc" + TextCut.MARK);
    assertThat(TextCut.toBytes("\uD83D\uDE00\uD83D\uDE00" + tail, mark + 5)).isEqualTo("\uD83D\uDE00" + TextCut.MARK);
    assertThat(TextCut.toBytes("\u4e2d\u4e2d" + tail, mark + 5)).isEqualTo("\u4e2d" + TextCut.MARK);
    assertThat(TextCut.toBytes("a\u0001b" + tail, mark + 6)).isEqualTo("a" + TextCut.MARK);
    assertThat(TextCut.toBytes("\"\"\"" + tail, mark + 4)).isEqualTo("\"\"" + TextCut.MARK);
    assertThat(TextCut.toBytes("abcdef", 3)).as("not even the mark fits").isEmpty();
  }
}
