import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.kyros.collab.Collab;
import io.kyros.collab.NewTask;
import io.kyros.collab.TaskClaim;
import io.kyros.collab.conformance.InterceptingStorage;
import io.kyros.collab.jdbc.JdbcStorage;
import io.kyros.collab.spi.CommitResult;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.*;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Claims from several processes on one PostgreSQL store, as {@code nodes} Collabs with their own pools in one JVM
 * (each a "process": nothing shared but the database), {@code threads} workers each (each its own worker name, so
 * its own claim calls), draining a backlog of {@code tasks} with claimNext + complete, {@code rounds} times (tables
 * dropped first, prefix xp_, database test). Prints per round the tasks per second, the commits, and the commits that
 * conflicted, by kind (a claim's or a completion's) and the collection of the record they conflicted on. Not a
 * benchmark: a probe for comparing builds, run alternately.
 *
 * <p>Usage: {@code java -cp benchmarks.jar:collab-core-tests.jar:<dir> CrossProcessClaims <nodes> <threads> <tasks>
 * <rounds>}
 */
public class CrossProcessClaims {
  static final java.util.concurrent.ConcurrentHashMap<String, Integer> KINDS = new java.util.concurrent.ConcurrentHashMap<>();
  public static void main(String[] a) throws Exception {
    int nodes = Integer.parseInt(a[0]), threads = Integer.parseInt(a[1]), tasks = Integer.parseInt(a[2]);
    int rounds = Integer.parseInt(a[3]);
    String url = "jdbc:postgresql://127.0.0.1:5432/test";
    for (int round = 0; round < rounds; round++) {
      try (Connection c = java.sql.DriverManager.getConnection(url, "postgres", ""); Statement s = c.createStatement()) {
        for (String t : new String[] {"collab_index", "collab_records", "collab_events", "collab_meta"}) {
          s.execute("DROP TABLE IF EXISTS xp_" + t);
        }
        s.execute("DROP SEQUENCE IF EXISTS xp_collab_revision_seq");
        s.execute("DROP SEQUENCE IF EXISTS xp_collab_event_seq");
      }
      List<HikariDataSource> pools = new ArrayList<>();
      List<Collab> collabs = new ArrayList<>();
      AtomicInteger commits = new AtomicInteger();
      AtomicInteger conflicts = new AtomicInteger();
      for (int n = 0; n < nodes; n++) {
        HikariConfig cfg = new HikariConfig();
        cfg.setJdbcUrl(url); cfg.setUsername("postgres"); cfg.setMaximumPoolSize(threads + 1);
        HikariDataSource pool = new HikariDataSource(cfg);
        pools.add(pool);
        JdbcStorage js = JdbcStorage.builder(pool).tablePrefix("xp_").build();
        if (n == 0) js.createSchema();
        InterceptingStorage is = new InterceptingStorage(js);
        is.intercept((commit, next) -> {
          CommitResult r = next.commit(commit);
          commits.incrementAndGet();
          if (r instanceof CommitResult.Conflict cf) {
            conflicts.incrementAndGet();
            boolean done = commit.writes().stream().anyMatch(w -> w.key().collection().equals("_tasks") && w.json() != null && w.json().contains("\"status\":\"done\""));
            boolean claimed = commit.writes().stream().anyMatch(w -> w.key().collection().equals("_tasks") && w.json() != null && w.json().contains("\"status\":\"claimed\""));
            String kind = done ? "complete" : claimed ? "claim" : "other";
            KINDS.merge(kind + " on " + cf.failed().key().collection(), 1, Integer::sum);
          }
          return r;
        });
        collabs.add(Collab.builder().storage(is).holder("node-" + n).build());
      }
      for (int i = 0; i < tasks; i++) {
        collabs.get(i % nodes).tasks().create(NewTask.of("t" + i).withId("t" + i));
      }
      commits.set(0); conflicts.set(0);
      ExecutorService ex = Executors.newFixedThreadPool(nodes * threads);
      AtomicInteger done = new AtomicInteger();
      long t0 = System.nanoTime();
      List<Future<?>> fs = new ArrayList<>();
      for (int t = 0; t < nodes * threads; t++) {
        Collab c = collabs.get(t % nodes);
        String w = "w" + t;
        fs.add(ex.submit(() -> {
          while (true) {
            Optional<TaskClaim> cl = c.tasks().claimNext(w, Duration.ofMinutes(5), Set.of());
            if (cl.isEmpty()) return null;
            c.tasks().complete(cl.get());
            done.incrementAndGet();
          }
        }));
      }
      for (Future<?> f : fs) f.get();
      double secs = (System.nanoTime() - t0) / 1e9;
      ex.shutdown();
      System.out.printf("nodes %d x %d threads, %d tasks: %.0f tasks/s, commits %d, conflicts %d (%.1f %%)%n",
          nodes, threads, done.get(), done.get() / secs, commits.get(), conflicts.get(), 100.0 * conflicts.get() / commits.get());
      System.out.println("  conflicts by kind: " + KINDS); KINDS.clear();
      collabs.forEach(Collab::close);
      pools.forEach(HikariDataSource::close);
    }
  }
}
