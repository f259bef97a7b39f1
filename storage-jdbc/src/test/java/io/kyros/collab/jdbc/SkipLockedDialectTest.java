package io.kyros.collab.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Write;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The claim fast path's SQL ({@link Dialect#lockNextRecords}) on the servers that have SKIP LOCKED: concurrent
 * transactions lock disjoint rows, and each locks exactly as many rows as it returns, which a third transaction
 * sees by skipping exactly those.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class SkipLockedDialectTest {

  @ParameterizedTest
  @EnumSource(value = TestDatabase.Kind.class, names = {"POSTGRESQL", "MARIADB"})
  void concurrentClaimersLockDisjointRowsAndNoMoreThanTheyClaim(TestDatabase.Kind kind) throws Exception {
    try (TestDatabase db = TestDatabase.open(kind, "skip_"); JdbcStorage storage = db.builder().build()) {
      List<Write> writes = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        writes.add(Write.put(new RecordKey("queue", String.format("job-%02d", i)), "{}", "h"));
      }
      writes.add(Write.put(new RecordKey("other", "x"), "{}", "h"));
      storage.commit(Commit.of(List.of(), writes, List.of()));
      Dialect dialect = kind.dialect.sql();
      assertThat(dialect.supportsSkipLocked()).isTrue();
      String claim = dialect.lockNextRecords(Tables.of(db.prefix));
      try (Connection first = db.connect(); Connection second = db.connect(); Connection third = db.connect()) {
        for (Connection c : List.of(first, second, third)) {
          c.setAutoCommit(false);
        }
        List<String> a = lock(first, claim, 3);
        List<String> b = lock(second, claim, 3);
        assertThat(a).containsExactly("job-00", "job-01", "job-02");
        assertThat(b).containsExactly("job-03", "job-04", "job-05");
        // everything but the six claimed rows is still free: no more rows were locked than returned
        assertThat(lock(third, claim, 100)).containsExactly("job-06", "job-07", "job-08", "job-09");
        third.rollback();
        first.rollback();
        assertThat(lock(third, claim, 100)).containsExactly("job-00", "job-01", "job-02", "job-06", "job-07",
            "job-08", "job-09");
        second.rollback();
        third.rollback();
      }
    }
  }

  private static List<String> lock(Connection c, String sql, int limit) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, "queue");
      ps.setInt(2, limit);
      List<String> ids = new ArrayList<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          assertThat(rs.getString(1)).isEqualTo("queue");
          ids.add(rs.getString(2));
        }
      }
      return ids;
    }
  }

  @Test
  void h2AndSqliteHaveNoSkipLockedAndClaimByCompareAndSet() {
    for (JdbcDialect d : List.of(JdbcDialect.H2, JdbcDialect.SQLITE)) {
      assertThat(d.sql().supportsSkipLocked()).isFalse();
    }
    for (JdbcDialect d : List.of(JdbcDialect.POSTGRESQL, JdbcDialect.MARIADB, JdbcDialect.MYSQL)) {
      assertThat(d.sql().supportsSkipLocked()).isTrue();
    }
  }
}
