package io.kyros.collab.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredEvent;
import io.kyros.collab.spi.Write;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The commit-order gap problem of SQL logs: 8 concurrent appenders on two "nodes" (storages with their own pools),
 * each commit also writing a record, while 3 readers on a third node tail the log by id with
 * {@code readEvents(after, ...)}. Every reader sees every acknowledged event exactly once, in id order, and never
 * an id below one it already passed.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class TailingGapTest {
  private static final int APPENDERS = 8;
  private static final int COMMITS = 60;
  private static final int READERS = 3;

  @ParameterizedTest
  @EnumSource(TestDatabase.Kind.class)
  void tailingReadersSeeEveryEventOnceInIdOrder(TestDatabase.Kind kind) throws Exception {
    try (TestDatabase db = TestDatabase.open(kind, "gap_", 4, c -> {});
        HikariDataSource otherNode = db.newPool("gap_node2", 4, c -> {});
        HikariDataSource readerNode = db.newPool("gap_readers", READERS, c -> {});
        JdbcStorage one = db.builder().build();
        JdbcStorage two = JdbcStorage.builder(otherNode).tablePrefix(db.prefix).build();
        JdbcStorage readers = JdbcStorage.builder(readerNode).tablePrefix(db.prefix)
            .pollInterval(Duration.ofMillis(5)).build()) {
      int total = APPENDERS * COMMITS * 2;
      Set<Long> acked = ConcurrentHashMap.newKeySet();
      ExecutorService pool = Executors.newFixedThreadPool(APPENDERS + READERS);
      try {
        List<Future<List<Long>>> tails = new ArrayList<>();
        for (int r = 0; r < READERS; r++) {
          tails.add(pool.submit(() -> tail(readers, total)));
        }
        List<Future<?>> appenders = new ArrayList<>();
        for (int a = 0; a < APPENDERS; a++) {
          JdbcStorage node = a % 2 == 0 ? one : two;
          int appender = a;
          appenders.add(pool.submit(() -> {
            for (int i = 0; i < COMMITS; i++) {
              NewEvent e = new NewEvent("load", "appender-" + appender, "t/" + i, "{}");
              RecordKey key = new RecordKey("gap", "a" + appender + "-" + i);
              CommitResult.Committed c = (CommitResult.Committed) node.commit(
                  Commit.of(List.of(), List.of(Write.put(key, "{}", "h")), List.of(e, e)));
              c.events().forEach(s -> assertThat(acked.add(s.id())).isTrue());
            }
            return null;
          }));
        }
        for (Future<?> f : appenders) {
          f.get(2, TimeUnit.MINUTES);
        }
        assertThat(acked).hasSize(total);
        for (Future<List<Long>> tail : tails) {
          List<Long> seen = tail.get(2, TimeUnit.MINUTES);
          assertThat(seen).hasSize(total).doesNotHaveDuplicates().isSorted();
          assertThat(seen).containsExactlyInAnyOrderElementsOf(acked);
        }
      } finally {
        pool.shutdownNow();
      }
    }
  }

  /** Tails the log from the start, in small pages, until it has seen {@code total} events. */
  private static List<Long> tail(JdbcStorage storage, int total) throws InterruptedException {
    List<Long> seen = new ArrayList<>();
    long after = 0;
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
    while (seen.size() < total && System.nanoTime() < deadline) {
      List<StoredEvent> page = storage.readEvents(after, 7);
      for (StoredEvent e : page) {
        assertThat(e.id()).as("ids strictly increase").isGreaterThan(after);
        seen.add(e.id());
        after = e.id();
      }
      if (page.isEmpty()) {
        storage.awaitEvents(after, Duration.ofSeconds(1));
      }
    }
    return seen;
  }
}
