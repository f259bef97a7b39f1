package io.kyros.collab.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.StorageException;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Write;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * An interrupt ends the retrying: a commit that keeps failing with a serialization failure (SQLState 40001,
 * retryable) under a retry timeout of a minute fails at once when its thread is interrupted, with a
 * {@link StorageException} saying so, and the thread keeps its interrupt status. H2 in memory behind a proxy whose
 * connections fail the commit's first statement.
 */
@Timeout(value = 1, unit = TimeUnit.MINUTES)
class RetryInterruptTest {
  private static final Duration RETRY_TIMEOUT = Duration.ofMinutes(1);
  private static final Commit COMMIT = Commit.of(List.of(), List.of(Write.put(new RecordKey("retry", "a"), "{}", "h")),
      List.of(new NewEvent("e", "t", "t", "{}")));

  /** What the commit's thread saw: the exception and whether its interrupt status was still set afterwards. */
  private record Outcome(Throwable failure, boolean interrupted) {}

  private static JdbcStorage storage(FaultyDataSource faulty) {
    JdbcStorage storage = JdbcStorage.builder(faulty.dataSource()).dialect(JdbcDialect.H2).retryTimeout(RETRY_TIMEOUT)
        .build();
    storage.createSchema();
    return storage;
  }

  /**
   * Makes every attempt's first statement fail with SQLState 40001.
   *
   * @param attempts counts the attempts, one connection each
   * @param onAttempt runs in the attempt before it fails, with the attempt's number
   */
  private static void serializationFailures(FaultyDataSource faulty, AtomicInteger attempts,
      java.util.function.IntConsumer onAttempt) {
    faulty.inject((c, m, args) -> {
      if (!m.getName().equals("createStatement")) {
        return null;
      }
      onAttempt.accept(attempts.incrementAndGet());
      return new SQLException("injected: could not serialize access", "40001");
    });
  }

  /** Runs the commit on a thread of its own, interrupted first if asked, and reports how it ended. */
  private static CompletableFuture<Outcome> commitOnAThread(JdbcStorage storage, boolean interruptFirst,
      Thread[] thread) {
    CompletableFuture<Outcome> outcome = new CompletableFuture<>();
    thread[0] = new Thread(() -> {
      if (interruptFirst) {
        Thread.currentThread().interrupt();
      }
      Throwable failure = null;
      try {
        storage.commit(COMMIT);
      } catch (Throwable e) {
        failure = e;
      }
      outcome.complete(new Outcome(failure, Thread.currentThread().isInterrupted()));
    }, "interrupted-committer");
    thread[0].start();
    return outcome;
  }

  private static void assertStoppedByTheInterrupt(Outcome outcome) {
    assertThat(outcome.failure()).isInstanceOf(StorageException.class)
        .hasMessageContaining("JDBC commit interrupted while waiting to retry after SQLState 40001")
        .hasMessageContaining("the transaction was rolled back, nothing was committed")
        .cause().isInstanceOf(SQLException.class).hasMessageContaining("injected: could not serialize access");
    assertThat(outcome.interrupted()).as("the interrupt status is kept").isTrue();
    // that the interrupt, not the retry timeout, ended it is in the message above and the attempt counts below
  }

  @Test
  void aThreadInterruptedBeforeTheCommitStopsAfterTheFirstRetryableFailure() throws Exception {
    FaultyDataSource faulty = FaultyDataSource.h2("retry_interrupted_before");
    try (JdbcStorage storage = storage(faulty)) {
      AtomicInteger attempts = new AtomicInteger();
      serializationFailures(faulty, attempts, n -> {});

      Outcome outcome = commitOnAThread(storage, true, new Thread[1]).get(30, TimeUnit.SECONDS);

      assertStoppedByTheInterrupt(outcome);
      assertThat(attempts.get()).isEqualTo(1); // no spinning: parkNanos returns at once while interrupted
      faulty.heal();
      assertThat(storage.lastEventId()).isZero();
    }
  }

  @Test
  void aThreadInterruptedWhileRetryingStopsAtTheNextBackoff() throws Exception {
    FaultyDataSource faulty = FaultyDataSource.h2("retry_interrupted_during");
    try (JdbcStorage storage = storage(faulty)) {
      AtomicInteger attempts = new AtomicInteger();
      CountDownLatch retrying = new CountDownLatch(1);
      serializationFailures(faulty, attempts, n -> {
        if (n == 3) {
          retrying.countDown(); // two retries happened: the commit is in its retry loop
        }
      });
      Thread[] thread = new Thread[1];
      CompletableFuture<Outcome> outcome = commitOnAThread(storage, false, thread);

      assertThat(retrying.await(30, TimeUnit.SECONDS)).isTrue();
      thread[0].interrupt();
      int attemptsWhenInterrupted = attempts.get();

      assertStoppedByTheInterrupt(outcome.get(30, TimeUnit.SECONDS));
      // at most the attempt under way when the interrupt came (or the one it was about to start) ran after it
      assertThat(attempts.get()).isBetween(3, attemptsWhenInterrupted + 1);
      faulty.heal();
      assertThat(storage.lastEventId()).isZero();
    }
  }
}
