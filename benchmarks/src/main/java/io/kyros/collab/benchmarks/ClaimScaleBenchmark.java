package io.kyros.collab.benchmarks;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.zaxxer.hikari.HikariDataSource;
import io.kyros.collab.CanonicalJson;
import io.kyros.collab.Collab;
import io.kyros.collab.NewTask;
import io.kyros.collab.Task;
import io.kyros.collab.TaskClaim;
import io.kyros.collab.file.FileStorage;
import io.kyros.collab.jdbc.JdbcStorage;
import io.kyros.collab.memory.MemoryStorage;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Storage;
import io.kyros.collab.spi.Write;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
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

/**
 * Whether a claim costs more as the backlog and the history grow (issue 12): one thread claims the best queued task
 * with {@code claimNext}, completes it, and creates one new queued task so that the backlog keeps its size, in a store
 * of {@link #tasks} queued tasks (half of them blocked by a dependency that never completes) and as many done tasks,
 * on {@link #backend}. Compared 100,000 against 100 ({@code claim-scale-<backend>}, target ≥ 0.83: within 1.2×).
 *
 * <p>The stores are built straight through the storage SPI in commits of 1,000 records, without events: task records
 * copied from one made by {@code Tasks.create} (so they are in the stored format of this version) with their id,
 * status, priority, dependencies and times changed; no index entries, so opening a {@link Collab} on a backend that
 * keeps indexes indexes them once ({@code TaskReindex}), as it would an older store. The 100,000-task stores are
 * cached: the file store under {@link BenchDirs#root()} ({@code claim-scale-100000-v1}, see {@link BulkStore}), the
 * PostgreSQL one in tables prefixed {@code bench_cs100000_} on the benchmark database, marked complete by a record
 * written last; the in-memory store and the small ones are built for each trial. Measured runs change a cached store
 * (claimed tasks are done, new ones queued), which keeps its shape; a trial on the cached PostgreSQL tables first
 * VACUUMs them, as autovacuum would between runs (see {@code vacuum}).
 *
 * <p>The fork runs with a fixed, pre-touched 2 GiB heap ({@code -Xms2g -Xmx2g -XX:+AlwaysPreTouch}). The in-memory
 * store keeps every event, so its heap grows through the run; with the default heap, the kernel's first touch of each
 * new heap page (zeroing it) took about a third of the CPU in a profile on the benchmark machine and made iterations of
 * both sides vary between 2,500 and 18,000 ops/s. A pre-touched heap pays that once, before the trial.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 3)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g", "-XX:+AlwaysPreTouch"})
@Threads(1)
@State(Scope.Benchmark)
public class ClaimScaleBenchmark {
  /** Stores with at least this many queued tasks are cached between runs. */
  private static final int CACHE_FROM = 10_000;
  private static final int PER_COMMIT = 1_000;
  private static final Duration TTL = Duration.ofMinutes(5);
  private static final RecordKey COMPLETE = new RecordKey("bench", "claim-scale-complete");

  /** Where the store lives. */
  public enum Backend {
    /** {@link MemoryStorage}. */
    MEMORY,
    /** {@link FileStorage}, durable (FSYNC). */
    FILE,
    /** {@link JdbcStorage} on PostgreSQL ({@code COLLAB_PG_URL}). */
    POSTGRESQL
  }

  /** The backend. */
  @Param({"MEMORY", "FILE", "POSTGRESQL"})
  public Backend backend;

  /** Queued tasks (half blocked); there are as many done ones. */
  @Param({"100", "100000"})
  public int tasks;

  private Path dir;
  private boolean freshDir;
  private HikariDataSource pool;
  private Storage storage;
  private Collab collab;
  private String prefix;
  private long sequence;

  /** Builds (or reuses) the store and opens a Collab on it. */
  @Setup(Level.Trial)
  public void open() {
    ObjectNode template = template();
    switch (backend) {
      case MEMORY -> {
        storage = MemoryStorage.create();
        fill(storage, tasks, template);
      }
      case FILE -> {
        if (tasks >= CACHE_FROM) {
          dir = BulkStore.cached("claim-scale-" + tasks + "-v1", s -> fill(s, tasks, template));
        } else {
          dir = BenchDirs.fresh("claim-scale-" + tasks);
          freshDir = true;
          BulkStore.build(dir, s -> fill(s, tasks, template));
        }
        storage = FileStorage.open(dir);
      }
      case POSTGRESQL -> {
        pool = Postgres.pool("claim-scale", 4);
        String tables = "bench_cs" + tasks + "_";
        JdbcStorage jdbc = tasks >= CACHE_FROM && complete(pool, tables)
            ? JdbcStorage.builder(pool).tablePrefix(tables).build() : null;
        if (jdbc == null) {
          jdbc = Postgres.freshStorage(pool, tables);
          fill(jdbc, tasks, template);
        } else {
          vacuum(pool, tables);
        }
        storage = jdbc;
      }
      default -> throw new IllegalStateException("unknown backend " + backend);
    }
    long start = System.nanoTime();
    collab = Collab.builder().storage(storage).holder("bench").build();
    System.err.printf("claim-scale %s %d: opened in %d ms%n", backend, tasks,
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
    prefix = "n" + Long.toString(System.currentTimeMillis(), 36) + "-";
  }

  /** Closes the Collab and the store; deletes a store that is not cached. */
  @TearDown(Level.Trial)
  public void close() {
    collab.close();
    storage.close();
    if (pool != null) {
      pool.close();
    }
    if (freshDir) {
      BenchDirs.delete(dir);
    }
  }

  /**
   * Claims the best queued task, completes it and queues a new one.
   *
   * @return the completed task
   */
  @Benchmark
  public Task claimAndComplete() {
    TaskClaim claim = collab.tasks().claimNext(TTL).orElseThrow(() -> new IllegalStateException("nothing to claim"));
    Task done = collab.tasks().complete(claim);
    collab.tasks().create(NewTask.of("replacement").withId(prefix + ++sequence).withPriority((int) (sequence % 5)));
    return done;
  }

  /** A task record in this version's stored format, as {@code Tasks.create} writes it. */
  private static ObjectNode template() {
    try (MemoryStorage scratch = MemoryStorage.create();
        Collab c = Collab.builder().storage(scratch).holder("bench").build()) {
      c.tasks().create(NewTask.of("bulk task").withId("template").withDescription("built in bulk"));
      String json = scratch.read(new RecordKey("_tasks", "template")).orElseThrow().json();
      return (ObjectNode) new ObjectMapper().readTree(json);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Fills an empty store: a gate task that failed for good, {@code queued} queued tasks of which every second one
   * depends on the gate, and {@code queued} done tasks; then the completion marker.
   */
  static void fill(Storage storage, int queued, ObjectNode template) {
    Instant base = Instant.parse("2026-01-01T00:00:00Z");
    List<Write> gate = List.of(write(template, "gate", "failed", 0, false, base));
    commit(storage, gate);
    BulkStore.load(storage, "tasks", 2L * queued, PER_COMMIT, (first, n) -> {
      List<Write> writes = new ArrayList<>(n);
      for (long i = first; i < first + n; i++) {
        Instant created = base.plusMillis(i);
        if (i < queued) {
          writes.add(write(template, String.format("q%07d", i), "queued", (int) (i % 5), i % 2 == 1, created));
        } else {
          writes.add(write(template, String.format("d%07d", i - queued), "done", 0, false, created));
        }
      }
      return Commit.of(List.of(), writes, List.of());
    });
    ObjectNode done = new ObjectMapper().createObjectNode().put("queued", queued);
    commit(storage, List.of(Write.put(COMPLETE, CanonicalJson.canonicalize(done), CanonicalJson.hash(done))));
  }

  private static Write write(ObjectNode template, String id, String status, int priority, boolean blocked,
      Instant created) {
    ObjectNode t = template.deepCopy();
    t.put("id", id).put("title", "task " + id).put("status", status).put("priority", priority)
        .put("createdAt", created.toString()).put("updatedAt", created.toString());
    t.putArray("dependsOn");
    if (blocked) {
      t.withArray("dependsOn").add("gate");
    }
    return Write.put(new RecordKey("_tasks", id), CanonicalJson.canonicalize(t), CanonicalJson.hash(t));
  }

  private static void commit(Storage storage, List<Write> writes) {
    CommitResult r = storage.commit(Commit.of(List.of(), writes, List.of()));
    if (!(r instanceof CommitResult.Committed)) {
      throw new IllegalStateException("bulk write refused: " + r);
    }
  }

  /**
   * Removes the dead rows earlier trials' claims left in the cached tables, as autovacuum would between runs on a
   * default installation (the benchmark machine runs with it off). Without it, each trial's claims leave their deleted
   * {@code ready:} entries at the head of the index, every later claim's scan reads their B-tree pages until a VACUUM
   * (docs/jdbc.md, "Deleted entries until VACUUM"), and the cached store got slower with every trial while the small
   * one, built for each trial, did not: in the full run of 2026-12-06 the claims' ready page of 16 on the cached store
   * read 526 buffers in 16.6 ms after 22 trials, 5 buffers in 0.8 ms after a VACUUM.
   */
  private static void vacuum(HikariDataSource pool, String tables) {
    try (Connection c = pool.getConnection(); Statement s = c.createStatement()) {
      for (String table : List.of("collab_records", "collab_index", "collab_events")) {
        s.execute("VACUUM " + tables + table); // runs outside a transaction: Hikari hands out auto-commit connections
      }
    } catch (SQLException e) {
      throw new IllegalStateException("VACUUM of the cached tables " + tables + "* failed: " + e.getMessage(), e);
    }
  }

  /** Whether the cached tables exist and hold the completion marker. */
  private static boolean complete(HikariDataSource pool, String tables) {
    try (Connection c = pool.getConnection(); Statement s = c.createStatement();
        ResultSet r = s.executeQuery("SELECT to_regclass('" + tables + "collab_records') IS NOT NULL")) {
      if (!r.next() || !r.getBoolean(1)) {
        return false;
      }
    } catch (SQLException e) {
      throw new IllegalStateException("PostgreSQL at " + Postgres.URL + " failed: " + e.getMessage(), e);
    }
    try (JdbcStorage probe = JdbcStorage.builder(pool).tablePrefix(tables).build()) {
      boolean done = probe.read(COMPLETE).isPresent();
      System.err.println("claim-scale: tables " + tables + (done ? " reused" : " incomplete, rebuilt"));
      return done;
    }
  }
}
