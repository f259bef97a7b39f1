package io.kyros.collab.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.conformance.CommitGate;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Write;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Group commit (found in review): a commit whose event function threw an {@code Error} (an {@code AssertionError}, a
 * {@code StackOverflowError}) or a {@code StorageException} of its own failed every other commit of its group, which
 * alone would have committed, and got a wrapped {@code StorageException} itself. It must fail alone, with its own
 * throwable, and the others commit: MariaDB, H2 and SQLite (PostgreSQL does not group).
 */
class GroupCommitEventFailureTest {
  private static final Duration PATIENCE = Duration.ofSeconds(60);

  static Stream<Arguments> cases() {
    return Stream.of("MARIADB", "H2", "SQLITE").flatMap(k -> Stream.of(Arguments.of(k, "AssertionError"),
        Arguments.of(k, "StorageException"), Arguments.of(k, "IOException")));
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("cases")
  void anErrorInOneCommitsEventFunctionFailsOnlyThatCommit(String kindName, String thrown) throws Exception {
    TestDatabase.Kind kind = TestDatabase.Kind.valueOf(kindName);
    Supplier<RuntimeException> storageException =
        () -> new io.kyros.collab.StorageException("a failure of this commit's event function");
    try (TestDatabase db = TestDatabase.open(kind, "gcevent_"); JdbcStorage storage = db.builder().build()) {
      ExecutorService threads = Executors.newCachedThreadPool();
      try {
        CommitGate gate = new CommitGate(PATIENCE);
        Future<CommitResult> held = threads.submit(() -> storage.commit(gate.hold(create("held"))));
        gate.awaitHeld();
        List<Thread> waiting = new ArrayList<>();
        RecordKey badKey = new RecordKey("g", "bad");
        Commit bad = new Commit(List.of(Expectation.absent(badKey)), List.of(Write.put(badKey, "\"bad\"", "h")),
            revisions -> {
              if (thrown.equals("AssertionError")) {
                throw new AssertionError("a bug in this commit's event function");
              }
              if (thrown.equals("IOException")) { // checked, thrown undeclared
                throw UndeclaredCheckedExceptionTest.sneaky(
                    new java.io.IOException("a failure of this commit's event function"));
              }
              throw storageException.get();
            });
        List<Future<CommitResult>> queued = new ArrayList<>();
        for (Commit c : List.of(bad, create("good"))) {
          queued.add(threads.submit(() -> {
            synchronized (waiting) {
              waiting.add(Thread.currentThread());
            }
            return storage.commit(c);
          }));
          int n = queued.size();
          Await.until("commit " + n + " waiting in the queue", () -> {
            synchronized (waiting) {
              return waiting.size() == n && waiting.stream().allMatch(CommitGroupsTest::waitsInQueue);
            }
          });
        }
        gate.open();
        assertThat(held.get(PATIENCE.toSeconds(), TimeUnit.SECONDS)).isInstanceOf(CommitResult.Committed.class);
        // alone, the good commit commits: it must do so in a group too
        CommitResult good;
        try {
          good = queued.get(1).get(PATIENCE.toSeconds(), TimeUnit.SECONDS);
        } catch (ExecutionException e) {
          throw new AssertionError("the good commit failed because of the bad one's event function: " + e.getCause(),
              e.getCause());
        }
        assertThat(good).isInstanceOf(CommitResult.Committed.class);
        assertThat(storage.read(new RecordKey("g", "good"))).isPresent();
        Throwable badFailure = null;
        try {
          queued.get(0).get(PATIENCE.toSeconds(), TimeUnit.SECONDS);
        } catch (ExecutionException e) {
          badFailure = e.getCause();
        }
        assertThat(badFailure).as("the bad commit fails with its own error")
            .isInstanceOf(thrown.equals("AssertionError") ? AssertionError.class
                : thrown.equals("IOException") ? java.io.IOException.class : io.kyros.collab.StorageException.class)
            .hasMessageStartingWith(thrown.equals("AssertionError") ? "a bug in this commit's event function"
                : "a failure of this commit's event function");
        assertThat(storage.read(badKey)).as("nothing of the bad commit").isEmpty();
      } finally {
        threads.shutdownNow();
      }
    }
  }

  private static Commit create(String id) {
    RecordKey k = new RecordKey("g", id);
    return Commit.of(List.of(Expectation.absent(k)), List.of(Write.put(k, "\"" + id + "\"", "h")),
        List.of(new NewEvent("created", "test", id, "{}")));
  }
}
