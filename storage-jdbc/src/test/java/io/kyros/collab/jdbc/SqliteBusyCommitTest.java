package io.kyros.collab.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.kyros.collab.StorageException;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Write;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * SQLite in its default rollback-journal mode, where COMMIT needs the EXCLUSIVE lock and fails with SQLITE_BUSY while
 * a reader holds a SHARED lock, leaving the transaction open. The commit must be rolled back and retried, and the
 * pooled connection must never be returned inside that transaction.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class SqliteBusyCommitTest {

  private static String freshDatabase(String name) throws IOException {
    Path dir = Path.of("target", "sqlite");
    Files.createDirectories(dir);
    Path file = dir.resolve(name);
    for (String suffix : new String[] {"", "-journal", "-wal", "-shm"}) {
      Files.deleteIfExists(Path.of(file + suffix));
    }
    return "jdbc:sqlite:" + file + "?busy_timeout=100";
  }

  private static HikariDataSource pool(String url) {
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(url);
    config.setMaximumPoolSize(1);
    config.setPoolName("sqlite_busy_pool");
    return new HikariDataSource(config);
  }

  private static Commit putWithEvent(String id) {
    return Commit.of(List.of(), List.of(Write.put(new RecordKey("c", id), "{}", "h")),
        List.of(new NewEvent("put", "actor", id, "{}")));
  }

  private static long[] counters(Connection c) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT last_revision, last_event_id FROM sqlbusy_collab_meta")) {
      assertThat(rs.next()).isTrue();
      return new long[] {rs.getLong(1), rs.getLong(2)};
    }
  }

  /** @return an open cursor: the reader holds a SHARED lock until {@link #releaseSharedLock} */
  private static ResultSet holdSharedLock(Connection reader) throws SQLException {
    reader.setAutoCommit(false);
    ResultSet open = reader.createStatement().executeQuery("SELECT * FROM sqlbusy_collab_meta");
    assertThat(open.next()).isTrue();
    return open;
  }

  private static void releaseSharedLock(Connection reader, ResultSet open) throws SQLException {
    Statement s = open.getStatement();
    open.close();
    s.close();
    reader.commit();
  }

  @Test
  void aCommitRefusedWithBusyIsRolledBackAndTheConnectionReturnsClean() throws Exception {
    String url = freshDatabase("sqlbusy_clean.db");
    try (HikariDataSource pool = pool(url);
        JdbcStorage storage = JdbcStorage.builder(pool).tablePrefix("sqlbusy_").dialect(JdbcDialect.SQLITE)
            .retryTimeout(Duration.ofMillis(500)).build();
        Connection reader = DriverManager.getConnection(url)) {
      storage.createSchema();
      ResultSet open = holdSharedLock(reader);

      assertThatThrownBy(() -> storage.commit(putWithEvent("a"))).isInstanceOf(StorageException.class)
          .hasMessageContaining("the transaction was rolled back, nothing was committed")
          .hasMessageNotContaining("unknown");

      releaseSharedLock(reader, open);
      try (Connection pooled = pool.getConnection()) {
        assertThat(pooled.getAutoCommit()).isTrue();
        assertThat(counters(pooled)).containsExactly(0, 0);
      }
      try (Connection fresh = DriverManager.getConnection(url)) {
        assertThat(counters(fresh)).containsExactly(0, 0); // no write lock left behind, nothing committed
      }
      assertThat(storage.read(new RecordKey("c", "a"))).isEmpty();

      CommitResult second = storage.commit(putWithEvent("b"));
      assertThat(second).isInstanceOfSatisfying(CommitResult.Committed.class, c -> {
        assertThat(c.revisions()).containsExactly(1L);
        assertThat(c.events()).extracting(e -> e.id()).containsExactly(1L);
      });
      try (Connection fresh = DriverManager.getConnection(url)) {
        assertThat(counters(fresh)).containsExactly(1, 1);
      }
      assertThat(storage.readEvents(0, 10)).extracting(e -> e.target()).containsExactly("b");
    }
  }

  @Test
  void aCommitRefusedWithBusyIsRetriedUntilTheReaderLeaves() throws Exception {
    String url = freshDatabase("sqlbusy_retry.db");
    try (HikariDataSource pool = pool(url);
        JdbcStorage storage = JdbcStorage.builder(pool).tablePrefix("sqlbusy_").dialect(JdbcDialect.SQLITE)
            .retryTimeout(Duration.ofSeconds(60)).build();
        Connection reader = DriverManager.getConnection(url);
        Connection probe = DriverManager.getConnection(url)) {
      storage.createSchema();
      ResultSet open = holdSharedLock(reader);

      CompletableFuture<CommitResult> commit = CompletableFuture.supplyAsync(() -> storage.commit(putWithEvent("a")));
      Await.until("the commit to take the write lock", () -> writeLocked(probe) || commit.isDone());
      releaseSharedLock(reader, open);

      assertThat(commit.get(60, TimeUnit.SECONDS)).isInstanceOfSatisfying(CommitResult.Committed.class,
          c -> assertThat(c.revisions()).containsExactly(1L));
      try (Connection fresh = DriverManager.getConnection(url)) {
        assertThat(counters(fresh)).containsExactly(1, 1);
      }
      try (Connection pooled = pool.getConnection()) {
        assertThat(pooled.getAutoCommit()).isTrue();
      }
    }
  }

  /** @return true if another connection holds the database's write lock (BEGIN IMMEDIATE is refused) */
  private static boolean writeLocked(Connection probe) {
    try (Statement s = probe.createStatement()) {
      s.execute("PRAGMA busy_timeout = 0");
      try {
        s.execute("BEGIN IMMEDIATE");
      } catch (SQLException busy) {
        return true;
      }
      s.execute("ROLLBACK");
      return false;
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }
}
