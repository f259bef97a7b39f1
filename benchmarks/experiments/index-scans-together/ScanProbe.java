package io.kyros.collab.benchmarks;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.kyros.collab.Collab;
import io.kyros.collab.NewTask;
import io.kyros.collab.jdbc.JdbcStorage;
import io.kyros.collab.spi.IndexQuery;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Times {@code JdbcStorage.scanIndexes} of n queries against the same queries through {@code scanIndex} one by one
 * (each its own transaction), on a store of t tasks of which a third are claimed. Arguments: JDBC URL, n, t. Prints
 * six rounds of 2,000 calls each, per call.
 */
public final class ScanProbe {
  private ScanProbe() {}

  public static void main(String[] args) throws Exception {
    String url = args[0];
    int arms = Integer.parseInt(args[1]);
    int tasks = Integer.parseInt(args[2]);
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(url);
    config.setMaximumPoolSize(4);
    try (HikariDataSource ds = new HikariDataSource(config)) {
      JdbcStorage s = JdbcStorage.builder(ds).tablePrefix("probe_" + System.nanoTime() % 100_000 + "_").build();
      s.createSchema();
      try (Collab collab = Collab.builder().storage(s).holder("p").build()) {
        for (int i = 0; i < tasks; i++) {
          collab.tasks().create(NewTask.of("t" + i).withId("t" + i).withLabels("l" + (i % 3)));
        }
        for (int i = 0; i < tasks / 3; i++) {
          collab.tasks().claimNext(Duration.ofMinutes(5));
        }
      }
      String[] names = {"ready:kanban", "status:queued", "status:claimed", "delayed:kanban", "waits",
          "ready:kanban:l0", "ready:kanban:l1", "ready:kanban:l2", "status:done", "status:failed"};
      List<IndexQuery> qs = new ArrayList<>();
      for (int i = 0; i < arms; i++) {
        boolean lease = i % 4 == 3;
        qs.add(IndexQuery.first(lease ? "_task-leases" : "_tasks", lease ? "expires" : names[i % names.length], 20));
      }
      for (int round = 0; round < 6; round++) {
        long t0 = System.nanoTime();
        for (int i = 0; i < 2000; i++) {
          s.scanIndexes(qs);
        }
        long t1 = System.nanoTime();
        for (int i = 0; i < 2000; i++) {
          for (IndexQuery q : qs) {
            s.scanIndex(q);
          }
        }
        long t2 = System.nanoTime();
        System.out.printf("%s queries=%d scanIndexes %.1f us, scanIndex one by one %.1f us%n", url.split(":")[1], arms,
            (t1 - t0) / 2000e3, (t2 - t1) / 2000e3);
      }
    }
  }
}
