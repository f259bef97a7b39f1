package io.kyros.collab.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredEvent;
import io.kyros.collab.spi.Write;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The commit-order gap problem of SQL logs: 8 concurrent appenders on two "nodes" (storages with their own pools),
 * their commits writing a record or not, with an expectation or not (on PostgreSQL, every form a commit takes:
 * {@link InlineCommit}'s two round trips and {@link SingleStatement}'s one statement), while 3 readers, each a storage of its own on a third pool, tail the log by id
 * with {@code readEvents(after, ...)}. Every reader sees every acknowledged event exactly once, in id order, and never
 * an id below one it already passed.
 *
 * <p>On PostgreSQL the appenders' commits run in parallel (ids from a sequence, so they become visible out of order),
 * and a ninth writer, on raw JDBC, inserts events the way a commit does (its xid first, then ids from the sequence)
 * and holds them while three more commits are acknowledged, then commits or rolls back: ids in flight while later
 * ones are visible, that appear later or are missing for good. Readers must wait for the first and pass the second. With the horizon check
 * disabled ({@code EventHorizon.read} returning every visible row), this test fails: docs/jdbc.md has the output.
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
        HikariDataSource readerNode = db.newPool("gap_readers", READERS * 2, c -> {});
        JdbcStorage one = db.builder().build();
        JdbcStorage two = JdbcStorage.builder(otherNode).tablePrefix(db.prefix).build()) {
      AtomicInteger total = new AtomicInteger(Integer.MAX_VALUE); // known once every writer is done
      Set<Long> acked = ConcurrentHashMap.newKeySet();
      Semaphore acks = new Semaphore(0);
      AtomicBoolean appending = new AtomicBoolean(true);
      AtomicInteger abandoned = new AtomicInteger();
      List<JdbcStorage> readers = new ArrayList<>();
      ExecutorService pool = Executors.newFixedThreadPool(APPENDERS + READERS + 1);
      try {
        List<Future<List<Long>>> tails = new ArrayList<>();
        for (int r = 0; r < READERS; r++) {
          JdbcStorage reader = JdbcStorage.builder(readerNode).tablePrefix(db.prefix)
              .pollInterval(Duration.ofMillis(5)).build();
          readers.add(reader);
          tails.add(pool.submit(() -> tail(reader, total)));
        }
        Future<?> abandoner = kind == TestDatabase.Kind.POSTGRESQL
            ? pool.submit(() -> holdIds(db, acks, appending, acked, abandoned)) : null;
        List<Future<?>> appenders = new ArrayList<>();
        for (int a = 0; a < APPENDERS; a++) {
          JdbcStorage node = a % 2 == 0 ? one : two;
          int appender = a;
          appenders.add(pool.submit(() -> {
            for (int i = 0; i < COMMITS; i++) {
              NewEvent e = new NewEvent("load", "appender-" + appender, "t/" + i, "{}");
              RecordKey key = new RecordKey("gap", "a" + appender + "-" + i);
              // on PostgreSQL, the three forms of a commit: two round trips (a write without an expectation),
              // one statement writing a record (SingleStatement), one statement with events only
              Commit commit = switch (i % 3) {
                case 0 -> Commit.of(List.of(), List.of(Write.put(key, "{}", "h")), List.of(e, e));
                case 1 -> Commit.of(List.of(Expectation.absent(key)), List.of(Write.put(key, "{}", "h")),
                    List.of(e, e));
                default -> Commit.of(List.of(), List.of(), List.of(e, e));
              };
              CommitResult.Committed c = (CommitResult.Committed) node.commit(commit);
              c.events().forEach(s -> assertThat(acked.add(s.id())).isTrue());
              acks.release();
            }
            return null;
          }));
        }
        for (Future<?> f : appenders) {
          f.get(2, TimeUnit.MINUTES);
        }
        appending.set(false);
        acks.release(Integer.MAX_VALUE / 2); // the abandoner's last wait ends
        if (abandoner != null) {
          abandoner.get(1, TimeUnit.MINUTES);
          assertThat(abandoned.get()).as("ids taken and rolled back").isPositive();
          assertThat(acked).as("commits of held ids").hasSizeGreaterThan(APPENDERS * COMMITS * 2);
        } else {
          assertThat(acked).hasSize(APPENDERS * COMMITS * 2);
        }
        total.set(acked.size());
        for (Future<List<Long>> tail : tails) {
          List<Long> seen = tail.get(2, TimeUnit.MINUTES);
          assertThat(seen).hasSize(total.get()).doesNotHaveDuplicates().isSorted();
          assertThat(seen).containsExactlyInAnyOrderElementsOf(acked);
        }
      } finally {
        pool.shutdownNow();
        readers.forEach(JdbcStorage::close);
      }
    }
  }

  /**
   * Until the appenders are done, as a slow commit would: in a transaction, takes an xid and inserts one to three
   * events with ids from the sequence, holds them until three more commits are acknowledged, and then commits (the
   * ids go to {@code acked}) or, every other time, rolls back (they are missing for good).
   */
  private static Void holdIds(TestDatabase db, Semaphore acks, AtomicBoolean appending, Set<Long> acked,
      AtomicInteger abandoned) throws Exception {
    try (Connection c = db.connect()) {
      c.setAutoCommit(false);
      for (int round = 0; appending.get(); round++) {
        List<Long> ids = new ArrayList<>();
        try (Statement s = c.createStatement()) {
          s.executeQuery("SELECT pg_current_xact_id()").close();
          for (int i = 0; i <= round % 3; i++) {
            try (ResultSet rs = s.executeQuery("INSERT INTO " + db.prefix + "collab_events (id, ts_micros,"
                + " event_type, actor, target, details) VALUES (nextval('" + db.prefix + "collab_event_seq'), 0,"
                + " 'held', 'holder', 't', '{}') RETURNING id")) {
              rs.next();
              ids.add(rs.getLong(1));
            }
          }
        }
        acks.acquire(3);
        if (round % 2 == 0) {
          c.commit();
          acked.addAll(ids);
        } else {
          c.rollback();
          abandoned.addAndGet(ids.size());
        }
      }
    }
    return null;
  }

  /** Tails the log from the start, in small pages, until it has seen {@code total} events. */
  private static List<Long> tail(JdbcStorage storage, AtomicInteger total) throws InterruptedException {
    List<Long> seen = new ArrayList<>();
    long after = 0;
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
    while (seen.size() < total.get() && System.nanoTime() < deadline) {
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
