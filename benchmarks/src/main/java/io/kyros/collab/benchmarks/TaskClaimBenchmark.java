package io.kyros.collab.benchmarks;

import com.github.kagkarlsson.scheduler.Scheduler;
import com.github.kagkarlsson.scheduler.event.AbstractSchedulerListener;
import com.github.kagkarlsson.scheduler.task.ExecutionComplete;
import com.github.kagkarlsson.scheduler.task.TaskInstance;
import com.github.kagkarlsson.scheduler.task.helper.OneTimeTask;
import com.github.kagkarlsson.scheduler.task.helper.Tasks;
import com.zaxxer.hikari.HikariDataSource;
import io.kyros.collab.Collab;
import io.kyros.collab.NewTask;
import io.kyros.collab.TaskClaim;
import io.kyros.collab.jdbc.JdbcStorage;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Draining a backlog of {@value #TASKS} no-op tasks with {@value #WORKERS} workers on PostgreSQL or MariaDB, reported
 * in tasks per second (one invocation claims and completes every task of the backlog). Both sides get a Hikari pool
 * of {@value #POOL_SIZE} connections on the same server.
 *
 * <p>Before each invocation (not measured) the backlog is put in place, not yet runnable; the invocation makes it
 * runnable and returns when every task is done:
 * <ul>
 *   <li>{@link Backend#COLLAB_POSTGRESQL}: the tasks are created with {@code Tasks.create} before the workers start;
 *       the invocation starts {@value #WORKERS} workers that loop {@code claimNext(ttl)} then {@code complete(claim)}
 *       until {@code claimNext} finds nothing. Each claim takes a lease with a fencing token and moves the task,
 *       each completion ends it, each recording events in the same commit. The workers share one {@code Collab},
 *       so the {@code claimNext} calls made while another runs are combined into one search and one commit
 *       ({@code ClaimGroups}); each completion commits on its own.
 *   <li>{@link Backend#DB_SCHEDULER_POSTGRESQL}, the baseline: db-scheduler 16.12.0 with {@value #WORKERS} executor
 *       threads polling with lock-and-fetch ({@code FOR UPDATE SKIP LOCKED}); the tasks are one-time instances
 *       inserted in one batch an hour in the future; the invocation runs one
 *       {@code UPDATE scheduled_tasks SET execution_time = now()} and {@code triggerCheckForDueExecutions()} and
 *       waits until every execution is reported complete by a scheduler listener (after db-scheduler deleted the
 *       finished execution).
 *   <li>{@link Backend#COLLAB_MARIADB} and {@link Backend#DB_SCHEDULER_MARIADB}: the same on MariaDB. db-scheduler
 *       does not offer lock-and-fetch on MariaDB ({@code MariaDBJdbcCustomization.supportsGenericLockAndFetch()} is
 *       false), so it polls with its default strategy, fetch-and-lock-on-execute (select due executions, then pick
 *       each with an optimistic {@code UPDATE ... WHERE version = ?}), timestamps kept in UTC; the backlog is made
 *       runnable by moving its execution time into the past.
 *   <li>{@link Backend#SQL_FLOOR_POSTGRESQL}, the floor: {@link TaskFloor}, the backlog inserted queued in one
 *       statement; the invocation starts {@value #WORKERS} workers that loop one claim statement ({@code SKIP LOCKED})
 *       then one completion statement until nothing is claimable, each statement changing the task row and inserting
 *       its event in one auto-commit transaction.
 *   <li>{@link Backend#SQL_FLOOR_BATCHED_POSTGRESQL} and {@link Backend#SQL_FLOOR_GROUPED_POSTGRESQL}: the same
 *       floor with each worker claiming up to {@value #FLOOR_BATCH} tasks per statement, then completing them one
 *       statement each (batched) or all in one transaction (grouped).
 * </ul>
 *
 * <p>A finished db-scheduler one-time execution is deleted; a finished Collab task stays on the board, done. So that
 * both sides drain the same table contents, the records and events of the previous invocation are deleted before the
 * next backlog is created (Collab's counters are kept, so revisions are never reused).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 3)
@Fork(1)
@Threads(1)
@State(Scope.Benchmark)
public class TaskClaimBenchmark {
  /** Tasks drained per invocation. */
  static final int TASKS = 500;
  /** Workers on both sides. */
  static final int WORKERS = 8;
  /**
   * Tasks a worker of the batched and grouped floors claims per statement: what db-scheduler's lock-and-fetch picks
   * per statement here, about (its upper limit 1.0 - its lower limit 0.5) x {@value #WORKERS} threads.
   */
  static final int FLOOR_BATCH = 4;
  /** Connections in each pool. */
  static final int POOL_SIZE = 10;
  private static final String PREFIX = "bench_task_";
  private static final Duration TTL = Duration.ofMinutes(5);
  private static final long MAX_WAIT_SECONDS = 120;

  /** Who claims and completes the tasks, on which database. */
  public enum Backend {
    /** Collab's tasks on PostgreSQL through {@code JdbcStorage}. */
    COLLAB_POSTGRESQL(BenchDatabase.POSTGRESQL),
    /** db-scheduler one-time tasks on PostgreSQL. */
    DB_SCHEDULER_POSTGRESQL(BenchDatabase.POSTGRESQL),
    /** Collab's tasks on MariaDB through {@code JdbcStorage}. */
    COLLAB_MARIADB(BenchDatabase.MARIADB),
    /** db-scheduler one-time tasks on MariaDB. */
    DB_SCHEDULER_MARIADB(BenchDatabase.MARIADB),
    /**
     * The floor of a claim + complete on PostgreSQL when each operation commits on its own ({@link TaskFloor}): one
     * statement per claim and per completion, each with its event; not Collab, but the best an implementation of its
     * guarantees could do without combining operations into one commit.
     */
    SQL_FLOOR_POSTGRESQL(BenchDatabase.POSTGRESQL),
    /**
     * The floor with claims combined ({@link TaskFloor#claimBatch}): each worker claims up to {@value #FLOOR_BATCH}
     * tasks in one statement, then completes them one statement each; db-scheduler's commit shape (many picked per
     * statement, each finished one deleted in a commit of its own) with Collab's guarantees.
     */
    SQL_FLOOR_BATCHED_POSTGRESQL(BenchDatabase.POSTGRESQL),
    /**
     * The floor with claims and completions combined: each worker claims up to {@value #FLOOR_BATCH} tasks in one
     * statement and completes them in one transaction ({@link TaskFloor#completeAll}: their statements in one round
     * trip, then COMMIT), so about 2 / {@value #FLOOR_BATCH} commits per task; what a design committing several
     * operations together while keeping a result per operation could reach.
     */
    SQL_FLOOR_GROUPED_POSTGRESQL(BenchDatabase.POSTGRESQL);

    final BenchDatabase database;

    Backend(BenchDatabase database) {
      this.database = database;
    }

    boolean collab() {
      return name().startsWith("COLLAB_");
    }

    boolean floor() {
      return name().startsWith("SQL_FLOOR_");
    }
  }

  /** Who claims and completes the tasks. */
  @Param
  public Backend backend;

  private BenchDatabase database;
  private HikariDataSource pool;
  private ExecutorService workers;
  private JdbcStorage storage;
  private Collab collab;
  private TaskFloor floor;
  private Scheduler scheduler;
  private OneTimeTask<Void> noop;
  private volatile CountDownLatch done;
  private final AtomicInteger failed = new AtomicInteger();
  private int round;

  /** Opens a pool and fresh tables, and starts db-scheduler (idle) or the worker threads. */
  @Setup(Level.Trial)
  public void open() {
    database = backend.database;
    pool = database.pool(backend.name().toLowerCase(java.util.Locale.ROOT), POOL_SIZE);
    if (backend.collab()) {
      storage = database.freshStorage(pool, PREFIX);
      collab = Collab.builder().storage(storage).holder("bench").build();
      workers = Executors.newFixedThreadPool(WORKERS);
      return;
    }
    if (backend.floor()) {
      floor = new TaskFloor(pool, "bench", TTL);
      workers = Executors.newFixedThreadPool(WORKERS);
      return;
    }
    noop = Tasks.oneTime("bench-noop").execute((instance, context) -> { });
    if (database == BenchDatabase.POSTGRESQL) {
      database.execute(pool, "DROP TABLE IF EXISTS scheduled_tasks",
          // db-scheduler's PostgreSQL DDL (its repository's postgresql_tables.sql)
          "CREATE TABLE scheduled_tasks (task_name TEXT NOT NULL, task_instance TEXT NOT NULL, task_data BYTEA,"
              + " execution_time TIMESTAMP WITH TIME ZONE NOT NULL, picked BOOLEAN NOT NULL, picked_by TEXT,"
              + " last_success TIMESTAMP WITH TIME ZONE, last_failure TIMESTAMP WITH TIME ZONE,"
              + " consecutive_failures INT, last_heartbeat TIMESTAMP WITH TIME ZONE, version BIGINT NOT NULL,"
              + " priority SMALLINT, PRIMARY KEY (task_name, task_instance))",
          "CREATE INDEX execution_time_idx ON scheduled_tasks (execution_time)",
          "CREATE INDEX last_heartbeat_idx ON scheduled_tasks (last_heartbeat)",
          "CREATE INDEX priority_execution_time_idx ON scheduled_tasks (priority DESC, execution_time ASC)");
      scheduler = Scheduler.create(pool, noop).threads(WORKERS).pollUsingLockAndFetch(0.5, 1.0).build();
    } else {
      database.execute(pool, "DROP TABLE IF EXISTS scheduled_tasks",
          // db-scheduler's MariaDB/MySQL DDL (its repository's mariadb_tables.sql)
          "CREATE TABLE scheduled_tasks (task_name VARCHAR(100) NOT NULL, task_instance VARCHAR(100) NOT NULL,"
              + " task_data BLOB, execution_time TIMESTAMP(6) NOT NULL, picked BOOLEAN NOT NULL,"
              + " picked_by VARCHAR(50), last_success TIMESTAMP(6) NULL, last_failure TIMESTAMP(6) NULL,"
              + " consecutive_failures INT, last_heartbeat TIMESTAMP(6) NULL, version BIGINT NOT NULL,"
              + " priority SMALLINT, PRIMARY KEY (task_name, task_instance),"
              + " INDEX execution_time_idx (execution_time), INDEX last_heartbeat_idx (last_heartbeat),"
              + " INDEX priority_execution_time_idx (priority DESC, execution_time ASC))");
      scheduler = Scheduler.create(pool, noop).threads(WORKERS).alwaysPersistTimestampInUTC().build();
    }
    scheduler.registerSchedulerListener(new AbstractSchedulerListener() {
      @Override
      public void onExecutionComplete(ExecutionComplete complete) {
        if (complete.getResult() != ExecutionComplete.Result.OK) {
          failed.incrementAndGet();
        }
        CountDownLatch latch = done;
        if (latch != null) {
          latch.countDown();
        }
      }
    });
    scheduler.start();
  }

  /** Stops the workers or the scheduler and closes the pool. */
  @TearDown(Level.Trial)
  public void close() {
    if (scheduler != null) {
      scheduler.stop();
    }
    if (workers != null) {
      workers.shutdownNow();
    }
    if (collab != null) {
      collab.close();
      storage.close();
    }
    pool.close();
  }

  /**
   * Puts the next backlog of {@value #TASKS} tasks in place, not yet runnable, after removing what the previous
   * invocation left.
   *
   * @throws Exception if creating the tasks failed
   */
  @Setup(Level.Invocation)
  public void backlog() throws Exception {
    round++;
    done = new CountDownLatch(TASKS);
    if (collab != null) {
      database.execute(pool, "DELETE FROM " + PREFIX + "collab_index", "DELETE FROM " + PREFIX + "collab_records",
          "DELETE FROM " + PREFIX + "collab_events");
      List<Callable<Integer>> creators = new ArrayList<>();
      for (int w = 0; w < WORKERS; w++) {
        int first = w;
        creators.add(() -> {
          for (int i = first; i < TASKS; i += WORKERS) {
            collab.tasks().create(NewTask.of("no-op " + i).withId("r" + round + "-" + i));
          }
          return 0;
        });
      }
      all(workers.invokeAll(creators));
      return;
    }
    if (floor != null) {
      floor.backlog(round, TASKS);
      return;
    }
    List<TaskInstance<?>> instances = new ArrayList<>(TASKS);
    for (int i = 0; i < TASKS; i++) {
      instances.add(noop.instance("r" + round + "-" + i));
    }
    scheduler.scheduleBatch(instances, Instant.now().plus(Duration.ofHours(1)));
  }

  /**
   * Makes the backlog runnable and waits until every task is done.
   *
   * @return how many tasks were done
   * @throws Exception if a worker failed, or the backlog was not drained in time
   */
  @Benchmark
  @OperationsPerInvocation(TASKS)
  public int claimAndComplete() throws Exception {
    if (collab != null || floor != null) {
      List<Callable<Integer>> drainers = new ArrayList<>();
      for (int w = 0; w < WORKERS; w++) {
        drainers.add(switch (backend) {
          case SQL_FLOOR_POSTGRESQL -> this::drainFloor;
          case SQL_FLOOR_BATCHED_POSTGRESQL -> this::drainFloorBatched;
          case SQL_FLOOR_GROUPED_POSTGRESQL -> this::drainFloorGrouped;
          default -> this::drain;
        });
      }
      int total = all(workers.invokeAll(drainers));
      if (total != TASKS) {
        throw new IllegalStateException(backend + " workers completed " + total + " tasks, not " + TASKS);
      }
      return total;
    }
    // PostgreSQL: now; MariaDB: a fixed past instant, whatever the session's time zone
    database.execute(pool, database == BenchDatabase.POSTGRESQL ? "UPDATE scheduled_tasks SET execution_time = now()"
        : "UPDATE scheduled_tasks SET execution_time = '2000-01-01 00:00:00'");
    scheduler.triggerCheckForDueExecutions();
    if (!done.await(MAX_WAIT_SECONDS, TimeUnit.SECONDS)) {
      throw new TimeoutException("db-scheduler did not finish " + TASKS + " tasks in " + MAX_WAIT_SECONDS + " s");
    }
    if (failed.get() != 0) {
      throw new IllegalStateException(failed.get() + " db-scheduler executions failed");
    }
    return TASKS;
  }

  /** One Collab worker: claims and completes until nothing is claimable. */
  private int drain() {
    int n = 0;
    Optional<TaskClaim> claim;
    while ((claim = collab.tasks().claimNext(TTL)).isPresent()) {
      collab.tasks().complete(claim.get());
      n++;
    }
    return n;
  }

  /** One worker of the floor: claims and completes until nothing is claimable. */
  private int drainFloor() throws SQLException {
    int n = 0;
    Optional<TaskFloor.Claim> claim;
    while ((claim = floor.claimNext()).isPresent()) {
      floor.complete(claim.get());
      n++;
    }
    return n;
  }

  /** One worker of the batched floor: claims up to {@value #FLOOR_BATCH} at once, completes each on its own. */
  private int drainFloorBatched() throws SQLException {
    int n = 0;
    List<TaskFloor.Claim> claims;
    while (!(claims = floor.claimBatch(FLOOR_BATCH)).isEmpty()) {
      for (TaskFloor.Claim claim : claims) {
        floor.complete(claim);
        n++;
      }
    }
    return n;
  }

  /** One worker of the grouped floor: claims up to {@value #FLOOR_BATCH} at once and completes them at once. */
  private int drainFloorGrouped() throws SQLException {
    int n = 0;
    List<TaskFloor.Claim> claims;
    while (!(claims = floor.claimBatch(FLOOR_BATCH)).isEmpty()) {
      int completed = floor.completeAll(claims).size();
      if (completed != claims.size()) {
        throw new IllegalStateException("the grouped floor completed " + completed + " of " + claims);
      }
      n += completed;
    }
    return n;
  }

  private static int all(List<Future<Integer>> futures) throws InterruptedException, ExecutionException {
    int total = 0;
    for (Future<Integer> f : futures) {
      total += f.get();
    }
    return total;
  }
}
