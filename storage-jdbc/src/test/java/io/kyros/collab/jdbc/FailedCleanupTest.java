package io.kyros.collab.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.StorageException;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Write;
import java.sql.SQLException;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A transaction whose cleanup fails: when the rollback or the auto-commit reset after an operation fails, the
 * connection is aborted (never handed back still inside a transaction, and never committed by
 * {@code setAutoCommit(true)}), the {@link StorageException} carries the operation's failure with the cleanup's
 * failure suppressed, and the storage goes on with the next connection. H2 in memory behind recording proxies
 * (each {@code getConnection} a new physical connection), failures injected deterministically.
 */
@Timeout(value = 1, unit = TimeUnit.MINUTES)
class FailedCleanupTest {
  private static final RecordKey A = new RecordKey("cleanup", "a");
  private static final RecordKey B = new RecordKey("cleanup", "b");

  private static JdbcStorage storage(FaultyDataSource faulty) {
    JdbcStorage storage = JdbcStorage.builder(faulty.dataSource()).dialect(JdbcDialect.H2).build();
    storage.createSchema();
    return storage;
  }

  /**
   * A commit of A whose event insert fails once A's row and the counters are written: the event source (run
   * inside the transaction, after the writes) arms the failure of the next statement prepared.
   */
  private static Commit failingAfterTheWrites(AtomicBoolean armed) {
    return new Commit(List.of(), List.of(Write.put(A, "{\"x\":1}", "ha")), revisions -> {
      armed.set(true);
      return List.of(new NewEvent("doomed", "t", "t", "{}"));
    });
  }

  private static final String PRIMARY = "injected: the event insert failed";

  private static Throwable failPrepareWhenArmed(AtomicBoolean armed, String method) {
    return method.equals("prepareStatement") && armed.getAndSet(false) ? new SQLException(PRIMARY, "42000") : null;
  }

  @Test
  void aFailedRollbackAbortsTheConnectionWithoutRestoringAutoCommit() throws Exception {
    FaultyDataSource faulty = FaultyDataSource.h2("cleanup_rollback");
    try (JdbcStorage storage = storage(faulty)) {
      AtomicBoolean armed = new AtomicBoolean();
      SQLException rollbackFailure = new SQLException("injected: rollback failed", "08003");
      faulty.inject((c, m, args) -> m.getName().equals("rollback") ? rollbackFailure
          : failPrepareWhenArmed(armed, m.getName()));
      int before = faulty.connections().size();

      assertThatThrownBy(() -> storage.commit(failingAfterTheWrites(armed))).isInstanceOf(StorageException.class)
          .hasMessageContaining("JDBC commit failed (SQLState 42000").hasMessageContaining(PRIMARY)
          .hasMessageNotContaining("unknown")
          .cause().isInstanceOf(SQLException.class).hasMessage(PRIMARY)
          .satisfies(cause -> assertThat(cause.getSuppressed()).containsExactly(rollbackFailure));

      assertThat(faulty.connections()).hasSize(before + 1); // not retried: 42000 is not retryable
      FaultyDataSource.Calls failed = faulty.connections().get(before);
      assertThat(failed.log()).contains("setAutoCommit(false)", "rollback", "abort", "close");
      // setAutoCommit(true) inside the transaction the rollback could not end would have committed A's row
      assertThat(failed.after("rollback")).doesNotContain("setAutoCommit(true)").containsSubsequence("abort", "close");
      assertThat(failed.real.isClosed()).isTrue();

      faulty.heal();
      assertThat(storage.read(A)).isEmpty(); // the abort ended the transaction: nothing of it was committed
      assertThat(storage.lastEventId()).isZero();
      assertThat(storage.commit(Commit.of(List.of(), List.of(Write.put(B, "{}", "hb")),
          List.of(new NewEvent("after", "t", "t", "{}"))))).isInstanceOfSatisfying(CommitResult.Committed.class,
              c -> assertThat(c.revisions()).containsExactly(1L));
      assertThat(storage.read(B)).isPresent();
      assertThat(storage.lastEventId()).isEqualTo(1);
    }
  }

