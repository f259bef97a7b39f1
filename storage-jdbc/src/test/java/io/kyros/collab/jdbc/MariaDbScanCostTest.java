package io.kyros.collab.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.IndexEntry;
import io.kyros.collab.spi.IndexHit;
import io.kyros.collab.spi.IndexQuery;
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
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * On MariaDB a page of an index read the whole collection: the plain join of the index and the records, ordered and
 * limited as a whole, was planned as a scan of every record of the collection, each looked up in the index, then a
 * sort (a page of 10 among 15,000 records read 15,000 rows and took 35 ms, found in review). A page of index entries
 * is now read first and its records joined to it ({@link Dialect#entryPagesFirst}), alone and in {@code scanIndexes}.
 *
 * <p>The cost is measured without a clock: as the rows the server's handlers read for the call ({@code
 * Handler_read_%} of the session, after {@code FLUSH STATUS}), on a pool of one connection, so the session is the
 * call's. A page of 10 in a collection of 100 records and in one of 5,000 must read about as many rows.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class MariaDbScanCostTest {
  private static final String C = "costs";

  private static void fill(JdbcStorage storage, int from, int to) {
    for (int start = from; start < to; start += 500) {
      List<Write> writes = new ArrayList<>();
      for (int i = start; i < Math.min(to, start + 500); i++) {
        String id = String.format("r%06d", i);
        writes.add(Write.put(new RecordKey(C, id), "{\"id\":\"" + id + "\"}", "h-" + id,
            List.of(new IndexEntry("order", String.format("k%06d", i)), new IndexEntry("other", "x"))));
      }
      storage.commit(Commit.of(List.of(), writes, List.of(new NewEvent("fill", "tester", C, "{}"))));
    }
  }

  /** @return the rows the session's handlers read during {@code call}, having checked what it returned */
  private static <T> long rowsReadBy(TestDatabase db, Supplier<T> call, java.util.function.Consumer<T> check) {
    try (Connection c = db.dataSource().getConnection(); Statement s = c.createStatement()) {
      s.execute("FLUSH STATUS");
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
    check.accept(call.get());
    try (Connection c = db.dataSource().getConnection(); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT SUM(VARIABLE_VALUE) FROM information_schema.SESSION_STATUS"
            + " WHERE VARIABLE_NAME LIKE 'HANDLER\\_READ\\_%'")) {
      rs.next();
      return rs.getLong(1);
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void page(List<IndexHit> hits, int from) {
    assertThat(hits).extracting(h -> h.record().key().id())
        .containsExactly(java.util.stream.IntStream.range(from, from + 10).mapToObj(i -> String.format("r%06d", i))
            .toArray(String[]::new));
  }

  @Test
  void aPageReadsAsManyRowsAmong5000RecordsAsAmong100() {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.MARIADB, "scancost_", 1, c -> {});
        JdbcStorage storage = db.builder().build()) {
      fill(storage, 0, 100);
      IndexQuery q = new IndexQuery(C, "order", "k000049", "r000049", IndexQuery.UNBOUNDED, 10);
      long small = rowsReadBy(db, () -> storage.scanIndex(q), hits -> page(hits, 50));
      long smallTogether = rowsReadBy(db, () -> storage.scanIndexes(List.of(q, IndexQuery.first(C, "order", 10))),
          r -> page(r.get(0), 50));

      fill(storage, 100, 5_000);
      long large = rowsReadBy(db, () -> storage.scanIndex(q), hits -> page(hits, 50));
      long largeTogether = rowsReadBy(db, () -> storage.scanIndexes(List.of(q, IndexQuery.first(C, "order", 10))),
          r -> page(r.get(0), 50));
      System.out.printf("rows read by a page of 10: %d among 100 records, %d among 5,000; with a second page"
          + " together: %d, %d%n", small, large, smallTogether, largeTogether);
      assertThat(large).as("rows read among 5,000 records (among 100: %d)", small).isLessThanOrEqualTo(small + 20);
      assertThat(largeTogether).as("rows read together among 5,000 records (among 100: %d)", smallTogether)
          .isLessThanOrEqualTo(smallTogether + 40);
    }
  }
}
