package io.kyros.collab.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.IndexEntry;
import io.kyros.collab.spi.IndexQuery;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredEvent;
import io.kyros.collab.spi.Write;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * PostgreSQL's one-round-trip commit as one statement ({@link SingleStatement}), for commits that write every record
 * they expect. Which form a commit took shows in the statements prepared on its connection ({@link FaultyDataSource}).
 * These tests pin what the form must keep of the checked form: the clock read after the key locks, index entries
 * replaced, all or nothing across writes, and a conflict reported with a revision the record really had during the
 * call, never the expected one its snapshot still shows after the record changed.
 */
class SingleStatementTest {
  private static final String PREFIX = "single_";
  private static final RecordKey X = new RecordKey("c", "x");
  private static final RecordKey Y = new RecordKey("c", "y");
  /** The self-checked statement, sent as PostgreSQL's implicit transaction (without BEGIN and COMMIT). */
  private static final String STATEMENT = "WITH l AS MATERIALIZED (";
  /** The checked form's round trip, its key locks' statement first, between BEGIN and COMMIT. */
  private static final String LOCKS = InlineCommit.BEGIN + "; SELECT count(*) FROM";

  @Test
  void aCreateAndAnUpdateEachTakeOneStatementAndReplaceTheRecordsIndexEntries() {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, PREFIX)) {
      FaultyDataSource recorded = new FaultyDataSource(db.dataSource());
      try (JdbcStorage storage = db.recordedStorage(recorded)) {
        CommitResult.Committed created = committed(storage.commit(Commit.of(List.of(Expectation.absent(X)),
            List.of(Write.put(X, "{\"v\":1}", "h1", List.of(new IndexEntry("expires", "001")))),
            List.of(new NewEvent("acquired", "a", "t", "{\"n\":1}")))));
        assertThat(lastPrepared(recorded)).startsWith(STATEMENT).doesNotContain("COMMIT")
            .as("one statement in the round trip").doesNotContain("; ");
        CommitResult.Committed updated = committed(storage.commit(Commit.of(
            List.of(Expectation.revision(X, created.revisions().get(0))),
            List.of(Write.put(X, "{\"v\":2}", "h2", List.of(new IndexEntry("expires", "002")))),
            List.of(new NewEvent("renewed", "a", "t", "{\"n\":2}")))));
        assertThat(lastPrepared(recorded)).startsWith(STATEMENT);

        assertThat(updated.revisions().get(0)).isGreaterThan(created.revisions().get(0));
        assertThat(storage.read(X).orElseThrow().json()).isEqualTo("{\"v\":2}");
        assertThat(storage.scanIndex(IndexQuery.first("c", "expires", 10))).singleElement()
            .satisfies(hit -> assertThat(hit.key()).isEqualTo("002"));
        List<StoredEvent> events = storage.readEvents(0, 10);
        assertThat(events).extracting(StoredEvent::type).containsExactly("acquired", "renewed");
        assertThat(events).containsExactlyElementsOf(List.of(created.events().get(0), updated.events().get(0)));
        assertThat(events.get(1).ts()).isEqualTo(updated.committedAt());

        // a free record keeps no entry: the statement deletes the held one and inserts none
        committed(storage.commit(Commit.of(List.of(Expectation.revision(X, updated.revisions().get(0))),
            List.of(Write.put(X, "{\"v\":3}", "h3")), List.of())));
        assertThat(lastPrepared(recorded)).startsWith(STATEMENT);
        assertThat(storage.scanIndex(IndexQuery.first("c", "expires", 10))).isEmpty();
      }
    }
  }

  @Test
  void theCommitsTimeIsReadAfterTheKeyLocksAreGranted() throws Exception {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, PREFIX)) {
      FaultyDataSource recorded = new FaultyDataSource(db.dataSource());
      try (JdbcStorage storage = db.recordedStorage(recorded); Connection holder = db.dataSource().getConnection()) {
        long x = createdHoldingItsLock(storage, db, holder);
        CompletableFuture<CommitResult> waiting = CompletableFuture.supplyAsync(() -> storage.commit(Commit.of(
            List.of(Expectation.revision(X, x)), List.of(Write.put(X, "2", "h")),
            List.of(new NewEvent("e", "a", "t", "{}")))));
        Await.until("the commit to wait for the key's lock", () -> waitsForAnAdvisoryLock(db));
        Instant released = databaseNow(holder);
        holder.commit();

        CommitResult.Committed result = committed(waiting.get(60, TimeUnit.SECONDS));
        assertThat(result.committedAt()).isAfterOrEqualTo(released);
        assertThat(storage.readEvents(0, 10)).singleElement()
            .satisfies(e -> assertThat(e.ts()).isAfterOrEqualTo(released));
        assertThat(lastPrepared(recorded)).startsWith(STATEMENT);
      }
    }
  }

  @Test
  void aFailedLaterWriteUndoesTheEarlierOnesAndTheConflictIsReportedAsTheStatementPerStepFormReportsIt() {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, PREFIX)) {
      FaultyDataSource recorded = new FaultyDataSource(db.dataSource());
      try (JdbcStorage storage = db.recordedStorage(recorded)) {
        long x = committed(storage.commit(Commit.of(List.of(Expectation.absent(X)),
            List.of(Write.put(X, "1", "h", List.of(new IndexEntry("i", "k1")))), List.of()))).revisions().get(0);
        long y = committed(storage.commit(Commit.of(List.of(Expectation.absent(Y)), List.of(Write.put(Y, "1", "h")),
            List.of()))).revisions().get(0);
        long events = storage.lastEventId();
        int before = recorded.connections().size();

        // X's write changes its row inside the statement, Y's expects a revision Y does not have
        Expectation stale = Expectation.revision(Y, y + 1000);
        CommitResult result = storage.commit(Commit.of(List.of(Expectation.revision(X, x), stale),
            List.of(Write.put(X, "2", "h2", List.of(new IndexEntry("i", "k2"))), Write.put(Y, "2", "h2")),
            List.of(new NewEvent("e", "a", "t", "{}"))));
        List<String> prepared = recorded.connections().subList(before, recorded.connections().size()).stream()
            .flatMap(c -> c.prepared().stream()).toList();

        assertThat(result).isEqualTo(new CommitResult.Conflict(stale, y));
        assertThat(storage.read(X).orElseThrow().revision()).isEqualTo(x);
        assertThat(storage.read(X).orElseThrow().json()).isEqualTo("1");
        assertThat(storage.read(Y).orElseThrow().revision()).isEqualTo(y);
        assertThat(storage.scanIndex(IndexQuery.first("c", "i", 10))).singleElement()
            .satisfies(hit -> assertThat(hit.key()).isEqualTo("k1"));
        assertThat(storage.lastEventId()).isEqualTo(events);
        // the statement, then the checked form, whose check found the conflict
        assertThat(prepared).hasSize(2);
        assertThat(prepared).first().asString().startsWith(STATEMENT);
        assertThat(prepared).last().asString().startsWith(LOCKS);
      }
    }
  }

  @Test
  void aConflictOfTheFirstWriteIsReportedByTheStatementItself() {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, PREFIX)) {
      FaultyDataSource recorded = new FaultyDataSource(db.dataSource());
      try (JdbcStorage storage = db.recordedStorage(recorded)) {
        long x = committed(storage.commit(Commit.of(List.of(Expectation.absent(X)), List.of(Write.put(X, "1", "h")),
            List.of()))).revisions().get(0);
        long events = storage.lastEventId();
        int before = recorded.connections().size();

        Expectation absent = Expectation.absent(X);
        assertThat(storage.commit(Commit.of(List.of(absent), List.of(Write.put(X, "2", "h")),
            List.of(new NewEvent("e", "a", "t", "{}"))))).isEqualTo(new CommitResult.Conflict(absent, x));
        Expectation expired = Expectation.revisionUntil(X, x, Instant.parse("2020-01-01T00:00:00Z"));
        assertThat(storage.commit(Commit.of(List.of(expired), List.of(Write.put(X, "2", "h")), List.of())))
            .isEqualTo(new CommitResult.Conflict(expired, x));

        List<String> prepared = recorded.connections().subList(before, recorded.connections().size()).stream()
            .flatMap(c -> c.prepared().stream()).toList();
        assertThat(prepared).hasSize(2).allSatisfy(sql -> assertThat(sql).startsWith(STATEMENT));
        assertThat(storage.read(X).orElseThrow().revision()).isEqualTo(x);
        assertThat(storage.lastEventId()).isEqualTo(events);
      }
    }
  }

  /**
   * The record changes after the statement's snapshot is taken and before its key lock is granted: the snapshot
   * still shows the revision the commit expects, but the update finds the newer one. The conflict must name the
   * newer revision (read by the statement's locking read, which follows the record's updates), not the snapshot's,
   * which would claim the expected revision did not hold while reporting it as the record's; and it is reported by
   * the statement itself, as contention on a lease would have it, not by a second round trip.
   */
  @Test
  void aRecordChangedWhileTheCommitWaitedForItsLockIsReportedWithItsNewRevision() throws Exception {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, PREFIX)) {
      FaultyDataSource recorded = new FaultyDataSource(db.dataSource());
      try (JdbcStorage storage = db.recordedStorage(recorded); Connection holder = db.dataSource().getConnection()) {
        long x = createdHoldingItsLock(storage, db, holder);
        Expectation expected = Expectation.revision(X, x);
        CompletableFuture<CommitResult> waiting = CompletableFuture.supplyAsync(() -> storage.commit(Commit.of(
            List.of(expected), List.of(Write.put(X, "2", "h")), List.of(new NewEvent("e", "a", "t", "{}")))));
        Await.until("the commit to wait for the key's lock", () -> waitsForAnAdvisoryLock(db));
        long changed = x + 500;
        try (PreparedStatement ps = holder.prepareStatement("UPDATE " + db.prefix + "collab_records SET revision = ?,"
            + " value_json = 'outside' WHERE collection = ? AND id = ?")) {
          ps.setLong(1, changed);
          ps.setString(2, X.collection());
          ps.setString(3, X.id());
          assertThat(ps.executeUpdate()).isEqualTo(1);
        }
        int before = recorded.connections().size();
        holder.commit();

        assertThat(waiting.get(60, TimeUnit.SECONDS)).isEqualTo(new CommitResult.Conflict(expected, changed));
        assertThat(recorded.connections().subList(before - 1, recorded.connections().size()).stream()
            .flatMap(c -> c.prepared().stream()).filter(CommitTrips::beginsCommit).toList())
            .singleElement().asString().startsWith(STATEMENT);
        assertThat(storage.read(X).orElseThrow().json()).isEqualTo("outside");
        assertThat(storage.lastEventId()).isZero();
      }
    }
  }

  @Test
  void aCommitExpectingARecordItDoesNotWriteTakesTheCheckedFormInOneRoundTrip() {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, PREFIX)) {
      FaultyDataSource recorded = new FaultyDataSource(db.dataSource());
      try (JdbcStorage storage = db.recordedStorage(recorded)) {
        long x = committed(storage.commit(Commit.of(List.of(Expectation.absent(X)),
            List.of(Write.put(X, "1", "h", List.of(new IndexEntry("i", "k1")))), List.of()))).revisions().get(0);
        int before = recorded.connections().size();

        // Y is expected absent and not written (as a completion expects its task's waiter record)
        CommitResult.Committed result = committed(storage.commit(Commit.of(
            List.of(Expectation.revision(X, x), Expectation.absent(Y)),
            List.of(Write.put(X, "2", "h2", List.of(new IndexEntry("i", "k2")))),
            List.of(new NewEvent("e", "a", "t", "{}")))));
        long y = committed(storage.commit(Commit.of(List.of(Expectation.absent(Y)), List.of(Write.put(Y, "1", "h")),
            List.of()))).revisions().get(0);
        long events = storage.lastEventId();
        Expectation absent = Expectation.absent(Y);
        CommitResult conflict = storage.commit(Commit.of(List.of(Expectation.revision(X, result.revisions().get(0)),
            absent), List.of(Write.put(X, "3", "h3")), List.of(new NewEvent("e", "a", "t", "{}"))));
        List<String> prepared = recorded.connections().subList(before, recorded.connections().size()).stream()
            .flatMap(c -> c.prepared().stream()).filter(CommitTrips::beginsCommit).toList();

        assertThat(prepared).hasSize(3);
        for (int i : new int[] {0, 2}) {
          assertThat(prepared.get(i)).startsWith(LOCKS).containsOnlyOnce("; WITH t AS MATERIALIZED (")
              .endsWith("; COMMIT");
        }
        assertThat(prepared.get(1)).startsWith(STATEMENT);
        assertThat(conflict).isEqualTo(new CommitResult.Conflict(absent, y));
        assertThat(storage.read(X).orElseThrow().json()).isEqualTo("2");
        assertThat(storage.scanIndex(IndexQuery.first("c", "i", 10))).singleElement()
            .satisfies(hit -> assertThat(hit.key()).isEqualTo("k2"));
        assertThat(storage.lastEventId()).isEqualTo(events);
        assertThat(storage.readEvents(0, 10)).containsExactlyElementsOf(result.events());
      }
    }
  }

  /**
   * Found in review: each event row carried its own subqueries (the time, a template's revision), which PostgreSQL
   * plans once per row, so planning grew with the square of the rows (an append of 16,000 events took 10 s). The
   * statement's size, not its time, is pinned here: the time and each named revision are selected once.
   */
  @Test
  void theEventRowsOfALargeCommitCarryNoSubqueriesOfTheirOwn() {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, PREFIX)) {
      FaultyDataSource recorded = new FaultyDataSource(db.dataSource());
      try (JdbcStorage storage = db.recordedStorage(recorded)) {
        String[] appends = new String[2];
        String[] templated = new String[2];
        int[] sizes = {SingleStatement.ONE_ROW_MAX + 1, 500}; // both in the rows' form, a row per event
        for (int k = 0; k < 2; k++) {
          int n = sizes[k];
          CommitResult.Committed appended = committed(storage.commit(Commit.of(List.of(), List.of(),
              java.util.Collections.nCopies(n, new NewEvent("load", "a", "t", "{}")))));
          appends[k] = lastPrepared(recorded);
          RecordKey key = new RecordKey("c", "n" + n);
          Commit.EventSource named = revisions -> java.util.Collections.nCopies(n,
              new NewEvent("made", "a", "t", "{\"r\":" + revisions.get(0) + "}"));
          CommitResult.Committed created = committed(storage.commit(Commit.namingRevisions(
              List.of(Expectation.absent(key)), List.of(Write.put(key, "1", "h")), named)));
          templated[k] = lastPrepared(recorded);
          assertThat(appended.events()).hasSize(n);
          assertThat(storage.readEvents(appended.events().get(n - 1).id(), 1000)).hasSize(n)
              .allSatisfy(e -> assertThat(e.detailsJson()).isEqualTo("{\"r\":" + created.revisions().get(0) + "}"));
        }

        assertThat(appends[1]).startsWith(STATEMENT);
        assertThat(templated[1]).startsWith(STATEMENT);
        assertThat(subqueries(appends[1])).isEqualTo(subqueries(appends[0]));
        assertThat(subqueries(templated[1])).isEqualTo(subqueries(templated[0]));
      }
    }
  }

  /**
   * A commit of at most {@link SingleStatement#ONE_ROW_MAX} writes and events gets its revisions and event ids from
   * the statement's one row, a larger one (in writes, events or both) from a row per write and event; in both
   * statement forms (self-checked: it writes every record it expects; checked: it also expects a record absent that
   * it does not write), every revision and id is the one stored, revisions ascend in the writes' order and ids in the
   * events' order.
   */
  @Test
  void smallCommitsReadTheirRevisionsAndIdsFromOneRowLargerOnesFromARowEach() {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, PREFIX)) {
      FaultyDataSource recorded = new FaultyDataSource(db.dataSource());
      try (JdbcStorage storage = db.recordedStorage(recorded)) {
        int max = SingleStatement.ONE_ROW_MAX;
        for (boolean checked : new boolean[] {false, true}) {
          // writes and events: 1 and 1, 8 and 8 (one row), 9 and 9, 8 and 9 (a row each)
          for (int[] size : new int[][] {{1, 1}, {max, max}, {max + 1, max + 1}, {max, max + 1}}) {
            int n = size[0];
            int events = size[1];
            String name = (checked ? "checked" : "self") + n + "-" + events + "-";
            List<RecordKey> keys = java.util.stream.IntStream.range(0, n)
                .mapToObj(i -> new RecordKey("c", name + i)).toList();
            List<Expectation> expectations = new java.util.ArrayList<>();
            if (checked) {
              expectations.add(Expectation.absent(new RecordKey("c", name + "never")));
            }
            keys.forEach(k -> expectations.add(Expectation.absent(k)));
            CommitResult.Committed created = committed(storage.commit(Commit.of(expectations,
                keys.stream().map(k -> Write.put(k, "{\"k\":\"" + k.id() + "\"}", "h")).toList(),
                java.util.stream.IntStream.range(0, events)
                    .mapToObj(i -> new NewEvent("made", "a", name + i, "{}")).toList())));
            String statement = lastPrepared(recorded);
            boolean oneRow = n <= max && events <= max;
            assertThat(statement).as(name).startsWith(checked ? LOCKS : STATEMENT)
                .contains(checked ? ", f AS MATERIALIZED" : ", s AS MATERIALIZED");
            assertThat(statement.contains(", f AS MATERIALIZED")).as("%s: the checked form", name).isEqualTo(checked);
            assertThat(statement.contains("unnest(")).as("%s: the keys' locks from an array", name)
                .isEqualTo(expectations.size() > 1); // one key's lock is taken without one
            assertThat(statement.contains("UNION ALL")).as("%s: a row per write and event", name).isEqualTo(!oneRow);
            assertThat(statement.contains("(SELECT id FROM e LIMIT 1 OFFSET " + (events - 1) + ")"))
                .as("%s: one row", name).isEqualTo(oneRow);

            assertThat(created.revisions()).as(name).hasSize(n).isSorted().doesNotHaveDuplicates();
            for (int i = 0; i < n; i++) {
              assertThat(storage.read(keys.get(i)).orElseThrow().revision()).as(name)
                  .isEqualTo(created.revisions().get(i));
            }
            assertThat(created.events()).as(name).hasSize(events);
            List<StoredEvent> stored = storage.readEvents(created.events().get(0).id() - 1, 100);
            assertThat(stored.subList(0, events)).as(name).containsExactlyElementsOf(created.events());
            assertThat(stored.subList(0, events)).extracting(StoredEvent::target).as(name).containsExactlyElementsOf(
                java.util.stream.IntStream.range(0, events).mapToObj(i -> name + i).toList());
          }
        }
      }
    }
  }

  /**
   * An event row a trigger made outside Collab suppresses leaves its column of the one row NULL: the commit, which
   * did commit, is reported as broken by the check of its event ids, not returned with an event id of 0.
   */
  @Test
  void anEventRowSuppressedOutsideCollabIsReportedNotReturnedWithIdZero() {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, PREFIX)) {
      FaultyDataSource recorded = new FaultyDataSource(db.dataSource());
      try (JdbcStorage storage = db.recordedStorage(recorded)) {
        String function = db.prefix + "hide_event()";
        db.execute("CREATE OR REPLACE FUNCTION " + function + " RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                + " RETURN NULL; END $$",
            "CREATE TRIGGER " + db.prefix + "hide_event BEFORE INSERT ON " + db.prefix + "collab_events FOR EACH ROW"
                + " WHEN (NEW.target = 'hidden') EXECUTE FUNCTION " + function);
        try {
          assertThatThrownBy(() -> storage.commit(Commit.of(List.of(Expectation.absent(X)),
              List.of(Write.put(X, "1", "h")), List.of(new NewEvent("made", "a", "hidden", "{}")))))
              .hasStackTraceContaining("committed, but the 1 events got ids [], not one each in ascending order");
          assertThat(lastPrepared(recorded)).startsWith(STATEMENT).contains("(SELECT id FROM e LIMIT 1 OFFSET 0)");
        } finally {
          db.execute("DROP TRIGGER " + db.prefix + "hide_event ON " + db.prefix + "collab_events",
              "DROP FUNCTION " + function);
        }
      }
    }
  }

  private static int subqueries(String sql) {
    return sql.split("\\(SELECT ", -1).length - 1;
  }

  /**
   * Found in review: with parameters sent untyped ({@code stringtype=unspecified}) pgjdbc describes a statement
   * once it has run it a few times, and then forces a Sync (a round trip of its own) before a statement whose result
   * has a column of unbounded width, such as the arrays the statement first returned. Its rows of {@code BIGINT}s
   * force none; the commits are counted from the driver's log.
   */
  @Test
  void withUntypedParametersTheStatementStaysInOneRoundTrip() {
    java.util.logging.Logger driver = java.util.logging.Logger.getLogger("org.postgresql.core.v3.QueryExecutorImpl");
    java.util.logging.Level level = driver.getLevel();
    List<String> forced = new java.util.concurrent.CopyOnWriteArrayList<>();
    java.util.logging.Handler handler = new java.util.logging.Handler() {
      @Override
      public void publish(java.util.logging.LogRecord r) {
        if (r.getMessage() != null && r.getMessage().startsWith("Forcing Sync")) {
          forced.add(r.getMessage());
        }
      }

      @Override
      public void flush() {}

      @Override
      public void close() {}
    };
    driver.setLevel(java.util.logging.Level.FINEST);
    driver.addHandler(handler);
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, PREFIX, 2,
        c -> c.addDataSourceProperty("stringtype", "unspecified"));
        JdbcStorage storage = db.builder().listenNotify(false).build()) {
      long x = committed(storage.commit(Commit.of(List.of(Expectation.absent(X)),
          List.of(Write.put(X, "{}", "h", List.of(new IndexEntry("i", "k")))), List.of()))).revisions().get(0);
      for (int i = 0; i < 10; i++) {
        if (i == 5) {
          forced.clear(); // by now the driver has described the statement
        }
        x = committed(storage.commit(Commit.of(List.of(Expectation.revision(X, x)),
            List.of(Write.put(X, "{}", "h", List.of(new IndexEntry("i", "k" + i)))),
            List.of(new NewEvent("e", "a", "t", "{}"))))).revisions().get(0);
      }
      assertThat(forced).isEmpty();
      assertThat(storage.readEvents(0, 100)).hasSize(10);
    } finally {
      driver.removeHandler(handler);
      driver.setLevel(level);
    }
  }

  @Test
  void anAppendWithoutWritesIsOneStatement() {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, PREFIX)) {
      FaultyDataSource recorded = new FaultyDataSource(db.dataSource());
      try (JdbcStorage storage = db.recordedStorage(recorded)) {
        CommitResult.Committed result = committed(storage.commit(Commit.of(List.of(), List.of(),
            List.of(new NewEvent("a", "x", "t", "{}"), new NewEvent("b", "x", "t", "{}")))));
        assertThat(lastPrepared(recorded)).startsWith(STATEMENT).contains("pg_current_xact_id()");
        assertThat(result.events()).extracting(StoredEvent::id).isSorted().doesNotHaveDuplicates();
        assertThat(storage.readEvents(0, 10)).containsExactlyElementsOf(result.events());
      }
    }
  }

  /**
   * Creates record X, then takes its key's lock on {@code holder} in a transaction left open.
   *
   * @return X's revision
   */
  private static long createdHoldingItsLock(JdbcStorage storage, TestDatabase db, Connection holder)
      throws SQLException {
    long x = committed(storage.commit(Commit.of(List.of(Expectation.absent(X)), List.of(Write.put(X, "1", "h")),
        List.of()))).revisions().get(0);
    holder.setAutoCommit(false);
    try (Statement s = holder.createStatement()) {
      s.execute("SELECT pg_advisory_xact_lock(" + InlineCommit.lockKey(db.prefix, X) + ")");
    }
    return x;
  }

  private static boolean waitsForAnAdvisoryLock(TestDatabase db) {
    try (Connection c = db.dataSource().getConnection(); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            + " AND wait_event = 'advisory' AND datname = current_database()")) {
      rs.next();
      return rs.getLong(1) > 0;
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  private static Instant databaseNow(Connection c) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT")) {
      rs.next();
      return Instant.EPOCH.plusNanos(rs.getLong(1) * 1000L);
    }
  }

  /** @return the statement last prepared that began a commit (its first round trip) */
  private static String lastPrepared(FaultyDataSource recorded) {
    List<String> commits = recorded.connections().stream().flatMap(c -> c.prepared().stream())
        .filter(CommitTrips::beginsCommit).toList();
    return commits.get(commits.size() - 1);
  }

  private static CommitResult.Committed committed(CommitResult result) {
    assertThat(result).isInstanceOf(CommitResult.Committed.class);
    return (CommitResult.Committed) result;
  }
}
