package io.kyros.collab.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariDataSource;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredEvent;
import io.kyros.collab.spi.StoredRecord;
import io.kyros.collab.spi.Write;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Serialized databases whose pool hands out connections at READ UNCOMMITTED (found in review): a reader read another
 * storage's commit before it committed, its events and its records, and a commit that then rolled back left the
 * reader past event ids the next commit takes again (ids come from the counter row, rolled back with it), so a
 * tailing reader skipped the events that really got them. Every operation now runs at READ COMMITTED at least: the
 * reader sees nothing of a commit until it has committed. (PostgreSQL runs READ UNCOMMITTED as READ COMMITTED.)
 */
class ReadUncommittedPoolTest {
  private static final NewEvent EVENT = new NewEvent("e", "tester", "t", "{}");

  @ParameterizedTest
  @EnumSource(value = TestDatabase.Kind.class, names = {"MARIADB", "H2"})
  void aReaderOnAReadUncommittedPoolNeverSeesACommitBeforeItCommits(TestDatabase.Kind kind) throws Exception {
    RecordKey key = new RecordKey("c", "pending");
    try (TestDatabase db = TestDatabase.open(kind, "dirty_");
        HikariDataSource dirty = db.newPool("dirty_reader", 2,
            c -> c.setTransactionIsolation("TRANSACTION_READ_UNCOMMITTED"));
        JdbcStorage reader = JdbcStorage.builder(dirty).tablePrefix("dirty_").dialect(kind.dialect).build()) {
      FaultyDataSource faulty = new FaultyDataSource(db.dataSource());
      try (JdbcStorage writer = db.recordedStorage(faulty)) {
        assertThat(writer.commit(Commit.of(List.of(), List.of(), List.of(EVENT))))
            .isInstanceOf(CommitResult.Committed.class);
        long before = reader.lastEventId();
        try (Connection c = dirty.getConnection()) {
          assertThat(c.getTransactionIsolation()).isEqualTo(Connection.TRANSACTION_READ_UNCOMMITTED);
        }
        CountDownLatch atCommit = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        faulty.inject((connection, method, args) -> {
          if (method.getName().equals("commit")) {
            atCommit.countDown();
            release.await(60, TimeUnit.SECONDS);
            return new SQLException("the connection broke at COMMIT", "08006");
          }
          return null;
        });
        CompletableFuture<CommitResult> pending = CompletableFuture.supplyAsync(() -> writer.commit(
            Commit.of(List.of(), List.of(Write.put(key, "{\"v\":1}", "h1")), List.of(EVENT, EVENT))));
        assertThat(atCommit.await(60, TimeUnit.SECONDS)).as("the writer reached its COMMIT").isTrue();
        List<StoredEvent> seen;
        Optional<StoredRecord> record;
        long last;
        try {
          seen = reader.readEvents(before, 10);
          record = reader.read(key);
          last = reader.lastEventId();
        } finally {
          release.countDown();
        }
        assertThatThrownBy(() -> pending.get(60, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class);
        faulty.heal();
        assertThat(seen).as("events of a commit that had not committed").isEmpty();
        assertThat(record).as("a record of a commit that had not committed").isEmpty();
        assertThat(last).as("the last event id while the commit had not committed").isEqualTo(before);
        assertThat(reader.readEvents(before, 10)).as("rolled back").isEmpty();
      }
    }
  }
}
