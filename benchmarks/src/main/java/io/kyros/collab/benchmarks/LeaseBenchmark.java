package io.kyros.collab.benchmarks;

import com.zaxxer.hikari.HikariDataSource;
import io.kyros.collab.Collab;
import io.kyros.collab.Lease;
import io.kyros.collab.file.FileStorage;
import io.kyros.collab.jdbc.JdbcStorage;
import io.kyros.collab.memory.MemoryStorage;
import io.kyros.collab.spi.Storage;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import net.javacrumbs.shedlock.core.LockConfiguration;
import net.javacrumbs.shedlock.core.LockProvider;
import net.javacrumbs.shedlock.core.SimpleLock;
import net.javacrumbs.shedlock.provider.jdbctemplate.JdbcTemplateLockProvider;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Lease acquire then release on one thread: one operation takes a lease on a resource and gives it back, rotating
 * through {@value #NAMES} resource names (the same names on every backend), so each acquisition finds a free,
 * previously released record.
 *
 * <ul>
 *   <li>{@link Backend#MEMORY}, {@link Backend#FILE} (durable, {@code Durability.FSYNC}, the default) and
 *       {@link Backend#POSTGRESQL} ({@code JdbcStorage} on a Hikari pool of {@value #POOL_SIZE}):
 *       {@code Leases.tryAcquire} (which must return a lease) then {@code Leases.release}. Each records an event
 *       ({@code lease_acquired}, {@code lease_released}) in the same commit and hands out a fencing token.
 *   <li>{@link Backend#SHEDLOCK_POSTGRESQL}, the baseline: ShedLock 6.9.2 on the same server, pool of the same size,
 *       its own {@code shedlock} table (dropped and created per trial), {@code lock(new LockConfiguration(...))} then
 *       {@code unlock()}. ShedLock's plain {@code JdbcLockProvider} judges expiry by the JVM's clock and has no
 *       {@code usingDbTime()}; Collab uses the database's clock, so the peer is the {@code JdbcTemplateLockProvider}
 *       configured with {@code usingDbTime()}, the closest ShedLock provider that does (it brings spring-jdbc).
 *       ShedLock keeps no log and no fence: it is a plain row update per call.
 *   <li>{@link Backend#SQL_FLOOR_POSTGRESQL}, the floor: {@link LeaseFloor}, one statement per call on a pool of the
 *       same size, changing the lease row and inserting its event in one auto-commit transaction. It tells how close
 *       Collab is to what its guarantees allow, and how close to ShedLock anything keeping them could get.
 * </ul>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 3)
@Fork(1)
@Threads(1)
@State(Scope.Benchmark)
public class LeaseBenchmark {
  /** How many resource names are rotated through. */
  static final int NAMES = 8;
  /** Connections in each PostgreSQL pool, Collab's and ShedLock's. */
  static final int POOL_SIZE = 4;
  private static final Duration TTL = Duration.ofSeconds(30);

  /** What takes and releases the lease. */
  public enum Backend {
    /** Collab on its in-memory storage. */
    MEMORY,
    /** Collab on its durable file storage. */
    FILE,
    /** Collab on PostgreSQL through {@code JdbcStorage}. */
    POSTGRESQL,
    /** ShedLock's JdbcTemplate provider on PostgreSQL, using the database's time. */
    SHEDLOCK_POSTGRESQL,
    /**
     * The floor of Collab's lease on PostgreSQL ({@link LeaseFloor}): one statement per call that changes the lease
     * row and inserts its event; not Collab, but the best an implementation of its guarantees could do.
     */
    SQL_FLOOR_POSTGRESQL
  }

  /** What takes and releases the lease. */
  @Param
  public Backend backend;

  private final String[] names = new String[NAMES];
  private int next;
  private Path dir;
  private HikariDataSource pool;
  private Storage storage;
  private Collab collab;
  private LockProvider shedLock;
  private LeaseFloor floor;

  /** Opens a fresh store (or ShedLock table) for the chosen backend. */
  @Setup(Level.Trial)
  public void open() {
    for (int i = 0; i < NAMES; i++) {
      names[i] = "bench-lease-" + i;
    }
    switch (backend) {
      case MEMORY -> storage = MemoryStorage.create();
      case FILE -> {
        dir = BenchDirs.fresh("lease");
        storage = FileStorage.open(dir);
      }
      case POSTGRESQL -> {
        pool = Postgres.pool("collab-lease", POOL_SIZE);
        storage = Postgres.freshStorage(pool, "bench_lease_");
      }
      case SHEDLOCK_POSTGRESQL -> {
        pool = Postgres.pool("shedlock-lease", POOL_SIZE);
        Postgres.execute(pool, "DROP TABLE IF EXISTS shedlock",
            "CREATE TABLE shedlock (name VARCHAR(64) NOT NULL, lock_until TIMESTAMP NOT NULL, "
                + "locked_at TIMESTAMP NOT NULL, locked_by VARCHAR(255) NOT NULL, PRIMARY KEY (name))");
        shedLock = new JdbcTemplateLockProvider(JdbcTemplateLockProvider.Configuration.builder()
            .withJdbcTemplate(new JdbcTemplate(pool)).usingDbTime().build());
      }
      case SQL_FLOOR_POSTGRESQL -> {
        pool = Postgres.pool("floor-lease", POOL_SIZE);
        floor = new LeaseFloor(pool, "bench", TTL);
      }
      default -> throw new IllegalStateException("unknown backend " + backend);
    }
    if (storage != null) {
      collab = Collab.builder().storage(storage).holder("bench").build();
    }
  }

  /** Closes and deletes what {@link #open} made. */
  @TearDown(Level.Trial)
  public void close() {
    if (collab != null) {
      collab.close();
      storage.close();
    }
    if (pool != null) {
      pool.close();
    }
    BenchDirs.delete(dir);
  }

  /**
   * Acquires a lease on the next resource name and releases it.
   *
   * @return the lease's fencing token (Collab, the floor) or 0 (ShedLock has none)
   * @throws SQLException if the floor's statements fail
   */
  @Benchmark
  public long acquireRelease() throws SQLException {
    String name = names[next];
    next = (next + 1) % NAMES;
    if (floor != null) {
      return floor.acquireRelease(name);
    }
    if (shedLock != null) {
      SimpleLock lock = shedLock.lock(new LockConfiguration(Instant.now(), name, TTL, Duration.ZERO))
          .orElseThrow(() -> new IllegalStateException("ShedLock did not grant " + name));
      lock.unlock();
      return 0;
    }
    Lease lease = collab.leases().tryAcquire(name, TTL)
        .orElseThrow(() -> new IllegalStateException("Collab did not grant " + name));
    if (!collab.leases().release(lease)) {
      throw new IllegalStateException("Collab did not release " + name);
    }
    return lease.fence();
  }
}
