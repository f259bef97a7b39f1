package io.kyros.collab.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Write;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * PostgreSQL commits read their expectations after their key locks, seeing every commit that held those locks before,
 * whatever isolation level the pool's connections default to: a commit's transaction runs at READ COMMITTED even on a
 * pool configured for REPEATABLE READ or SERIALIZABLE. At those levels the snapshot would be taken by the commit's
 * first statement, before its key locks are granted, so a commit that waited for a key's lock would check its
 * expectation on that key against the version before the lock holder's commit, and commit on it (every case below
 * did, before {@code InlineCommit} began its transactions at READ COMMITTED). Here the holder (plain SQL doing what a
 * commit on the watched key does: its key lock, then a new revision) commits while the commit under test waits for
 * that lock; the commit expects the watched key at its old revision without writing it, and must report the conflict
 * instead of committing. Every combination of level, auto-commit (the commit's own BEGIN, or the driver's) and path
 * (one round trip, or the general two) is run.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class IsolationTest {
  private static final String PREFIX = "isolation_";
  private static final RecordKey WATCHED = new RecordKey("c", "watched");
  private static final RecordKey WRITTEN = new RecordKey("c", "written");
  private static final NewEvent EVENT = new NewEvent("e", "a", "t", "{}");

  /**
   * @param watchedAt the revision the commit expects the watched key at
   * @param oneTrip whether the commit qualifies for one round trip (its write expected absent) or takes the general
   *     path (a write without an expectation)
   */
  private static Commit watchingCommit(long watchedAt, boolean oneTrip) {
    List<Expectation> expectations = oneTrip
        ? List.of(Expectation.revision(WATCHED, watchedAt), Expectation.absent(WRITTEN))
        : List.of(Expectation.revision(WATCHED, watchedAt));
    return Commit.of(expectations, List.of(Write.put(WRITTEN, "{\"v\":1}", "h1")), List.of(EVENT));
  }

  @ParameterizedTest(name = "{0}, auto-commit {1}, one trip {2}")
  @CsvSource({
      "TRANSACTION_REPEATABLE_READ, true, true",
      "TRANSACTION_REPEATABLE_READ, true, false",
      "TRANSACTION_REPEATABLE_READ, false, true",
      "TRANSACTION_REPEATABLE_READ, false, false",
      "TRANSACTION_SERIALIZABLE, true, true",
      "TRANSACTION_SERIALIZABLE, true, false",
      "TRANSACTION_SERIALIZABLE, false, true",
      "TRANSACTION_SERIALIZABLE, false, false"})
  void aCommitWaitingForAKeysLockChecksItsExpectationAgainstTheHoldersCommit(String isolation, boolean autoCommit,
      boolean oneTrip) throws Exception {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, PREFIX, 2, c -> {
          c.setTransactionIsolation(isolation);
          c.setAutoCommit(autoCommit);
        });
        JdbcStorage storage = db.builder().build();
        Connection holder = db.connect()) {
      CommitResult created = storage.commit(Commit.of(List.of(Expectation.absent(WATCHED)),
          List.of(Write.put(WATCHED, "{\"v\":0}", "h0")), List.of(EVENT)));
      long before = ((CommitResult.Committed) created).revisions().get(0);
      changeTheWatchedRecordHoldingItsLock(holder, Tables.of(PREFIX));
      CompletableFuture<CommitResult> commit =
          CompletableFuture.supplyAsync(() -> storage.commit(watchingCommit(before, oneTrip)));
      Await.until("the commit to wait for the watched key's lock", () -> db.lockWaits() > 0 || commit.isDone());
      holder.commit();
      long after = storage.read(WATCHED).orElseThrow().revision();
      assertThat(after).isGreaterThan(before);

      CommitResult result = commit.get(60, TimeUnit.SECONDS);

      assertThat(result).isInstanceOf(CommitResult.Conflict.class);
      CommitResult.Conflict conflict = (CommitResult.Conflict) result;
      assertThat(conflict.failed().key()).isEqualTo(WATCHED);
      assertThat(conflict.actualRevision()).isEqualTo(after);
      assertThat(storage.read(WRITTEN)).isEqualTo(Optional.empty());
      assertThat(storage.lastEventId()).isEqualTo(1);
      // and with the expectation brought up to date it commits, on the same pool
      assertThat(storage.commit(watchingCommit(after, oneTrip))).isInstanceOf(CommitResult.Committed.class);
    }
  }

  /**
   * Does, in a transaction left open, what a commit changing the watched record does: takes the key's lock, then gives
   * the record a new revision from the sequence.
   */
  private static void changeTheWatchedRecordHoldingItsLock(Connection holder, Tables tables) throws SQLException {
    holder.setAutoCommit(false);
    try (Statement s = holder.createStatement()) {
      s.executeQuery("SELECT pg_advisory_xact_lock(" + InlineCommit.lockKey(PREFIX, WATCHED) + ")").close();
      assertThat(s.executeUpdate("UPDATE " + tables.records() + " SET revision = nextval('"
          + tables.revisionSequence() + "'), value_json = '{\"v\":2}' WHERE collection = 'c' AND id = 'watched'"))
          .isEqualTo(1);
    }
  }
}
