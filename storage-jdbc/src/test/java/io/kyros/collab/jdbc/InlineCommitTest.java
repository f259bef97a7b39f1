package io.kyros.collab.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.StorageException;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Write;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * PostgreSQL sends COMMIT with a commit's writes: a server error in that round trip means COMMIT did not run, so the
 * commit is reported as rolled back (and retried where the error is retryable), not as of unknown outcome.
 */
class InlineCommitTest {
  private static final String PREFIX = "inline_";

  @Test
  void aLockTimeoutOnARecordRowInTheWriteRoundTripIsReportedAsRolledBack() throws Exception {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, PREFIX, 4, c -> {});
        JdbcStorage storage = db.builder().retryTimeout(Duration.ofMillis(500)).build();
        Connection holder = db.connect()) {
      RecordKey k = new RecordKey("c", "a");
      CommitResult first = storage.commit(Commit.of(List.of(), List.of(Write.put(k, "1", "h1")), List.of()));
      long r = ((CommitResult.Committed) first).revisions().get(0);
      holder.setAutoCommit(false);
      try (Statement s = holder.createStatement()) { // e.g. an operator's or application's SELECT ... FOR UPDATE
        s.executeQuery("SELECT * FROM " + PREFIX + "collab_records WHERE collection = 'c' AND id = 'a' FOR UPDATE")
            .close();
      }
      try {
        assertThatThrownBy(() -> storage.commit(Commit.of(List.of(new Expectation(k, r)),
            List.of(Write.put(k, "2", "h2")), List.of(new NewEvent("e", "a", "t", "{}")))))
            .isInstanceOf(StorageException.class)
            .hasMessageContaining("55P03")
            .hasMessageContaining("nothing was committed");
      } finally {
        holder.rollback();
      }
      assertThat(storage.read(k).orElseThrow().json()).isEqualTo("1");
    }
  }

  @Test
  void aUniqueViolationInTheWriteRoundTripIsReportedAsRolledBack() throws Exception {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, PREFIX, 4, c -> {});
        JdbcStorage storage = db.builder().build()) {
      db.execute("INSERT INTO " + PREFIX + "collab_events (id, ts_micros, event_type, actor, target, details)"
          + " VALUES (1, 0, 'x', 'x', 'x', '{}')");
      assertThatThrownBy(() -> storage.commit(Commit.of(List.of(), List.of(),
          List.of(new NewEvent("e", "a", "t", "{}")))))
          .isInstanceOf(StorageException.class)
          .hasMessageContaining("23505")
          .hasMessageContaining("nothing was committed");
    }
  }
}
