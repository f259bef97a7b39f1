package io.kyros.collab.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.Collab;
import io.kyros.collab.Event;
import io.kyros.collab.EventFilter;
import io.kyros.collab.Lease;
import io.kyros.collab.NewTask;
import io.kyros.collab.Subscription;
import io.kyros.collab.TaskClaim;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** docs/design.md invariant 6: the invariants hold under concurrent use through several instances. */
public abstract class ConcurrencyConformance extends TaskIndexConformance {

  /**
   * @return how many operations each thread performs; backends with slow commits may lower it
   */
  protected int operationsPerThread() {
    return 50;
  }

  private void runThreads(int threads, ThrowingTask body) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    CyclicBarrier start = new CyclicBarrier(threads);
    try {
      List<Future<?>> futures = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int index = t;
        futures.add(pool.submit(() -> {
          start.await();
          body.run(index);
          return null;
        }));
      }
      for (Future<?> f : futures) {
        f.get(5, TimeUnit.MINUTES);
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @FunctionalInterface
  private interface ThrowingTask {
    void run(int thread) throws Exception;
  }

  @Test
  void concurrency_sixteenThreadsUpdatingOneCounterEndWithTheExactCount() throws Exception {
    int ops = operationsPerThread();
    List<Collab> instances = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      instances.add(newCollab("updater-" + i));
    }
    runThreads(16, t -> {
      Collab c = instances.get(t % instances.size());
      for (int i = 0; i < ops; i++) {
        c.documents().update("counters", "shared", v -> v.put("n", v.path("n").asInt() + 1));
      }
    });
    assertThat(collab.documents().get("counters", "shared").orElseThrow().value().get("n").asInt())
        .isEqualTo(16 * ops);
    List<Event> events = collab.events().read(0, EventFilter.all().targetPrefix("documents/counters/"), 100_000);
    assertThat(events).hasSize(16 * ops);
  }

  @Test
  void concurrency_sixteenThreadsContendingForALeaseNeverOverlapAndSeeIncreasingFences() throws Exception {
    int ops = operationsPerThread();
    AtomicInteger inside = new AtomicInteger();
    AtomicInteger overlaps = new AtomicInteger();
    List<Long> fences = new CopyOnWriteArrayList<>();
    List<Collab> instances = new ArrayList<>();
    for (int i = 0; i < 16; i++) {
      instances.add(newCollab("contender-" + i));
    }
    runThreads(16, t -> {
      Collab c = instances.get(t);
      int acquired = 0;
      while (acquired < ops / 5 + 1) {
        Optional<Lease> lease = c.leases().acquire("mutex", Duration.ofMinutes(5), patience());
        if (lease.isEmpty()) {
          continue;
        }
        acquired++;
        if (inside.incrementAndGet() != 1) {
          overlaps.incrementAndGet();
        }
        fences.add(lease.get().fence());
        c.documents().guardedBy(lease.get()).update("mutex", "state",
            v -> v.put("fence", lease.get().fence()));
        inside.decrementAndGet();
        assertThat(c.leases().release(lease.get())).isTrue();
      }
    });
    assertThat(overlaps.get()).isZero();
    assertThat(fences).hasSize(16 * (ops / 5 + 1));
    for (int i = 1; i < fences.size(); i++) {
      assertThat(fences.get(i)).as("fence order").isGreaterThan(fences.get(i - 1));
    }
    List<Event> writes = collab.events().read(0, EventFilter.all().targetPrefix("documents/mutex/"), 100_000);
    for (int i = 1; i < writes.size(); i++) {
      assertThat(writes.get(i).details().get("fence").asLong())
          .isGreaterThan(writes.get(i - 1).details().get("fence").asLong());
    }
  }

  @Test
  void concurrency_appendersAndTailingSubscribersSeeEveryEventOnceInOrder() throws Exception {
    int appenders = 8;
    int ops = operationsPerThread() * 2;
    List<List<Event>> seen = new ArrayList<>();
    List<Subscription> subs = new ArrayList<>();
    for (int s = 0; s < 3; s++) {
      List<Event> list = new CopyOnWriteArrayList<>();
      seen.add(list);
      subs.add(newCollab("tail-" + s).events().subscribe(0, EventFilter.all().types("load"), list::add));
    }
    Map<Long, Boolean> acked = new ConcurrentHashMap<>();
    runThreads(appenders, t -> {
      Collab c = newCollabSynchronized("appender-" + t);
      for (int i = 0; i < ops; i++) {
        Event e = c.events().append("load", "t/" + t, Map.of("i", i));
        assertThat(acked.put(e.id(), true)).isNull();
      }
    });
    int total = appenders * ops;
    assertThat(acked).hasSize(total);
    for (List<Event> list : seen) {
      awaitCondition("all events delivered", () -> list.size() >= total);
      assertThat(list).hasSize(total);
      assertStrictlyIncreasing(list);
      assertThat(list).extracting(Event::id).containsExactlyInAnyOrderElementsOf(acked.keySet());
    }
    subs.forEach(Subscription::close);
  }

