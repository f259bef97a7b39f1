package io.kyros.collab.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.conformance.CommitGate;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredEvent;
import io.kyros.collab.spi.StoredRecord;
import io.kyros.collab.spi.Write;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Group commit on the databases whose commits are serialized ({@link CommitGroups}): commits made while one runs
 * share the next transaction on the real database, and under load from many threads every commit still gets exactly
 * the result it would have alone: increments expected at a revision are never lost or doubled, conflicts are
 * reported and retried, every committed event is in the log once, with the id and content its commit returned.
 */
class GroupCommitTest {
  private static final String PREFIX = "groupcommit_";
  private static final Duration PATIENCE = Duration.ofSeconds(60);

  @ParameterizedTest
  @EnumSource(value = TestDatabase.Kind.class, names = {"MARIADB", "H2", "SQLITE"})
  void commitsMadeWhileOneRunsShareTheNextTransaction(TestDatabase.Kind kind) throws Exception {
    try (TestDatabase db = TestDatabase.open(kind, PREFIX)) {
      FaultyDataSource recorded = new FaultyDataSource(db.dataSource());
      ExecutorService threads = Executors.newCachedThreadPool();
      try (JdbcStorage storage = db.builder().build();
          JdbcStorage counted = JdbcStorage.builder(recorded.dataSource()).tablePrefix(PREFIX)
              .dialect(kind.dialect).build()) {
        CommitGate gate = new CommitGate(PATIENCE);
        Future<CommitResult> held = threads.submit(() -> counted.commit(gate.hold(create("held"))));
        gate.awaitHeld();
        List<Thread> waiting = new ArrayList<>();
        List<Future<CommitResult>> queued = new ArrayList<>();
        for (String id : List.of("b", "c", "d")) {
          queued.add(threads.submit(() -> {
            synchronized (waiting) {
              waiting.add(Thread.currentThread());
            }
            return counted.commit(create(id));
          }));
          int n = queued.size();
          Await.until(id + " waiting in the queue", () -> {
            synchronized (waiting) {
              return waiting.size() == n && waiting.stream().allMatch(CommitGroupsTest::waitsInQueue);
            }
          });
        }
        gate.open();

        assertThat(held.get(PATIENCE.toSeconds(), TimeUnit.SECONDS)).isInstanceOf(CommitResult.Committed.class);
        List<StoredEvent> events = new ArrayList<>();
        for (Future<CommitResult> f : queued) {
          CommitResult r = f.get(PATIENCE.toSeconds(), TimeUnit.SECONDS);
          assertThat(r).isInstanceOf(CommitResult.Committed.class);
          events.addAll(((CommitResult.Committed) r).events());
        }
        long transactions = recorded.connections().stream().filter(c -> c.log().contains("commit")).count();
        assertThat(transactions).as("the held commit's transaction, then one for b, c and d").isEqualTo(2);
        assertThat(events).extracting(StoredEvent::target).containsExactly("b", "c", "d");
        assertThat(storage.readEvents(events.get(0).id() - 1, 10)).containsExactlyElementsOf(events);
        for (String id : List.of("held", "b", "c", "d")) {
          assertThat(storage.read(new RecordKey("g", id))).isPresent();
        }
      } finally {
        threads.shutdownNow();
      }
    }
  }

  @ParameterizedTest
  @EnumSource(value = TestDatabase.Kind.class, names = {"MARIADB", "H2", "SQLITE"})
  void manyThreadsIncrementingSharedCountersLoseNothingAndSeeEveryEventOnce(TestDatabase.Kind kind)
      throws Exception {
    int threadCount = 8;
    int increments = 25;
    List<RecordKey> counters = List.of(new RecordKey("n", "0"), new RecordKey("n", "1"), new RecordKey("n", "2"));
    try (TestDatabase db = TestDatabase.open(kind, PREFIX); JdbcStorage storage = db.builder().build()) {
      for (RecordKey k : counters) {
        storage.commit(Commit.of(List.of(Expectation.absent(k)), List.of(Write.put(k, "0", "h0")), List.of()));
      }
      long start = storage.lastEventId();
      ExecutorService threads = Executors.newFixedThreadPool(threadCount);
      List<Callable<List<StoredEvent>>> work = new ArrayList<>();
      for (int t = 0; t < threadCount; t++) {
        int thread = t;
        work.add(() -> {
          List<StoredEvent> mine = new ArrayList<>();
          for (int i = 0; i < increments; i++) {
            RecordKey k = counters.get((thread + i) % counters.size());
            while (true) {
              StoredRecord r = storage.read(k).orElseThrow();
              long next = Long.parseLong(r.json()) + 1;
              String details = "{\"counter\":\"" + k.id() + "\",\"value\":" + next + "}";
              CommitResult result = storage.commit(new Commit(List.of(Expectation.revision(k, r.revision())),
                  List.of(Write.put(k, Long.toString(next), "h" + next), Write.put(new RecordKey("own",
                      thread + "-" + i), "1", "h1")),
                  revisions -> List.of(new NewEvent("inc", "t" + thread, k.id(), details))));
              if (result instanceof CommitResult.Committed c) {
                assertThat(c.revisions().get(0)).isGreaterThan(r.revision());
                mine.addAll(c.events());
                break;
              }
              CommitResult.Conflict conflict = (CommitResult.Conflict) result;
              assertThat(conflict.failed().key()).isEqualTo(k);
              assertThat(conflict.actualRevision()).isNotEqualTo(r.revision());
            }
          }
          return mine;
        });
      }
      List<StoredEvent> returned = new ArrayList<>();
      try {
        for (Future<List<StoredEvent>> f : threads.invokeAll(work)) {
          returned.addAll(f.get(PATIENCE.toSeconds(), TimeUnit.SECONDS));
        }
      } finally {
        threads.shutdownNow();
      }

      List<StoredEvent> log = new ArrayList<>();
      for (long position = start; ; ) {
        List<StoredEvent> page = storage.readEvents(position, 100);
        if (page.isEmpty()) {
          break;
        }
        log.addAll(page);
        position = page.get(page.size() - 1).id();
      }
      assertThat(log).hasSize(threadCount * increments).containsExactlyInAnyOrderElementsOf(returned);
      assertThat(log).extracting(StoredEvent::id).isSorted().doesNotHaveDuplicates();
      long total = 0;
      for (RecordKey k : counters) {
        long value = Long.parseLong(storage.read(k).orElseThrow().json());
        total += value;
        // each counter's increments, in log order, count 1, 2, ..., value: none lost, none doubled
        List<String> values = log.stream().filter(e -> e.target().equals(k.id())).map(StoredEvent::detailsJson)
            .toList();
        List<String> expected = new ArrayList<>();
        for (long v = 1; v <= value; v++) {
          expected.add("{\"counter\":\"" + k.id() + "\",\"value\":" + v + "}");
        }
        assertThat(values).containsExactlyElementsOf(expected);
      }
      assertThat(total).isEqualTo(threadCount * increments);
      Optional<StoredRecord> last = storage.read(new RecordKey("own", (threadCount - 1) + "-" + (increments - 1)));
      assertThat(last).isPresent();
    }
  }

  private static Commit create(String id) {
    RecordKey k = new RecordKey("g", id);
    return Commit.of(List.of(Expectation.absent(k)), List.of(Write.put(k, "\"" + id + "\"", "h")),
        List.of(new NewEvent("created", "test", id, "{}")));
  }
}
