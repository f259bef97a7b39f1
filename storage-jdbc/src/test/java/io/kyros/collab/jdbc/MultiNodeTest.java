package io.kyros.collab.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import io.kyros.collab.Collab;
import io.kyros.collab.Event;
import io.kyros.collab.EventFilter;
import io.kyros.collab.Lease;
import io.kyros.collab.NewTask;
import io.kyros.collab.TaskClaim;
import io.kyros.collab.TaskFilter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Three Collab "nodes" on one PostgreSQL, each with its own connection pool and storage on the database clock, two
 * threads each, contend for a lease and for tasks: never two holders at once, fences in acquisition order, guarded
 * writes in fence order, and no task executed twice.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class MultiNodeTest {
  private static final int NODES = 3;
  private static final int THREADS_PER_NODE = 2;

  private TestDatabase db;
  private final List<HikariDataSource> pools = new ArrayList<>();
  private final List<JdbcStorage> storages = new ArrayList<>();
  private final List<Collab> nodes = new ArrayList<>();

  @BeforeEach
  void openNodes() {
    db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, "nodes_", 1, c -> {});
    for (int n = 0; n < NODES; n++) {
      HikariDataSource pool = db.newPool("node-" + n, THREADS_PER_NODE + 1, c -> {});
      pools.add(pool);
      JdbcStorage storage = JdbcStorage.builder(pool).tablePrefix(db.prefix).build();
      storages.add(storage);
      nodes.add(Collab.builder().storage(storage).holder("node-" + n).build());
    }
  }

  @AfterEach
  void closeNodes() {
    nodes.forEach(Collab::close);
    storages.forEach(JdbcStorage::close);
    pools.forEach(HikariDataSource::close);
    if (db != null) {
      db.close();
    }
  }

  @FunctionalInterface
  private interface Worker {
    void run(Collab node) throws Exception;
  }

  private void onEveryThread(Worker worker) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(NODES * THREADS_PER_NODE);
    try {
      List<Future<?>> futures = new ArrayList<>();
      for (int t = 0; t < NODES * THREADS_PER_NODE; t++) {
        Collab node = nodes.get(t % NODES);
        futures.add(pool.submit(() -> {
          worker.run(node);
          return null;
        }));
      }
      for (Future<?> f : futures) {
        f.get(2, TimeUnit.MINUTES);
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void leaseHoldersExcludeEachOtherAndFencesFollowAcquisitionOrder() throws Exception {
    AtomicInteger inside = new AtomicInteger();
    AtomicInteger overlaps = new AtomicInteger();
    List<Long> fences = new CopyOnWriteArrayList<>();
    onEveryThread(node -> {
      for (int i = 0; i < 10; i++) {
        Lease lease = node.leases().acquire("mutex", Duration.ofSeconds(30), Duration.ofSeconds(60)).orElseThrow();
        if (inside.incrementAndGet() != 1) {
          overlaps.incrementAndGet();
        }
        fences.add(lease.fence());
        node.documents().guardedBy(lease).update("mutex", "state", v -> v.put("fence", lease.fence()));
        inside.decrementAndGet();
        assertThat(node.leases().release(lease)).isTrue();
      }
    });
    assertThat(overlaps.get()).isZero();
    assertThat(fences).hasSize(NODES * THREADS_PER_NODE * 10).isSorted().doesNotHaveDuplicates();
    Collab any = nodes.get(0);
    List<Event> acquisitions = any.events().read(0, EventFilter.all().types("lease_acquired"), 1000);
    assertThat(acquisitions).extracting(e -> e.details().get("fence").asLong()).containsExactlyElementsOf(fences);
    List<Event> writes = any.events().read(0, EventFilter.all().targetPrefix("documents/mutex/"), 1000);
    assertThat(writes).extracting(e -> e.details().get("fence").asLong()).containsExactlyElementsOf(fences);
  }

  @Test
  void noTaskIsExecutedTwice() throws Exception {
    int tasks = 60;
    for (int i = 0; i < tasks; i++) {
      nodes.get(i % NODES).tasks().create(NewTask.of("job " + i).withId(String.format("job-%03d", i)).withPriority(i % 4));
    }
    Map<String, String> executedBy = new ConcurrentHashMap<>();
    AtomicInteger twice = new AtomicInteger();
    onEveryThread(node -> {
      while (true) {
        Optional<TaskClaim> claim = node.tasks().claimNext(Duration.ofSeconds(30));
        if (claim.isEmpty()) {
          if (node.tasks().list(TaskFilter.all().statuses("queued")).isEmpty()) {
            return;
          }
          continue;
        }
        TaskClaim c = claim.get();
        if (executedBy.putIfAbsent(c.task().id(), node.holder()) != null) {
          twice.incrementAndGet();
        }
        node.documents().guardedBy(c.lease()).update("executions", c.task().id(),
            v -> v.put("runs", v.path("runs").asInt() + 1));
        node.tasks().complete(c);
      }
    });
    assertThat(twice.get()).isZero();
    assertThat(executedBy).hasSize(tasks);
    assertThat(executedBy.values()).as("every node worked").containsAll(List.of("node-0", "node-1", "node-2"));
    Collab any = nodes.get(0);
    assertThat(any.tasks().list(TaskFilter.all().statuses("done"))).hasSize(tasks);
    for (String id : executedBy.keySet()) {
      assertThat(any.documents().get("executions", id).orElseThrow().value().get("runs").asInt()).isEqualTo(1);
    }
    assertThat(any.events().read(0, EventFilter.all().types("task_claimed"), 1000)).hasSize(tasks);
  }
}
