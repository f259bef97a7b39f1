package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.memory.MemoryStorage;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Bug (found in review): {@link WorkerContext#progress} documents {@link IllegalArgumentException} for bad input and
 * {@link StorageException} if the storage fails, and docs/workers.md does not call progress best-effort, but
 * {@code WorkerRun.record} caught every RuntimeException and only logged it: a storage failure was never thrown, and a
 * message the store cannot hold (a lone surrogate, refused as invalid JSON text) was neither refused with
 * {@link IllegalArgumentException} nor recorded, the progress silently lost. The message is now checked first (a lone
 * surrogate is refused naming {@code message}) and a failure of the commit recording the progress reaches the handler.
 */
@Timeout(60)
class ProgressErrorsTest {
  private final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));

  private Throwable progressOutcome(boolean failProgressCommits, String message) throws Exception {
    ForwardingStorage storage = new ForwardingStorage(MemoryStorage.create(clock)) {
      @Override
      public CommitResult commit(Commit commit) {
        if (failProgressCommits && commit.fixedEvents().isPresent() && commit.fixedEvents().get().stream()
            .anyMatch(e -> e.type().equals("executor_progress"))) {
          throw new StorageException("disk full (test)");
        }
        return super.commit(commit);
      }
    };
    CompletableFuture<Throwable> seen = new CompletableFuture<>();
    try (Collab collab = Collab.builder().storage(storage).holder("me").build()) {
      collab.tasks().create(NewTask.of("t").withLabels("x"));
      try (WorkerPool pool = WorkerPool.builder(collab).agentId("w").handler("x", ctx -> {
        try {
          ctx.progress(50, message);
          seen.complete(null);
        } catch (Throwable t) {
          seen.complete(t);
        }
        return Outcome.done();
      }).start()) {
        return seen.get(20, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void progressThrowsWhenTheStorageFails() throws Exception {
    assertThat(progressOutcome(true, "half way")).as("what progress threw").isInstanceOf(StorageException.class);
  }

  @Test
  void progressWithWholeCharactersIsRecorded() throws Exception {
    assertThat(progressOutcome(false, "half \uD83D\uDE00 way")).as("what progress threw").isNull();
  }

  @Test
  void progressRefusesAMessageTheStoreCannotHold() throws Exception {
    assertThat(progressOutcome(false, "half \uD800 way")).as("what progress threw")
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("message")
        .hasMessageContaining("lone surrogate");
  }
}