  @Test
  void aFailedAutoCommitResetAfterARollbackAbortsTheConnection() throws Exception {
    FaultyDataSource faulty = FaultyDataSource.h2("cleanup_reset");
    try (JdbcStorage storage = storage(faulty)) {
      AtomicBoolean armed = new AtomicBoolean();
      SQLException resetFailure = new SQLException("injected: auto-commit reset failed", "08003");
      faulty.inject((c, m, args) -> m.getName().equals("setAutoCommit") && Boolean.TRUE.equals(args[0])
          ? resetFailure : failPrepareWhenArmed(armed, m.getName()));
      int before = faulty.connections().size();

      assertThatThrownBy(() -> storage.commit(failingAfterTheWrites(armed))).isInstanceOf(StorageException.class)
          .hasMessageContaining(PRIMARY).hasMessageContaining("the transaction was rolled back, nothing was committed")
          .cause().isInstanceOf(SQLException.class).hasMessage(PRIMARY)
          .satisfies(cause -> assertThat(cause.getSuppressed()).containsExactly(resetFailure));

      FaultyDataSource.Calls failed = faulty.connections().get(before);
      assertThat(failed.log()).containsSubsequence("setAutoCommit(false)", "rollback", "setAutoCommit(true)",
          "abort", "close");
      assertThat(failed.real.isClosed()).isTrue();

      faulty.heal();
      assertThat(storage.read(A)).isEmpty();
      assertThat(storage.commit(Commit.of(List.of(), List.of(Write.put(B, "{}", "hb")), List.of())))
          .isInstanceOf(CommitResult.Committed.class);
      assertThat(storage.read(B)).isPresent();
    }
  }

  @Test
  void aFailedAutoCommitResetAfterASuccessfulCommitKeepsTheResultAndAbortsTheConnection() throws Exception {
    FaultyDataSource faulty = FaultyDataSource.h2("cleanup_success");
    try (JdbcStorage storage = storage(faulty)) {
      faulty.inject((c, m, args) -> m.getName().equals("setAutoCommit") && Boolean.TRUE.equals(args[0])
          ? new SQLException("injected: auto-commit reset failed", "08003") : null);
      int before = faulty.connections().size();

      // the commit took effect before the reset failed: the caller is told it committed (the failure is logged)
      assertThat(storage.commit(Commit.of(List.of(), List.of(Write.put(A, "{}", "ha")), List.of())))
          .isInstanceOfSatisfying(CommitResult.Committed.class, c -> assertThat(c.revisions()).containsExactly(1L));

      FaultyDataSource.Calls used = faulty.connections().get(before);
      assertThat(used.log()).containsSubsequence("setAutoCommit(false)", "commit", "setAutoCommit(true)", "abort",
          "close");
      assertThat(used.real.isClosed()).isTrue();

      faulty.heal();
      assertThat(storage.read(A)).isPresent();
    }
  }

  @Test
  void anUncheckedFailureOnceCommitWasSentIsAnUnknownOutcomeNotARollback() {
    FaultyDataSource faulty = FaultyDataSource.h2("cleanup_commit_unchecked");
    try (JdbcStorage storage = storage(faulty)) {
      IllegalStateException failure = new IllegalStateException("injected: the pool's proxy failed in commit()");
      faulty.inject((c, m, args) -> m.getName().equals("commit") ? failure : null);

      // a group commit must not run such a commit again (CommitGroups): it may have taken effect
      assertThatThrownBy(() -> storage.commit(Commit.of(List.of(), List.of(Write.put(A, "{}", "ha")), List.of())))
          .isInstanceOf(OutcomeUnknownException.class)
          .hasMessageContaining("whether the commit took effect is unknown").cause().isSameAs(failure);
    }
  }
}
