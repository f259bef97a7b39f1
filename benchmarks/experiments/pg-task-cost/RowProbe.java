import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.kyros.collab.Collab;
import io.kyros.collab.NewTask;
import io.kyros.collab.TaskClaim;
import io.kyros.collab.jdbc.JdbcStorage;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Rows and WAL per task for Collab's create, claim and complete on PostgreSQL: a stand-alone probe (not built by
 * Maven; see README.md). Creates {@code args[0]} tasks with 8 threads, claims them all with 8 threads
 * ({@code claimNext}, combined by ClaimGroups), completes them with 8 threads, and prints per task, for each phase,
 * the rows inserted, updated and deleted in Collab's tables ({@code pg_stat_user_tables}) and the WAL written
 * ({@code pg_current_wal_lsn}: the whole cluster's, so run it on an otherwise idle server; it includes the commit
 * notifier's transactions and any checkpoint's full-page images). A backend reports its statistics at most every
 * 10 s while it idles, hence the 11 s pauses between phases. Uses the database {@code test} on 127.0.0.1:5432 as
 * {@code postgres}; its tables and sequences are prefixed {@code probe_} and dropped before and after.
 */
public class RowProbe {
  private static final int THREADS = 8;
  private static final String[] COLUMNS = {"records ins", "records upd", "records del", "events ins", "index ins",
      "index del", "WAL bytes"};
  private static final String[] DROP = {
      "DROP TABLE IF EXISTS probe_collab_index, probe_collab_events, probe_collab_records, probe_collab_meta",
      "DROP SEQUENCE IF EXISTS probe_collab_revision_seq, probe_collab_event_seq"};

  private static HikariDataSource pool;

  public static void main(String[] args) throws Exception {
    int tasks = Integer.parseInt(args[0]);
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl("jdbc:postgresql://127.0.0.1:5432/test");
    config.setUsername("postgres");
    config.setMaximumPoolSize(10);
    pool = new HikariDataSource(config);
    try {
      execute(DROP);
      probe(tasks);
    } finally {
      execute(DROP);
      pool.close();
    }
  }

  private static void probe(int tasks) throws Exception {
    JdbcStorage storage = JdbcStorage.builder(pool).tablePrefix("probe_").build();
    storage.createSchema();
    Collab collab = Collab.builder().storage(storage).holder("probe").build();
    ExecutorService threads = Executors.newFixedThreadPool(THREADS);
    try {
      List<TaskClaim> claims = Collections.synchronizedList(new ArrayList<>());
      long[] before = snapshot();
      all(threads, w -> {
        for (int i = w; i < tasks; i += THREADS) {
          collab.tasks().create(NewTask.of("no-op " + i).withId("t" + i));
        }
      });
      long[] created = snapshot();
      all(threads, w -> {
        Optional<TaskClaim> claim;
        while ((claim = collab.tasks().claimNext(Duration.ofMinutes(5))).isPresent()) {
          claims.add(claim.get());
        }
      });
      long[] claimed = snapshot();
      all(threads, w -> {
        for (int i = w; i < claims.size(); i += THREADS) {
          collab.tasks().complete(claims.get(i));
        }
      });
      long[] completed = snapshot();
      System.out.println("tasks " + tasks + ", claims " + claims.size());
      print("create", before, created, tasks);
      print("claim", created, claimed, tasks);
      print("complete", claimed, completed, tasks);
    } finally {
      threads.shutdownNow();
      collab.close();
      storage.close();
    }
  }

  private interface Worker {
    void run(int index) throws Exception;
  }

  private static void all(ExecutorService threads, Worker worker) throws Exception {
    List<Callable<Void>> calls = new ArrayList<>();
    for (int w = 0; w < THREADS; w++) {
      int index = w;
      calls.add(() -> {
        worker.run(index);
        return null;
      });
    }
    for (Future<Void> f : threads.invokeAll(calls)) {
      f.get();
    }
  }

  private static void print(String phase, long[] from, long[] to, int tasks) {
    StringBuilder line = new StringBuilder(phase).append(" per task:");
    for (int i = 0; i < COLUMNS.length; i++) {
      line.append(String.format(" %s %.2f", COLUMNS[i], (to[i] - from[i]) / (double) tasks));
    }
    System.out.println(line);
  }

  private static long[] snapshot() throws Exception {
    Thread.sleep(11_000);
    long[] out = new long[COLUMNS.length];
    try (Connection c = pool.getConnection(); Statement s = c.createStatement()) {
      try (ResultSet rs = s.executeQuery("SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables"
          + " WHERE relname LIKE 'probe_collab_%'")) {
        while (rs.next()) {
          String table = rs.getString(1);
          if (table.endsWith("_records")) {
            out[0] = rs.getLong(2);
            out[1] = rs.getLong(3);
            out[2] = rs.getLong(4);
          } else if (table.endsWith("_events")) {
            out[3] = rs.getLong(2);
          } else if (table.endsWith("_index")) {
            out[4] = rs.getLong(2);
            out[5] = rs.getLong(4);
          }
        }
      }
      try (ResultSet rs = s.executeQuery("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint")) {
        rs.next();
        out[6] = rs.getLong(1);
      }
    }
    return out;
  }

  private static void execute(String... sql) throws SQLException {
    try (Connection c = pool.getConnection(); Statement s = c.createStatement()) {
      for (String statement : sql) {
        s.execute(statement);
      }
    }
  }
}
