package io.kyros.collab.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.StorageException;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Write;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Lock waits are bounded by the retry timeout: a commit behind a transaction that holds a lock it needs and never ends
 * fails cleanly instead of hanging, and lock timeouts (PostgreSQL 55P03) are retried. The lock is the writers' lock on
 * the counter row where commits are serialized, and on PostgreSQL, where they run in parallel, the advisory lock of
 * the key the commit writes.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class LockWaitTest {
  private static final String PREFIX = "lockwait_";

  private static final RecordKey KEY = new RecordKey("c", "locked");

  /** A commit writing {@link #KEY} with one event (no expectation: the general path, two round trips). */
  private static Commit oneEvent() {
    return Commit.of(List.of(), List.of(Write.put(KEY, "{}", "h")), List.of(new NewEvent("e", "actor", "target", "{}")));
  }

  /**
   * A commit creating {@link #KEY}, expected absent, with one event: on PostgreSQL one round trip, whose first
   * statement bounds the lock wait and takes the key's lock together.
   */
  private static Commit oneEventCreating() {
    return Commit.of(List.of(Expectation.absent(KEY)), List.of(Write.put(KEY, "{}", "h")),
        List.of(new NewEvent("e", "actor", "target", "{}")));
  }

  /** A second key, so that a commit locks two keys: on PostgreSQL from an array, where one key's lock is not. */
  private static final RecordKey OTHER = new RecordKey("c", "other");

  /** Which commit a test sends. */
  enum Path {
    /** {@link #oneEvent()}. */
    GENERAL,
    /** {@link #oneEventCreating()}. */
    ONE_TRIP,
    /** {@link #oneEvent()} writing {@link #OTHER} too. */
    GENERAL_TWO_KEYS,
    /** {@link #oneEventCreating()} creating {@link #OTHER} too, expected absent. */
    ONE_TRIP_TWO_KEYS;

    Commit commit() {
      return switch (this) {
        case GENERAL -> oneEvent();
        case ONE_TRIP -> oneEventCreating();
        case GENERAL_TWO_KEYS -> Commit.of(List.of(), List.of(Write.put(KEY, "{}", "h"), Write.put(OTHER, "{}", "h")),
            List.of(new NewEvent("e", "actor", "target", "{}")));
        case ONE_TRIP_TWO_KEYS -> Commit.of(List.of(Expectation.absent(KEY), Expectation.absent(OTHER)),
            List.of(Write.put(KEY, "{}", "h"), Write.put(OTHER, "{}", "h")),
            List.of(new NewEvent("e", "actor", "target", "{}")));
      };
    }
  }

  /** Takes, in an open transaction, the lock {@link #oneEvent()} needs first. */
  private static void lockWhatTheCommitNeeds(Connection holder, TestDatabase.Kind kind) throws SQLException {
    holder.setAutoCommit(false);
    try (Statement s = holder.createStatement()) {
      s.executeQuery(kind == TestDatabase.Kind.POSTGRESQL
          ? "SELECT pg_advisory_xact_lock(" + InlineCommit.lockKey(PREFIX, KEY) + ")"
          : "SELECT * FROM " + PREFIX + "collab_meta WHERE id = 1 FOR UPDATE").close();
    }
  }

  @Test
  void postgresLockTimeoutsAreRetryableAndReportedAsLockTimeouts() {
    PostgresDialect pg = new PostgresDialect();
    SQLException lockTimeout = new SQLException("canceling statement due to lock timeout", "55P03");
    assertThat(pg.isRetryable(lockTimeout)).isTrue();
    assertThat(pg.isLockTimeout(lockTimeout)).isTrue();
    assertThat(pg.isRetryable(new SQLException("syntax", "42601"))).isFalse();
    assertThat(new MariaDbDialect(JdbcDialect.MARIADB).boundLockWait(200)).endsWith("= 1");
    assertThat(new MariaDbDialect(JdbcDialect.MARIADB).boundLockWait(2_500)).endsWith("= 3");
  }

  @ParameterizedTest
  @EnumSource(value = TestDatabase.Kind.class, names = {"POSTGRESQL", "MARIADB", "H2"})
  void aCommitBehindAStalledLockHolderFailsAfterTheRetryTimeout(TestDatabase.Kind kind) throws Exception {
    failsBehindAStalledLockHolder(kind, Path.GENERAL);
  }

  @Test
  void aOneTripCommitBehindAStalledLockHolderFailsAfterTheRetryTimeout() throws Exception {
    failsBehindAStalledLockHolder(TestDatabase.Kind.POSTGRESQL, Path.ONE_TRIP);
  }

  /** The same on PostgreSQL for commits locking two keys, whose locks are taken from an array, on both paths. */
  @ParameterizedTest
  @EnumSource(value = Path.class, names = {"GENERAL_TWO_KEYS", "ONE_TRIP_TWO_KEYS"})
  void aPostgresCommitOfTwoKeysBehindAStalledLockHolderFailsAfterTheRetryTimeout(Path path) throws Exception {
    failsBehindAStalledLockHolder(TestDatabase.Kind.POSTGRESQL, path);
  }

  private static void failsBehindAStalledLockHolder(TestDatabase.Kind kind, Path path) throws Exception {
    try (TestDatabase db = TestDatabase.open(kind, PREFIX, 4, c -> {});
        JdbcStorage storage = db.builder().retryTimeout(Duration.ofMillis(300)).build();
        Connection holder = db.connect()) {
      lockWhatTheCommitNeeds(holder, kind);
      CompletableFuture<Throwable> commit = CompletableFuture.supplyAsync(() -> {
        try {
          return new AssertionError("committed behind a held lock: " + storage.commit(path.commit()));
        } catch (RuntimeException e) {
          return e;
        }
      });
      try {
        // returns while the holder still holds the lock (it is released only in finally)
        assertThat(commit.get(60, TimeUnit.SECONDS)).isInstanceOf(StorageException.class)
            .hasMessageContaining("a lock could not be obtained within the retry timeout of 300 ms")
            .hasMessageContaining("held by another transaction that has not ended")
            .hasMessageContaining("the transaction was rolled back, nothing was committed");
      } finally {
        holder.rollback();
      }
      assertThat(storage.commit(path.commit())).isInstanceOf(CommitResult.Committed.class);
      assertThat(storage.lastEventId()).isEqualTo(1);
    }
  }

  @ParameterizedTest
  @EnumSource(Path.class)
  void aPostgresCommitWaitingForTheLockCommitsOnceTheHolderEnds(Path path) throws Exception {
    // the session's own lock_timeout is short: the commit sets its own bound from the retry timeout
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, PREFIX, 4,
            c -> c.setConnectionInitSql("SET lock_timeout = '50ms'"));
        JdbcStorage storage = db.builder().retryTimeout(Duration.ofSeconds(60)).build();
        Connection holder = db.connect()) {
      lockWhatTheCommitNeeds(holder, TestDatabase.Kind.POSTGRESQL);
      CompletableFuture<CommitResult> commit = CompletableFuture.supplyAsync(() -> storage.commit(path.commit()));
      Await.until("the commit to wait for the key's lock", () -> db.advisoryLockWaits() > 0 || commit.isDone());
      holder.rollback();
      assertThat(commit.get(60, TimeUnit.SECONDS)).isInstanceOf(CommitResult.Committed.class);
    }
  }
}
