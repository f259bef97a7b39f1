package io.kyros.collab.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import io.kyros.collab.Collab;
import io.kyros.collab.Event;
import io.kyros.collab.EventFilter;
import io.kyros.collab.LeaseLostException;
import io.kyros.collab.NewTask;
import io.kyros.collab.Preconditions;
import io.kyros.collab.TaskClaim;
import io.kyros.collab.TaskFilter;
import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.spi.StoredEvent;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Claims on PostgreSQL from a cluster: {@value #NODES} nodes (each its own pool and {@link JdbcStorage}) with
 * {@value #THREADS_PER_NODE} worker threads each drain {@value #TASKS} tasks while {@value #READERS} readers, each
 * a storage on a pool of its own (so each keeps its own settled bound and pending mark), tail the log. Every so often a worker moves the shared test clock past the claims' ttl, so the
 * claims held at that moment go stale and are reclaimed and claimed again with a higher fence; their holders' guarded
 * writes and completions must then fail.
 *
 * <p>Checked: each task completed exactly once, by the holder of its last claim; per task the claims' fences strictly
 * increase; every lease-guarded document write (one per claim that still held its lease) is in the log in fence
 * order, and the last one is the completing claim's; each reader saw every event of the log exactly once, in order.
 */
@Timeout(value = 6, unit = TimeUnit.MINUTES)
class ClusterClaimTest {
  private static final int NODES = 3;
  private static final int THREADS_PER_NODE = 4;
  private static final int TASKS = 2_000;
  private static final int READERS = 3;
  /** Every this many claims (over all workers), the clock jumps past the ttl. */
  private static final int STALE_EVERY = 150;
  private static final Duration TTL = Duration.ofSeconds(30);

  private final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));
  private TestDatabase db;
  private final List<HikariDataSource> pools = new ArrayList<>();
  private final List<JdbcStorage> storages = new ArrayList<>();
  private final List<Collab> nodes = new ArrayList<>();
  /** The readers' storages, one each. */
  private final List<JdbcStorage> readerStorages = new ArrayList<>();

  @BeforeEach
  void openNodes() {
    db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, "cluster_", 2, c -> {});
    for (int n = 0; n < NODES; n++) {
      HikariDataSource pool = db.newPool("cluster-node-" + n, THREADS_PER_NODE + 1, c -> {});
      pools.add(pool);
      JdbcStorage storage = JdbcStorage.builder(pool).tablePrefix(db.prefix).clock(clock).build();
      storages.add(storage);
      nodes.add(Collab.builder().storage(storage).holder("node-" + n).taskMaxAttempts(1_000)
          .taskRetryBackoff(Duration.ofMillis(1), Duration.ofMillis(1)).build());
    }
    for (int r = 0; r < READERS; r++) {
      HikariDataSource readerPool = db.newPool("cluster-reader-" + r, 2, c -> {});
      pools.add(readerPool);
      readerStorages.add(JdbcStorage.builder(readerPool).tablePrefix(db.prefix).clock(clock)
          .pollInterval(Duration.ofMillis(20)).build());
    }
  }

  @AfterEach
  void closeNodes() {
    nodes.forEach(Collab::close);
    storages.forEach(JdbcStorage::close);
    readerStorages.forEach(JdbcStorage::close);
    pools.forEach(HikariDataSource::close);
    if (db != null) {
      db.close();
    }
  }

  /** One claim as its worker saw it. */
  private record Claimed(String task, long fence, String worker) {}

  @Test
  void threePoolsOfFourThreadsExecuteEachTaskOnceWithGuardedWritesInFenceOrder() throws Exception {
    for (int i = 0; i < TASKS; i++) {
      nodes.get(i % NODES).tasks().create(NewTask.of("job " + i).withId(String.format("job-%04d", i))
          .withPriority(i % 5));
    }
    List<Claimed> claims = new ArrayList<>();
    Map<String, String> completedBy = new ConcurrentHashMap<>();
    AtomicInteger completedTwice = new AtomicInteger();
    AtomicInteger claimCount = new AtomicInteger();
    AtomicInteger lost = new AtomicInteger();
    AtomicLong finalEventId = new AtomicLong(-1);

    ExecutorService threads = Executors.newFixedThreadPool(NODES * THREADS_PER_NODE + READERS);
    try {
      List<Future<List<Long>>> readers = new ArrayList<>();
      for (int r = 0; r < READERS; r++) {
        JdbcStorage reader = readerStorages.get(r);
        readers.add(threads.submit(() -> tail(reader, finalEventId)));
      }
      List<Future<?>> workers = new ArrayList<>();
      for (int t = 0; t < NODES * THREADS_PER_NODE; t++) {
        Collab node = nodes.get(t % NODES);
        String worker = "node-" + (t % NODES) + "-w" + (t / NODES);
        workers.add(threads.submit(() -> {
          while (completedBy.size() < TASKS) {
            Optional<TaskClaim> next = node.tasks().claimNext(worker, TTL, Set.of());
            if (next.isEmpty()) {
              clock.advance(Duration.ofMillis(5)); // past a reclaimed task's backoff
              continue;
            }
            TaskClaim c = next.get();
            synchronized (claims) {
              claims.add(new Claimed(c.task().id(), c.lease().fence(), worker));
            }
            if (claimCount.incrementAndGet() % STALE_EVERY == 0) {
              clock.advance(TTL.plusSeconds(1)); // every claim held now goes stale, this one included
            }
            try {
              node.documents().guardedBy(c.lease()).put("results", c.task().id(),
                  Map.of("fence", c.lease().fence(), "worker", worker), Preconditions.none());
              node.tasks().complete(c);
              if (completedBy.putIfAbsent(c.task().id(), worker) != null) {
                completedTwice.incrementAndGet();
              }
            } catch (LeaseLostException e) {
              lost.incrementAndGet(); // reclaimed meanwhile: someone else claims the task again
            }
          }
          return null;
        }));
      }
      for (Future<?> w : workers) {
        w.get(5, TimeUnit.MINUTES);
      }
      Collab any = nodes.get(0);
      finalEventId.set(any.events().lastId());

      assertThat(completedTwice.get()).isZero();
      assertThat(completedBy).hasSize(TASKS);
      assertThat(lost.get()).as("some claims were reclaimed under their holders").isPositive();
      assertThat(any.tasks().list(TaskFilter.all().statuses("done"))).hasSize(TASKS);
      List<Event> log = any.events().read(0, (int) finalEventId.get() + 1);
      assertThat(log.stream().filter(e -> e.type().equals("task_completed")).map(Event::target))
          .hasSize(TASKS).doesNotHaveDuplicates();

      // per task: claims with strictly increasing fences; the completing worker holds the last one
      Map<String, List<Claimed>> byTask = claims.stream().collect(Collectors.groupingBy(Claimed::task));
      assertThat(byTask).hasSize(TASKS);
      for (Map.Entry<String, List<Claimed>> e : byTask.entrySet()) {
        List<Long> fences = e.getValue().stream().map(Claimed::fence).sorted().toList();
        assertThat(fences).as(e.getKey()).doesNotHaveDuplicates();
        Claimed last = e.getValue().stream().max((a, b) -> Long.compare(a.fence(), b.fence())).orElseThrow();
        assertThat(completedBy.get(e.getKey())).as(e.getKey()).isEqualTo(last.worker());
      }
      // guarded writes: in log order, fences strictly increase per document, and the last is the completing claim's
      Map<String, List<Long>> writeFences = new HashMap<>();
      for (Event e : any.events().read(0, EventFilter.all().targetPrefix("documents/results/"), TASKS * 10)) {
        writeFences.computeIfAbsent(e.target(), k -> new ArrayList<>()).add(e.details().get("fence").asLong());
      }
      assertThat(writeFences).hasSize(TASKS);
      for (Map.Entry<String, List<Long>> e : writeFences.entrySet()) {
        assertThat(e.getValue()).as(e.getKey()).isSorted().doesNotHaveDuplicates();
        String task = e.getKey().substring("documents/results/".length());
        long lastFence = byTask.get(task).stream().mapToLong(Claimed::fence).max().orElseThrow();
        assertThat(e.getValue().get(e.getValue().size() - 1)).as(e.getKey()).isEqualTo(lastFence);
        assertThat(any.documents().get("results", task).orElseThrow().value().get("fence").asLong())
            .isEqualTo(lastFence);
      }

      // every reader saw the whole log, each event once, in order
      List<Long> logIds = log.stream().map(Event::id).toList();
      assertThat(logIds).hasSize(log.size()).isSorted().doesNotHaveDuplicates();
      assertThat(logIds.get(logIds.size() - 1)).isEqualTo(finalEventId.get());
      for (Future<List<Long>> reader : readers) {
        assertThat(reader.get(1, TimeUnit.MINUTES)).isEqualTo(logIds);
      }
    } finally {
      threads.shutdownNow();
    }
  }

  /** Tails the log from the start in small pages until it has passed the final id, once that is known. */
  private static List<Long> tail(JdbcStorage readerStorage, AtomicLong finalEventId) throws InterruptedException {
    List<Long> seen = new ArrayList<>();
    long after = 0;
    while (true) {
      List<StoredEvent> page = readerStorage.readEvents(after, 13);
      for (StoredEvent e : page) {
        assertThat(e.id()).as("ids strictly increase").isGreaterThan(after);
        seen.add(e.id());
        after = e.id();
      }
      long last = finalEventId.get();
      if (page.isEmpty()) {
        if (last >= 0 && after >= last) {
          return seen;
        }
        readerStorage.awaitEvents(after, Duration.ofMillis(200));
      }
    }
  }
}
