package io.kyros.collab.benchmarks;

import com.zaxxer.hikari.HikariDataSource;
import io.kyros.collab.Collab;
import io.kyros.collab.Lease;
import io.kyros.collab.jdbc.JdbcStorage;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import net.javacrumbs.shedlock.core.LockConfiguration;
import net.javacrumbs.shedlock.core.LockProvider;
import net.javacrumbs.shedlock.core.SimpleLock;
import net.javacrumbs.shedlock.provider.jdbctemplate.JdbcTemplateLockProvider;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * What LeaseBenchmark does on PostgreSQL (one thread: acquire a lease on the next of 8 names, release it), for
 * Collab, ShedLock with database time and the SQL floor, each in turn, round after round, reporting per pair: the
 * wall time, this JVM's CPU, the CPU of PostgreSQL's processes (from /proc/<pid>/stat) and the rest of the machine's busy CPU (PostgreSQL, the kernel's work for it, anything
 * else running), from /proc/stat. Not a benchmark: a probe for finding where a pair's time goes, run with nothing
 * else on the machine; it assumes clock ticks of 10 ms (USER_HZ 100) and counts iowait as idle. Compiled into the
 * benchmarks' package, for its package-private Postgres and LeaseFloor. Tables prefixed probe_lease_, shedlock_probe and the floor's, in database test.
 *
 * <p>Usage: {@code java -cp benchmarks.jar:<dir of this class> io.kyros.collab.benchmarks.LeaseCostProbe <rounds>
 * <seconds per side> [sides, default collab,shedlock,floor]}
 */
public final class LeaseCostProbe {
  private static final int NAMES = 8;
  private static final Duration TTL = Duration.ofSeconds(30);

  private LeaseCostProbe() {}

  private interface Side {
    void pair(String name) throws Exception;
  }

  /** @return busy and total jiffies of the whole machine */
  private static long[] cpu() throws Exception {
    String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
    long total = 0;
    for (int i = 1; i < f.length; i++) {
      total += Long.parseLong(f[i]);
    }
    long idle = Long.parseLong(f[4]) + Long.parseLong(f[5]);
    return new long[] {total - idle, total};
  }

  /** @return the CPU time of every process named postgres so far, in clock ticks (10 ms) */
  static long postgresCpu() throws Exception {
    long ticks = 0;
    try (var dirs = Files.list(Path.of("/proc"))) {
      for (Path d : (Iterable<Path>) dirs::iterator) {
        if (!d.getFileName().toString().chars().allMatch(Character::isDigit)) {
          continue;
        }
        String stat;
        try {
          stat = Files.readString(d.resolve("stat"));
        } catch (java.io.IOException gone) {
          continue;
        }
        int close = stat.lastIndexOf(')');
        if (!stat.substring(stat.indexOf('(') + 1, close).equals("postgres")) {
          continue;
        }
        String[] f = stat.substring(close + 2).split(" ");
        ticks += Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime, stime (fields 14, 15)
      }
    }
    return ticks;
  }

  private static long jvmCpu() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  public static void main(String[] args) throws Exception {
    int rounds = Integer.parseInt(args[0]);
    long seconds = Long.parseLong(args[1]);
    String[] sides = (args.length > 2 ? args[2] : "collab,shedlock,floor").split(",");
    String[] names = new String[NAMES];
    for (int i = 0; i < NAMES; i++) {
      names[i] = "bench-lease-" + i;
    }
    HikariDataSource pool = Postgres.pool("lease-probe", 4);
    JdbcStorage storage = Postgres.freshStorage(pool, "probe_lease_");
    Collab collab = Collab.builder().storage(storage).holder("bench").build();
    Postgres.execute(pool, "DROP TABLE IF EXISTS shedlock_probe",
        "CREATE TABLE shedlock_probe (name VARCHAR(64) NOT NULL, lock_until TIMESTAMP NOT NULL, "
            + "locked_at TIMESTAMP NOT NULL, locked_by VARCHAR(255) NOT NULL, PRIMARY KEY (name))");
    LockProvider shedLock = new JdbcTemplateLockProvider(JdbcTemplateLockProvider.Configuration.builder()
        .withJdbcTemplate(new JdbcTemplate(pool)).withTableName("shedlock_probe").usingDbTime().build());
    LeaseFloor floor = new LeaseFloor(pool, "bench", TTL);
    for (int round = 0; round < rounds; round++) {
      for (String sideName : sides) {
        Side side = switch (sideName) {
          case "collab" -> name -> {
            Lease lease = collab.leases().tryAcquire(name, TTL).orElseThrow();
            if (!collab.leases().release(lease)) {
              throw new IllegalStateException("not released");
            }
          };
          case "shedlock" -> name -> {
            SimpleLock lock = shedLock.lock(new LockConfiguration(Instant.now(), name, TTL, Duration.ZERO))
                .orElseThrow();
            lock.unlock();
          };
          case "floor" -> floor::acquireRelease;
          default -> throw new IllegalArgumentException(sideName);
        };
        int next = 0;
        long warmEnd = System.nanoTime() + 2_000_000_000L;
        while (System.nanoTime() < warmEnd) {
          side.pair(names[next++ % NAMES]);
        }
        long[] c0 = cpu();
        long j0 = jvmCpu();
        long p0 = postgresCpu();
        long t0 = System.nanoTime();
        long end = t0 + seconds * 1_000_000_000L;
        long pairs = 0;
        while (System.nanoTime() < end) {
          side.pair(names[next++ % NAMES]);
          pairs++;
        }
        long wall = System.nanoTime() - t0;
        long jvm = jvmCpu() - j0;
        long[] c1 = cpu();
        long pg = postgresCpu() - p0;
        double busyNanos = (c1[0] - c0[0]) * 10_000_000.0; // jiffies of 10 ms
        System.out.printf("round %d %-8s %6.0f pairs/s  wall %5.0f us/pair  jvm %5.0f us  postgres %5.0f us  rest busy %5.0f us"
                + "  machine idle %2.0f %%%n", round, sideName, pairs * 1e9 / wall, wall / 1e3 / pairs,
            jvm / 1e3 / pairs, pg * 1e4 / pairs, (busyNanos - jvm) / 1e3 / pairs,
            100.0 * (1 - (double) (c1[0] - c0[0]) / (c1[1] - c0[1])));
      }
    }
    collab.close();
    storage.close();
    pool.close();
  }
}
