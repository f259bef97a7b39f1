import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.kyros.collab.Collab;
import io.kyros.collab.NewTask;
import io.kyros.collab.TaskClaim;
import io.kyros.collab.jdbc.JdbcStorage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What TaskClaimBenchmark's Collab side does (8 threads of one Collab drain a backlog of 500 tasks, or as many as given, with claimNext then
 * complete, the tables emptied with DELETE before each backlog, no VACUUM), round after round on PostgreSQL, reporting
 * for the drains of rounds 10 and later (or from the round given) (not their setup) the tasks per second, the whole machine's busy CPU per task
 * from /proc/stat (server and client together; jiffies of 10 ms), this JVM's CPU per task and the time a worker spends per task in claimNext
 * (mostly waiting for the combined claim of its Collab) and in complete. Not a benchmark: a probe for comparing builds
 * on one machine, run alternately. Tables prefixed probe_ in database test, dropped first.
 *
 * <p>Usage: {@code java -cp benchmarks.jar:<dir of this class> ClaimCpuProbe <rounds>}
 */
public class ClaimCpuProbe {
  private static final int WORKERS = 8;
  /** {@code -Dpool=n}: the connection pool's size (10). */
  private static final int POOL = Integer.getInteger("pool", 10);
  /**
   * {@code -Dk=n}: each worker claims up to n tasks per call ({@code claimUpTo}) and completes them one by one, as a
   * worker claiming ahead would; 0 (the default) calls {@code claimNext}, as TaskClaimBenchmark does. With k above 0
   * the per-task times are per call divided by the tasks of the call.
   */
  private static final int CLAIM_AHEAD = Integer.getInteger("k", 0);

  /** @return busy and total jiffies of the whole machine */
  private static long[] cpu() throws Exception {
    String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
    long total = 0;
    for (int i = 1; i < f.length; i++) {
      total += Long.parseLong(f[i]);
    }
    long idle = Long.parseLong(f[4]) + Long.parseLong(f[5]); // idle, iowait
    return new long[] {total - idle, total};
  }

  /** @return this JVM's CPU time so far, nanoseconds */
  private static long jvmCpu() {
    return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
        .getOperatingSystemMXBean()).getProcessCpuTime();
  }

  public static void main(String[] args) throws Exception {
    int rounds = Integer.parseInt(args[0]);
    int tasks = args.length > 1 ? Integer.parseInt(args[1]) : 500;
    int skipped = args.length > 2 ? Integer.parseInt(args[2]) : 10;
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl("jdbc:postgresql://127.0.0.1:5432/test");
    config.setUsername("postgres");
    config.setMaximumPoolSize(POOL);
    try (HikariDataSource pool = new HikariDataSource(config)) {
      try (Connection c = pool.getConnection(); Statement s = c.createStatement()) {
        s.execute("DROP TABLE IF EXISTS probe_collab_index, probe_collab_events, probe_collab_records,"
            + " probe_collab_meta");
        s.execute("DROP SEQUENCE IF EXISTS probe_collab_revision_seq, probe_collab_event_seq");
      }
      JdbcStorage storage = JdbcStorage.builder(pool).tablePrefix("probe_").build();
      storage.createSchema();
      Collab collab = Collab.builder().storage(storage).holder("probe").build();
      ExecutorService threads = Executors.newFixedThreadPool(WORKERS);
      long busy = 0;
      long total = 0;
      long drained = 0;
      long wallNanos = 0;
      long jvmNanos = 0;
      AtomicLong claimNanos = new AtomicLong();
      AtomicLong completeNanos = new AtomicLong();
      for (int r = 0; r < rounds; r++) {
        try (Connection c = pool.getConnection(); Statement s = c.createStatement()) {
          s.execute("DELETE FROM probe_collab_index");
          s.execute("DELETE FROM probe_collab_records");
          s.execute("DELETE FROM probe_collab_events");
        }
        int round = r;
        List<Callable<Integer>> creators = new ArrayList<>();
        for (int w = 0; w < WORKERS; w++) {
          int first = w;
          creators.add(() -> {
            for (int i = first; i < tasks; i += WORKERS) {
              collab.tasks().create(NewTask.of("no-op " + i).withId("r" + round + "-" + i));
            }
            return 0;
          });
        }
        for (Future<Integer> f : threads.invokeAll(creators)) {
          f.get();
        }
        boolean counted = r >= skipped;
        List<Callable<Integer>> drainers = new ArrayList<>();
        for (int w = 0; w < WORKERS; w++) {
          drainers.add(() -> {
            int n = 0;
            while (true) {
              long t0 = System.nanoTime();
              List<TaskClaim> claims = CLAIM_AHEAD == 0
                  ? collab.tasks().claimNext(Duration.ofMinutes(5)).map(List::of).orElse(List.of())
                  : collab.tasks().claimUpTo(CLAIM_AHEAD, "probe", Duration.ofMinutes(5), Set.of());
              long t1 = System.nanoTime();
              if (claims.isEmpty()) {
                return n;
              }
              for (TaskClaim claim : claims) {
                collab.tasks().complete(claim);
                n++;
              }
              if (counted) {
                claimNanos.addAndGet(t1 - t0);
                completeNanos.addAndGet(System.nanoTime() - t1);
              }
            }
          });
        }
        long[] c0 = cpu();
        long j0 = jvmCpu();
        long t0 = System.nanoTime();
        int n = 0;
        for (Future<Integer> f : threads.invokeAll(drainers)) {
          n += f.get();
        }
        long t1 = System.nanoTime();
        long[] c1 = cpu();
        long j1 = jvmCpu();
        if (n != tasks) {
          throw new IllegalStateException("drained " + n + " tasks, not " + tasks);
        }
        if (counted) {
          busy += c1[0] - c0[0];
          total += c1[1] - c0[1];
          drained += n;
          wallNanos += t1 - t0;
          jvmNanos += j1 - j0;
        }
      }
      System.out.printf("rounds %d..%d: %.0f tasks/s, busy CPU %.3f ms per task, idle %.0f %%, jvm CPU %.3f ms per"
              + " task, per task in a worker: claimNext %.2f ms, complete %.2f ms%n", skipped, rounds - 1,
          drained / (wallNanos / 1e9), busy * 10.0 / drained, 100.0 * (total - busy) / total, jvmNanos / 1e6 / drained,
          claimNanos.get() / 1e6 / drained, completeNanos.get() / 1e6 / drained);
      threads.shutdown();
      collab.close();
      storage.close();
    }
  }
}
