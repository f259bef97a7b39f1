package io.kyros.collab.benchmarks;

import com.zaxxer.hikari.HikariDataSource;
import io.kyros.collab.AgentSpec;
import io.kyros.collab.Collab;
import io.kyros.collab.NewTask;
import io.kyros.collab.Outcome;
import io.kyros.collab.WorkerPool;
import io.kyros.collab.file.FileStorage;
import io.kyros.collab.spi.Storage;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;
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
 * A {@link WorkerPool} of {@value #WORKERS} threads with a no-op handler draining a backlog of {@value #TASKS} tasks,
 * in tasks per second (one invocation drains the backlog). Its baseline on PostgreSQL is db-scheduler draining the
 * same backlog with the same number of executor threads on the same database ({@link TaskClaimBenchmark}'s
 * {@code DB_SCHEDULER_POSTGRESQL} side, comparison {@code workers-postgresql-vs-db-scheduler}); the file store's
 * result is reported alone.
 *
 * <p>Each task costs the pool what a real one would: a claim (several at a time, {@code Tasks.claimUpTo}), a
 * keep-alive for the claim, {@code executor_started} (in the claim's commit), the completion and
 * {@code executor_succeeded} (in the completion's commit); db-scheduler records no history. Before each invocation (not measured) a fresh store gets the
 * backlog and a pool whose agent is disabled, so it claims nothing yet; the invocation enables the agent
 * ({@code Agents.setEnabled}), which the pool sees on the event log, and returns once every task is done and the
 * pool holds no claim.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 3)
@Fork(1)
@Threads(1)
@State(Scope.Benchmark)
public class WorkerPoolBenchmark {
  /** Tasks drained per invocation. */
  static final int TASKS = 500;
  /** The pool's threads. */
  static final int WORKERS = 8;
  private static final String PREFIX = "bench_worker_";
  private static final String AGENT = "bench-pool";
  private static final long MAX_WAIT_SECONDS = 120;

  /** Where the pool's tasks live. */
  public enum Backend {
    /** {@code JdbcStorage} on PostgreSQL, a Hikari pool of 10 connections (as db-scheduler's side). */
    COLLAB_POSTGRESQL,
    /** {@code FileStorage}, durable (fsync). */
    COLLAB_FILE
  }

  /** Where the pool's tasks live. */
  @Param
  public Backend backend;

  private HikariDataSource connections;
  private Path dir;
  private Storage storage;
  private Collab collab;
  private WorkerPool pool;
  private volatile CountDownLatch done;

  /** Opens the database pool, if any. */
  @Setup(Level.Trial)
  public void open() {
    if (backend == Backend.COLLAB_POSTGRESQL) {
      connections = Postgres.pool("collab-workers", 10);
    }
  }

  /** Closes the database pool. */
  @TearDown(Level.Trial)
  public void close() {
    if (connections != null) {
      connections.close();
    }
  }

  /** A fresh store with the backlog and a started pool whose agent is disabled. */
  @Setup(Level.Invocation)
  public void backlog() {
    if (backend == Backend.COLLAB_POSTGRESQL) {
      storage = Postgres.freshStorage(connections, PREFIX);
    } else {
      dir = BenchDirs.fresh("workers");
      storage = FileStorage.open(dir);
    }
    collab = Collab.builder().storage(storage).holder("bench").build();
    for (int i = 0; i < TASKS; i++) {
      collab.tasks().create(NewTask.of("no-op " + i).withId("t" + i).withLabels("noop"));
    }
    done = new CountDownLatch(TASKS);
    collab.agents().register(new AgentSpec(AGENT, "worker", Set.of("noop"), Map.of()));
    collab.agents().setEnabled(AGENT, false);
    pool = WorkerPool.builder(collab).agentId(AGENT).concurrency(WORKERS).claimTtl(Duration.ofMinutes(5))
        .handler("noop", ctx -> {
          done.countDown();
          return Outcome.done();
        }).start();
  }

  /** Stops the pool and removes the store. */
  @TearDown(Level.Invocation)
  public void drop() {
    pool.close();
    collab.close();
    storage.close();
    if (dir != null) {
      BenchDirs.delete(dir);
    }
  }

  /**
   * Lets the pool claim and waits until the backlog is drained.
   *
   * @return how many tasks were done
   * @throws Exception if the backlog was not drained in time
   */
  @Benchmark
  @OperationsPerInvocation(TASKS)
  public int drain() throws Exception {
    collab.agents().setEnabled(AGENT, true);
    if (!done.await(MAX_WAIT_SECONDS, TimeUnit.SECONDS)) {
      throw new TimeoutException("the pool did not run " + TASKS + " tasks in " + MAX_WAIT_SECONDS + " s");
    }
    while (pool.running() > 0) { // the last completions commit after their handlers returned
      LockSupport.parkNanos(100_000L);
    }
    return TASKS;
  }
}
