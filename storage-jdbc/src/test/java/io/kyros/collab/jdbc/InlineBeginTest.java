package io.kyros.collab.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariDataSource;
import io.kyros.collab.StorageException;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Write;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.postgresql.core.BaseConnection;
import org.postgresql.core.TransactionState;

/**
 * On PostgreSQL a commit's transaction begins with a {@code BEGIN} statement in its first round trip, on a connection
 * left in auto-commit ({@link Transactions.Mode#INLINE_WRITE}), and ends with a COMMIT or ROLLBACK statement; or, for
 * a commit of one round trip, is that round trip, an implicit transaction without either. These
 * tests run every way a commit can end on a pool of one connection and check, after each, that the connection went
 * back to the pool in auto-commit, outside any transaction (the state the server reported last) and holding no key
 * lock (no advisory lock of its backend), that it is the same connection (not discarded), and that the records hold
 * what the result says. A pool handing out connections with auto-commit off gets the same transactions (auto-commit
 * is turned on for each operation and off again); a read-only one gets the driver's, at READ COMMITTED, where writes
 * fail.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class InlineBeginTest {
  private static final String PREFIX = "inline_begin_";
  private static final RecordKey X = new RecordKey("c", "x");
  private static final NewEvent EVENT = new NewEvent("e", "a", "t", "{}");

  @Test
  void oneTripCommitsAndConflictsLeaveTheConnectionIdle() throws Exception {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, PREFIX, 1, c -> {});
        JdbcStorage storage = db.builder().listenNotify(false).build()) {
      long pid = idleBackend(db);
      long created = revision(storage.commit(Commit.of(List.of(Expectation.absent(X)),
          List.of(Write.put(X, "1", "h1")), List.of(EVENT))));
      assertThat(idleBackend(db)).isEqualTo(pid);
      long updated = revision(storage.commit(Commit.of(List.of(Expectation.revision(X, created)),
          List.of(Write.put(X, "2", "h2")), List.of(EVENT))));
      assertThat(idleBackend(db)).isEqualTo(pid);

      // the check finds the stale expectation: an empty transaction commits in the same round trip
      assertThat(storage.commit(Commit.of(List.of(Expectation.revision(X, created)),
          List.of(Write.put(X, "3", "h3")), List.of(EVENT))))
          .isEqualTo(new CommitResult.Conflict(Expectation.revision(X, created), updated));
      assertThat(idleBackend(db)).isEqualTo(pid);
      assertThat(storage.read(X).orElseThrow().json()).isEqualTo("2");
      assertThat(storage.lastEventId()).isEqualTo(2);
    }
  }

  @Test
  void generalPathCommitsConflictsAndCommitsWithoutChangesLeaveTheConnectionIdle() throws Exception {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, PREFIX, 1, c -> {});
        JdbcStorage storage = db.builder().listenNotify(false).build()) {
      long pid = idleBackend(db);
      long r = revision(storage.commit(Commit.of(List.of(), List.of(Write.put(X, "1", "h1")), List.of())));
      assertThat(idleBackend(db)).isEqualTo(pid);

      // a delete takes the general path (two round trips); a stale one is rolled back by a ROLLBACK statement
      assertThat(storage.commit(Commit.of(List.of(Expectation.revision(X, r + 100)), List.of(Write.delete(X)),
          List.of(EVENT)))).isEqualTo(new CommitResult.Conflict(Expectation.revision(X, r + 100), r));
      assertThat(idleBackend(db)).isEqualTo(pid);
      assertThat(storage.read(X)).isPresent();
      assertThat(storage.commit(Commit.of(List.of(Expectation.revision(X, r)), List.of(Write.delete(X)),
          List.of(EVENT)))).isInstanceOf(CommitResult.Committed.class);
      assertThat(idleBackend(db)).isEqualTo(pid);
      assertThat(storage.read(X)).isEmpty();

      // more expectations than one round trip checks, nothing to write: the general path with no changes, whose
      // transaction only the attempt's own COMMIT ends
      List<Expectation> absent = new ArrayList<>();
      for (int i = 0; i < 40; i++) {
        absent.add(Expectation.absent(new RecordKey("c", "absent-" + i)));
      }
      assertThat(storage.commit(Commit.of(absent, List.of(), List.of()))).isInstanceOf(CommitResult.Committed.class);
      assertThat(idleBackend(db)).isEqualTo(pid);
      assertThat(storage.lastEventId()).isEqualTo(1);
    }
  }

  @Test
  void aServerErrorInTheRoundTripRollsBackAndLeavesTheConnectionIdle() throws Exception {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, PREFIX, 1, c -> {});
        JdbcStorage storage = db.builder().listenNotify(false).build()) {
      long r = revision(storage.commit(Commit.of(List.of(), List.of(Write.put(X, "1", "h1")), List.of())));
      long pid = idleBackend(db);
      db.whileRecordsTrigger("refuse", "UPDATE", "TRUE",
          "RAISE EXCEPTION 'refused by a trigger' USING ERRCODE = '23514';", () -> {
            assertThatThrownBy(() -> storage.commit(Commit.of(List.of(Expectation.revision(X, r)),
                List.of(Write.put(X, "2", "h2")), List.of(EVENT))))
                .isInstanceOf(StorageException.class).hasMessageContaining("23514")
                .hasMessageContaining("nothing was committed");
            assertThat(idleBackend(db)).isEqualTo(pid);
          });
      assertThat(storage.read(X).orElseThrow().json()).isEqualTo("1");
      assertThat(storage.lastEventId()).isZero();
      assertThat(revision(storage.commit(Commit.of(List.of(Expectation.revision(X, r)),
          List.of(Write.put(X, "2", "h2")), List.of(EVENT))))).isGreaterThan(r);
      assertThat(idleBackend(db)).isEqualTo(pid);
    }
  }

  @Test
  void aRowCountThatDoesNotHoldRollsBackTwiceAndLeavesTheConnectionIdle() throws Exception {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, PREFIX, 1, c -> {});
        JdbcStorage storage = db.builder().listenNotify(false).build()) {
      long r = revision(storage.commit(Commit.of(List.of(), List.of(Write.put(X, "1", "h1")), List.of())));
      long pid = idleBackend(db);
      // an update the tables' owner skips: the one round trip's row count fails (rolled back), the general path
      // begins again, fails the same way (rolled back), finds the revision unchanged and reports the failure
      db.whileRecordsTrigger("skip", "UPDATE", "TRUE", "RETURN NULL;", () -> {
        assertThatThrownBy(() -> storage.commit(Commit.of(List.of(Expectation.revision(X, r)),
            List.of(Write.put(X, "2", "h2")), List.of(EVENT))))
            .isInstanceOf(RolledBackException.class).hasMessageContaining("SQLState 55000")
            .hasMessageContaining("the tables were changed outside Collab")
            .hasMessageContaining("nothing was committed");
        assertThat(idleBackend(db)).isEqualTo(pid);
      });
      assertThat(storage.read(X).orElseThrow().json()).isEqualTo("1");
      assertThat(storage.lastEventId()).isZero();
    }
  }

  @Test
  void aFailedRollbackStatementDiscardsTheConnection() throws Exception {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, PREFIX, 1, c -> {})) {
      FaultyDataSource faulty = new FaultyDataSource(db.dataSource());
      try (JdbcStorage storage = db.recordedStorage(faulty)) {
        // a server error in the round trip, then the ROLLBACK statement fails
        long r = xWhoseNextEventFails(db, storage);
        long pid = idleBackend(db);
        SQLException rollbackFailure = new SQLException("injected: the ROLLBACK statement failed", "08006");
        faulty.inject((c, m, args) -> m.getName().equals("createStatement") ? rollbackFailure : null);
        int before = faulty.connections().size();
        // events built from the revisions: the general path, whose transaction BEGIN opened (a one-round-trip commit
        // is an implicit transaction, which the server's error ended: see the next test)
        assertThatThrownBy(() -> storage.commit(new Commit(List.of(Expectation.revision(X, r)),
            List.of(Write.put(X, "2", "h2")), revisions -> List.of(EVENT))))
            .isInstanceOf(StorageException.class).hasMessageContaining("23505")
            .hasMessageContaining("nothing was committed")
            .cause().satisfies(cause -> assertThat(cause.getSuppressed()).contains(rollbackFailure));
        FaultyDataSource.Calls failed = faulty.connections().get(before);
        assertThat(failed.log()).containsSubsequence("prepareStatement", "createStatement", "abort", "close");
        faulty.heal();

        // the pool replaced the aborted connection, which was still inside the failed transaction
        assertThat(idleBackend(db)).isNotEqualTo(pid);
        assertThat(storage.read(X).orElseThrow().json()).isEqualTo("1");
      }
    }
  }

  @Test
  void aServerErrorInAOneTripCommitEndsItsImplicitTransactionWithoutARollbackStatement() throws Exception {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, PREFIX, 1, c -> {})) {
      FaultyDataSource faulty = new FaultyDataSource(db.dataSource());
      try (JdbcStorage storage = db.recordedStorage(faulty)) {
        // a server error in the one round trip
        long r = xWhoseNextEventFails(db, storage);
        long pid = idleBackend(db);
        int before = faulty.connections().size();
        assertThatThrownBy(() -> storage.commit(Commit.of(List.of(Expectation.revision(X, r)),
            List.of(Write.put(X, "2", "h2")), List.of(EVENT))))
            .isInstanceOf(StorageException.class).hasMessageContaining("23505")
            .hasMessageContaining("nothing was committed");
        FaultyDataSource.Calls failed = faulty.connections().get(before);
        assertThat(failed.prepared()).singleElement().matches(CommitTrips::implicit, "an implicit transaction");
        // the server rolled it back at the end of the round trip: nothing to end, the connection goes back as it is
        assertThat(failed.log()).doesNotContain("createStatement", "abort", "rollback");

        assertThat(idleBackend(db)).isEqualTo(pid);
        assertThat(storage.read(X).orElseThrow().json()).isEqualTo("1");
        assertThat(storage.read(X).orElseThrow().revision()).isEqualTo(r);
      }
    }
  }

  /**
   * A connection handed out in auto-commit but inside a transaction (someone sent BEGIN as a statement and gave it
   * back): not supported (docs/jdbc.md), but a one-round-trip commit must not vanish into that transaction. The driver
   * does not report it idle, so the commit begins and commits a transaction as before this commit went without
   * BEGIN: it commits (with whatever that transaction held; PostgreSQL warns of the BEGIN inside it), and the
   * connection goes back idle. Sent as an implicit transaction it would have committed nothing, its key lock held.
   */
  @Test
  void aConnectionLeftInsideATransactionStillGetsTheCommitCommitted() throws Exception {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, PREFIX, 1, c -> {});
        JdbcStorage storage = db.builder().listenNotify(false).build()) {
      long pid = idleBackend(db);
      try (Connection c = db.dataSource().getConnection(); Statement s = c.createStatement()) {
        s.execute("BEGIN");
        assertThat(c.getAutoCommit()).isTrue();
      }

      long created = revision(storage.commit(Commit.of(List.of(Expectation.absent(X)),
          List.of(Write.put(X, "1", "h1")), List.of(EVENT))));

      try (Connection other = db.connect(); Statement s = other.createStatement();
          ResultSet rs = s.executeQuery("SELECT revision FROM " + PREFIX + "collab_records WHERE id = 'x'")) {
        assertThat(rs.next()).as("committed for everyone").isTrue();
        assertThat(rs.getLong(1)).isEqualTo(created);
      }
      assertThat(idleBackend(db)).isEqualTo(pid);
    }
  }

  @Test
  void aPoolWithAutoCommitOffGetsTheSameTransactionsAndItsConnectionsBackWithAutoCommitOff() throws Exception {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, PREFIX, 1, c -> c.setAutoCommit(false));
        Connection other = db.connect()) {
      FaultyDataSource recorded = new FaultyDataSource(db.dataSource());
      List<String> atClose = new ArrayList<>();
      recorded.inject((c, m, args) -> {
        if (m.getName().equals("close")) {
          atClose.add("auto-commit " + c.real.getAutoCommit() + ", "
              + c.real.unwrap(BaseConnection.class).getTransactionState());
        }
        return null;
      });
      JdbcStorage storage = JdbcStorage.builder(recorded.dataSource()).tablePrefix(PREFIX)
          .dialect(JdbcDialect.POSTGRESQL).listenNotify(false).build();
      long r = revision(storage.commit(Commit.of(List.of(Expectation.absent(X)), List.of(Write.put(X, "1", "h1")),
          List.of(EVENT))));
      assertThat(storage.commit(Commit.of(List.of(Expectation.revision(X, r + 100)), List.of(Write.delete(X)),
          List.of(EVENT)))).isEqualTo(new CommitResult.Conflict(Expectation.revision(X, r + 100), r));
      long r2 = revision(storage.commit(Commit.of(List.of(Expectation.revision(X, r)),
          List.of(Write.put(X, "2", "h2")), List.of(EVENT))));
      // committed for everyone else too
      try (Statement s = other.createStatement(); ResultSet rs = s.executeQuery("SELECT revision, value_json FROM "
          + PREFIX + "collab_records WHERE collection = 'c' AND id = 'x'")) {
        assertThat(rs.next()).isTrue();
        assertThat(rs.getLong(1)).isEqualTo(r2);
        assertThat(rs.getString(2)).isEqualTo("2");
      }
      assertThat(storage.lastEventId()).isEqualTo(2);
      storage.close();
      // every operation turned auto-commit on for itself and off again, and each commit ran in auto-commit as on a
      // pool in auto-commit: one round trip as an implicit transaction, or BEGIN at READ COMMITTED in its first round
      // trip (the one bounding its lock wait)
      assertThat(recorded.connections()).isNotEmpty().allSatisfy(calls -> {
        assertThat(calls.log()).containsSubsequence("setAutoCommit(true)", "setAutoCommit(false)", "close");
        assertThat(calls.prepared().stream().filter(sql -> sql.contains("lock_timeout")))
            .allMatch(CommitTrips::beginsCommit);
      });
      assertThat(recorded.connections().stream().flatMap(calls -> calls.prepared().stream())
          .filter(CommitTrips::beginsCommit)).hasSizeGreaterThanOrEqualTo(3);
      // and went back to the pool as it came: auto-commit off, outside any transaction
      assertThat(atClose).hasSize(recorded.connections().size()).containsOnly("auto-commit false, IDLE");
    }
  }

  /**
   * The first commit is the first use of the pool's connection, whose init query left a transaction open: without
   * ending it first, setting the level would fail ("must be called before any query") instead of the write.
   */
  @Test
  void aReadOnlyPoolGetsTheDriversTransactionsAtReadCommittedAndItsWritesFail() throws Exception {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, PREFIX);
        HikariDataSource readOnly = db.newPool("inline-read-only", 1, c -> {
          c.setAutoCommit(false);
          c.setReadOnly(true);
          c.setTransactionIsolation("TRANSACTION_REPEATABLE_READ");
          c.setConnectionInitSql("SELECT 1"); // leaves a transaction open, which the commit must end first
        })) {
      FaultyDataSource recorded = new FaultyDataSource(readOnly);
      try (JdbcStorage storage = JdbcStorage.builder(recorded.dataSource()).tablePrefix(PREFIX)
          .dialect(JdbcDialect.POSTGRESQL).listenNotify(false).build()) {
        assertThatThrownBy(() -> storage.commit(Commit.of(List.of(Expectation.absent(X)),
            List.of(Write.put(X, "1", "h1")), List.of(EVENT))))
            .isInstanceOf(StorageException.class).hasMessageContaining("read-only transaction")
            .hasMessageContaining("nothing was committed");
        // a commit that only checks runs in the driver's BEGIN READ ONLY, its first statement setting READ COMMITTED
        assertThat(storage.commit(Commit.of(List.of(Expectation.absent(X)), List.of(), List.of())))
            .isInstanceOf(CommitResult.Committed.class);
        assertThat(storage.read(X)).isEmpty();
      }
      assertThat(recorded.connections()).allSatisfy(calls -> assertThat(calls.prepared()
          .stream().filter(sql -> sql.contains("lock_timeout")))
          .allMatch(sql -> sql.startsWith(InlineCommit.SET_READ_COMMITTED + "; ")));
      assertThat(recorded.connections().stream().flatMap(calls -> calls.prepared().stream())
          .filter(sql -> sql.contains("lock_timeout"))).hasSizeGreaterThanOrEqualTo(2);
    }
  }

  /**
   * Writes X, then inserts an event outside Collab with the id the next commit's event takes, so that its insert
   * fails (23505).
   *
   * @return X's revision
   */
  private static long xWhoseNextEventFails(TestDatabase db, JdbcStorage storage) {
    long r = revision(storage.commit(Commit.of(List.of(), List.of(Write.put(X, "1", "h1")), List.of())));
    db.execute("INSERT INTO " + PREFIX + "collab_events (id, ts_micros, event_type, actor, target, details)"
        + " SELECT nextval('" + PREFIX + "collab_event_seq') + 1, 0, 'x', 'x', 'x', '{}'");
    return r;
  }

  private static long revision(CommitResult result) {
    assertThat(result).isInstanceOf(CommitResult.Committed.class);
    return ((CommitResult.Committed) result).revisions().get(0);
  }

  /**
   * Borrows the pool's one connection and checks that it is in auto-commit, outside any transaction (as the server
   * reported in its last ReadyForQuery) and holds no advisory lock.
   *
   * @return its backend's process id, which tells whether the pool still has the same connection
   */
  private static long idleBackend(TestDatabase db) {
    try (Connection c = db.dataSource().getConnection()) {
      assertThat(c.getAutoCommit()).as("auto-commit").isTrue();
      assertThat(c.unwrap(BaseConnection.class).getTransactionState()).as("transaction state")
          .isEqualTo(TransactionState.IDLE);
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT pg_backend_pid(), (SELECT"
          + " count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid())")) {
        assertThat(rs.next()).isTrue();
        assertThat(rs.getLong(2)).as("advisory locks held").isZero();
        return rs.getLong(1);
      }
    } catch (SQLException e) {
      throw new IllegalStateException("checking the pooled connection failed", e);
    }
  }
}