  private synchronized Collab newCollabSynchronized(String holder) {
    return newCollab(holder);
  }

  @Test
  void concurrency_workersNeverHoldTheSameTask() throws Exception {
    int tasks = 8 * operationsPerThread() / 5 + 8;
    for (int i = 0; i < tasks; i++) {
      collab.tasks().create(NewTask.of("job " + i).withId(String.format("job-%04d", i)).withPriority(i % 3));
    }
    Map<String, String> owners = new ConcurrentHashMap<>();
    AtomicInteger duplicates = new AtomicInteger();
    List<Collab> workers = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      workers.add(newCollab("worker-" + i));
    }
    runThreads(8, t -> {
      Collab c = workers.get(t);
      while (true) {
        Optional<TaskClaim> claim = c.tasks().claimNext(Duration.ofMinutes(5));
        if (claim.isEmpty()) {
          if (c.tasks().list(io.kyros.collab.TaskFilter.all().statuses("queued")).isEmpty()) {
            return;
          }
          continue;
        }
        if (owners.putIfAbsent(claim.get().task().id(), c.holder()) != null) {
          duplicates.incrementAndGet();
        }
        c.tasks().complete(claim.get());
      }
    });
    assertThat(duplicates.get()).isZero();
    assertThat(owners).hasSize(tasks);
    assertThat(collab.tasks().list(io.kyros.collab.TaskFilter.all().statuses("done"))).hasSize(tasks);
    assertThat(collab.events().read(0, EventFilter.all().types("task_completed"), 100_000)).hasSize(tasks);
  }

  @Test
  void concurrency_reclaimsRacingWithWorkersNeverLetAStaleClaimCommit() throws Exception {
    int tasks = 24;
    Duration ttl = Duration.ofSeconds(10);
    for (int i = 0; i < tasks; i++) {
      collab.tasks().create(NewTask.of("job " + i).withId(String.format("race-%02d", i)).withMaxAttempts(1000));
    }
    List<Collab> workers = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      workers.add(newCollab("racer-" + i, b -> b.taskRetryBackoff(Duration.ofMillis(1), Duration.ofMillis(1))));
    }
    AtomicInteger lostClaims = new AtomicInteger();
    runThreads(6, t -> {
      Collab c = workers.get(t);
      while (true) {
        Optional<TaskClaim> claim = c.tasks().claimNext(ttl);
        if (claim.isEmpty()) {
          if (c.tasks().list(io.kyros.collab.TaskFilter.all().statuses("queued", "claimed", "in_progress")).isEmpty()) {
            return;
          }
          c.events().awaitAfter(c.events().lastId(), EventFilter.all(), 1, Duration.ofMillis(20));
          continue;
        }
        TaskClaim cl = claim.get();
        if (cl.task().attempts() == 0 && Integer.parseInt(cl.task().id().substring(5)) % 3 == 0) {
          // this worker "pauses" past its ttl on the first attempt: every claim held now goes stale
          clock.advance(ttl.plusSeconds(1));
        }
        try {
          // the "execution": a write guarded by the claim, recording its fence
          c.documents().guardedBy(cl.lease()).update("executions", cl.task().id(),
              v -> v.put("fence", cl.lease().fence()).put("worker", c.holder()));
          c.tasks().complete(cl);
        } catch (io.kyros.collab.LeaseLostException e) {
          lostClaims.incrementAndGet();
        }
      }
    });
    assertThat(lostClaims.get()).as("paused claims lost their lease").isGreaterThanOrEqualTo(tasks / 3);
    assertThat(collab.events().read(0, EventFilter.all().types("task_reclaimed"), 100_000))
        .hasSizeGreaterThanOrEqualTo(tasks / 3);
    List<io.kyros.collab.Task> all = collab.tasks().list(io.kyros.collab.TaskFilter.all());
    assertThat(all).hasSize(tasks).allSatisfy(task -> assertThat(task.status()).isEqualTo("done"));
    List<Event> completions = collab.events().read(0, EventFilter.all().types("task_completed"), 100_000);
    assertThat(completions).hasSize(tasks);
    assertThat(completions).extracting(Event::target).doesNotHaveDuplicates();
    // per task, guarded writes commit in strictly increasing fence order: a stale claim never wrote
    // after a newer one, and the completing claim is the one whose execution is recorded last
    Map<String, Long> lastFence = new java.util.HashMap<>();
    for (Event e : collab.events().read(0, EventFilter.all().targetPrefix("documents/executions/"), 100_000)) {
      long fence = e.details().get("fence").asLong();
      Long previous = lastFence.put(e.target(), fence);
      assertThat(fence).as("fence order for %s", e.target()).isGreaterThan(previous == null ? 0 : previous);
    }
    for (Event done : completions) {
      String id = done.target().substring("tasks/".length());
      assertThat(done.details().get("fence").asLong()).isEqualTo(lastFence.get("documents/executions/" + id));
    }
  }

  @Test
  void concurrency_leaseHoldersPausingPastTheirTtlNeverCommitAfterTheirSuccessor() throws Exception {
    int rounds = operationsPerThread() / 5 + 1;
    Duration ttl = Duration.ofSeconds(10);
    List<Collab> instances = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      instances.add(newCollab("pauser-" + i));
    }
    AtomicInteger lost = new AtomicInteger();
    List<Long> acquiredFences = new CopyOnWriteArrayList<>();
    runThreads(8, t -> {
      Collab c = instances.get(t);
      for (int i = 0; i < rounds; i++) {
        Optional<Lease> lease = c.leases().acquire("mutex", ttl, patience());
        if (lease.isEmpty()) {
          continue;
        }
        acquiredFences.add(lease.get().fence());
        if ((t + i) % 3 == 0) {
          clock.advance(ttl.plusSeconds(1)); // a long pause: the lease expires and others may take over
        }
        try {
          c.documents().guardedBy(lease.get()).update("mutex", "state", v -> v.put("fence", lease.get().fence()));
          c.leases().release(lease.get());
        } catch (io.kyros.collab.LeaseLostException e) {
          lost.incrementAndGet();
        }
      }
    });
    assertThat(lost.get()).as("paused holders lost their lease").isPositive();
    assertThat(collab.events().read(0, EventFilter.all().types("lease_reclaimed"), 100_000)).isNotEmpty();
    List<Event> acquisitions = collab.events().read(0, EventFilter.all().types("lease_acquired"), 100_000);
    assertThat(acquisitions).hasSize(acquiredFences.size());
    for (int i = 1; i < acquisitions.size(); i++) {
      assertThat(acquisitions.get(i).details().get("fence").asLong())
          .isGreaterThan(acquisitions.get(i - 1).details().get("fence").asLong());
    }
    List<Event> writes = collab.events().read(0, EventFilter.all().targetPrefix("documents/mutex/"), 100_000);
    for (int i = 1; i < writes.size(); i++) {
      assertThat(writes.get(i).details().get("fence").asLong()).as("guarded writes in fence order")
          .isGreaterThan(writes.get(i - 1).details().get("fence").asLong());
    }
  }

  @Test
  void concurrency_concurrentDependencyChangesNeverCreateACycle() throws Exception {
    Collab other = newCollab("planner-2");
    for (int round = 0; round < 20; round++) {
      String a = "cyc-a" + round;
      String b = "cyc-b" + round;
      collab.tasks().create(NewTask.of(a).withId(a));
      collab.tasks().create(NewTask.of(b).withId(b));
      AtomicInteger succeeded = new AtomicInteger();
      runThreads(2, t -> {
        Collab c = t == 0 ? collab : other;
        try {
          c.tasks().update(t == 0 ? a : b, null, io.kyros.collab.TaskPatch.none().dependsOn(t == 0 ? b : a));
          succeeded.incrementAndGet();
        } catch (io.kyros.collab.DependencyException e) {
          assertThat(e.getMessage()).startsWith("dependency cycle");
        }
      });
      assertThat(succeeded.get()).as("round %d", round).isEqualTo(1);
      boolean aOnB = collab.tasks().get(a).orElseThrow().dependsOn().contains(b);
      boolean bOnA = collab.tasks().get(b).orElseThrow().dependsOn().contains(a);
      assertThat(aOnB && bOnA).as("cycle in round %d", round).isFalse();
    }
  }

  @Test
  void concurrency_concurrentCreatesOfOneDocumentLetExactlyOneWin() throws Exception {
    for (int round = 0; round < 10; round++) {
      String id = "doc-" + round;
      AtomicInteger created = new AtomicInteger();
      AtomicInteger refused = new AtomicInteger();
      runThreads(8, t -> {
        try {
          collab.documents().create("races", id, Map.of("by", t));
          created.incrementAndGet();
        } catch (io.kyros.collab.PreconditionFailedException e) {
          assertThat(e.current()).isPresent();
          refused.incrementAndGet();
        }
      });
      assertThat(created.get()).isEqualTo(1);
      assertThat(refused.get()).isEqualTo(7);
    }
    assertThat(collab.events().read(0, EventFilter.all().types("document_created"), 1000)).hasSize(10);
  }
}
