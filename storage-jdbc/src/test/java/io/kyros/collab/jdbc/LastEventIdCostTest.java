package io.kyros.collab.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.StoredEvent;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * On PostgreSQL {@code lastEventId()} finds the end of the readable run by walking the log from {@link EventHorizon}'s
 * settled bound. In a log without gaps nothing marked after the storage's first call, so the bound stayed where it was
 * and every later call walked every event appended since (0.6 ms at 100 events, 178 ms at 200,100, found in review).
 * A look that walks a run now settles it, and a long walk is cut into pieces of {@link EventHorizon#WALK} ids that
 * mark.
 *
 * <p>The cost is measured without a clock: as the rows PostgreSQL's statistics say were read from the events table
 * (tuples returned by its indexes' scans plus tuples read by sequential scans). The storage's pool has one connection,
 * the one the test asks those statistics on, after forcing that backend to flush its own ({@code
 * pg_stat_force_next_flush()}, PostgreSQL 15 and later).
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class LastEventIdCostTest {

  private static void append(JdbcStorage storage, int n) {
    List<NewEvent> events = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      events.add(new NewEvent("bulk", "a", "t" + i, "{}"));
    }
    storage.commit(Commit.of(List.of(), List.of(), events));
  }

  /** @return the rows read from the events table so far, by every backend whose statistics are flushed */
  private static long rowsRead(TestDatabase db) {
    return db.postgresRowsRead("collab_events");
  }

  /** @return the rows the call read from the events table, having checked that it returned {@code expected} */
  private static long rowsReadBy(TestDatabase db, LongSupplier lastEventId, long expected) {
    long before = rowsRead(db);
    assertThat(lastEventId.getAsLong()).isEqualTo(expected);
    return rowsRead(db) - before;
  }

  @Test
  void lastEventIdReadsAsManyRowsAfter100000EventsAsAfter100() {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, "lastcost_", 1, c -> {});
        JdbcStorage storage = db.builder().listenNotify(false).build()) {
      assertThat(storage.lastEventId()).isZero();
      append(storage, 100);
      long firstSmall = rowsReadBy(db, storage::lastEventId, 100);
      long small = rowsReadBy(db, storage::lastEventId, 100);
      append(storage, 1);
      long smallPlusOne = rowsReadBy(db, storage::lastEventId, 101);

      append(storage, 50_000);
      append(storage, 50_000);
      long firstLarge = rowsReadBy(db, storage::lastEventId, 100_101);
      List<Long> large = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        large.add(rowsReadBy(db, storage::lastEventId, 100_101));
      }
      append(storage, 1);
      long largePlusOne = rowsReadBy(db, storage::lastEventId, 100_102);
      System.out.printf("rows read by lastEventId: %d, %d, %d (100 events: first look, again, one more); %d, %s, %d"
          + " (100,101 events: first look, again, one more)%n", firstSmall, small, smallPlusOne, firstLarge, large,
          largePlusOne);

      assertThat(large).as("rows read at 100,101 events, nothing new (at 100 events: %d)", small)
          .allSatisfy(n -> assertThat(n).isLessThanOrEqualTo(small));
      assertThat(largePlusOne).as("rows read at 100,102 events, one new (at 102 events: %d)", smallPlusOne)
          .isLessThanOrEqualTo(smallPlusOne);
      assertThat(small).as("rows read at 100 events, nothing new").isPositive().isLessThanOrEqualTo(10);
      // the first look after the 100,000 walks each of them at most once (an index entry and its successor's probe);
      // how much less depends on whether its mark settles at once, which every transaction of the cluster can delay
      assertThat(firstLarge).as("rows read by the first look after 100,000 new events")
          .isLessThanOrEqualTo(2L * 100_000 + 4L * EventHorizon.SHORT_WALKS + 20);
    }
  }

  /**
   * A look that settles the run it walked must stop at an id in flight: ids 1..n committed (n more than
   * {@link EventHorizon#WALK}, so the walk is cut and marks), n+1 held in an open transaction that took its xid first,
   * as a commit does, and later ids committed. {@code lastEventId()} stays at n however often it is asked, a reader
   * after n gets nothing, and once the held transaction commits both see n+1 and what follows it.
   */
  @Test
  void settlingAWalkedRunStopsAtAnIdInFlight() throws SQLException {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, "lastcost_gap_");
        JdbcStorage storage = db.builder().listenNotify(false).build();
        JdbcStorage reader = db.builder().listenNotify(false).build();
        Connection held = db.connect()) {
      assertThat(storage.lastEventId()).isZero();
      int n = 3 * EventHorizon.WALK + 5;
      append(storage, n);
      held.setAutoCommit(false);
      long heldId;
      try (Statement s = held.createStatement()) {
        s.executeQuery("SELECT pg_current_xact_id()").close();
        try (ResultSet rs = s.executeQuery("INSERT INTO " + db.prefix + "collab_events (id, ts_micros, event_type,"
            + " actor, target, details) VALUES (nextval('" + db.prefix + "collab_event_seq'), 0, 'held', 'holder',"
            + " 't', '{}') RETURNING id")) {
          rs.next();
          heldId = rs.getLong(1);
        }
      }
      assertThat(heldId).isEqualTo(n + 1);
      append(storage, 2 * EventHorizon.WALK);
      long end = n + 1 + 2 * EventHorizon.WALK;

      for (JdbcStorage s : List.of(storage, reader, storage)) { // the reader's first look walks from 0 and settles
        assertThat(s.lastEventId()).isEqualTo(n);
        assertThat(s.readEvents(n, 10)).isEmpty();
        assertThat(s.readEvents(n - 2, 10)).extracting(StoredEvent::id).containsExactly((long) n - 1, (long) n);
      }

      held.commit();
      for (JdbcStorage s : List.of(storage, reader)) {
        assertThat(s.lastEventId()).isEqualTo(end);
        assertThat(s.readEvents(n, 3)).extracting(StoredEvent::id)
            .containsExactly(heldId, heldId + 1, heldId + 2);
      }
    }
  }
}
