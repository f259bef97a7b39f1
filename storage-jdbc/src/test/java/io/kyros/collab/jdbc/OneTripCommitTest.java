package io.kyros.collab.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.Collab;
import io.kyros.collab.Document;
import io.kyros.collab.Event;
import io.kyros.collab.NewTask;
import io.kyros.collab.StorageException;
import io.kyros.collab.Task;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredEvent;
import io.kyros.collab.spi.Write;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * PostgreSQL's one-round-trip commits ({@link InlineCommit#tryOneTrip}): a commit whose events do not depend on the
 * revisions, or name them only by their text ({@link EventTemplates}), and whose writes all update records expected
 * at a revision or create records expected absent is sent at once, its expectations checked on the server. Which path a commit took shows in the statements prepared on its connection (one per round trip,
 * recorded by {@link FaultyDataSource}). These tests pin that the one round trip gives the results the general path
 * gives: the same conflict (the first expectation that fails, with the key's revision, reported from the check's row:
 * nothing is written and no id taken), the same time bounds, revisions from the sequence in the order commits
 * happen, the events at the commit's time; a row count that does not hold is left to the general path.
 */
class OneTripCommitTest {
  private static final String PREFIX = "onetrip_";
  private static final RecordKey X = new RecordKey("c", "x");
  private static final RecordKey Y = new RecordKey("c", "y");
  private static final NewEvent EVENT = new NewEvent("e", "a", "t", "{}");

  @Test
  void anUpdateWithFixedEventsTakesOneRoundTripAndRevisionsFollowTheOrderOfCommits() {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, PREFIX)) {
      FaultyDataSource recorded = new FaultyDataSource(db.dataSource());
      try (JdbcStorage storage = db.recordedStorage(recorded)) {
        long x1 = revision(storage.commit(Commit.of(List.of(Expectation.absent(X)), List.of(Write.put(X, "1", "h1")),
            List.of(EVENT))));
        long y1 = revision(storage.commit(Commit.of(List.of(Expectation.absent(Y)), List.of(Write.put(Y, "1", "h1")),
            List.of())));

        int[] trips = new int[1];
        long x2 = revision(counted(recorded, trips, () -> storage.commit(Commit.of(
            List.of(Expectation.revision(X, x1), Expectation.revision(Y, y1)),
            List.of(Write.put(X, "2", "h2"), Write.put(Y, "2", "h2")), List.of(EVENT)))));

        assertThat(trips[0]).isEqualTo(1);
        List<FaultyDataSource.Calls> commits = recorded.connections().stream()
            .filter(c -> c.prepared().stream().anyMatch(CommitTrips::beginsCommit)).toList();
        assertThat(commits.get(commits.size() - 1).prepared()).as("one statement, an implicit transaction")
            .singleElement().matches(CommitTrips::implicit, "implicit");
        assertThat(List.of(x1, y1, x2)).isSorted().doesNotHaveDuplicates();
        assertThat(storage.read(X).orElseThrow().revision()).isEqualTo(x2);
        assertThat(storage.read(Y).orElseThrow().revision()).isEqualTo(x2 + 1); // the writes' order
        assertThat(storage.read(X).orElseThrow().json()).isEqualTo("2");
        long y3 = revision(storage.commit(Commit.of(List.of(Expectation.revision(Y, x2 + 1)),
            List.of(Write.put(Y, "3", "h3")), List.of())));
        assertThat(y3).isGreaterThan(x2 + 1);
      }
    }
  }

  @Test
  void commitsThatDoNotQualifyTakeTwoRoundTripsAndEventOnlyCommitsOne() {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, PREFIX)) {
      FaultyDataSource recorded = new FaultyDataSource(db.dataSource());
      try (JdbcStorage storage = db.recordedStorage(recorded)) {
        int[] trips = new int[1];
        long x1 = revision(counted(recorded, trips, () -> storage.commit(Commit.of(
            List.of(Expectation.absent(X)), List.of(Write.put(X, "1", "h1")), List.of(EVENT)))));
        assertThat(trips[0]).as("a create").isEqualTo(1);
        counted(recorded, trips, () -> storage.commit(new Commit(List.of(Expectation.revision(X, x1)),
            List.of(Write.put(X, "1", "h1")), revisions -> List.of(new NewEvent("e", "a", "t", "{\"r\":"
                + revisions.get(0) + "}")))));
        assertThat(trips[0]).as("events built from the revisions without the promise of namingRevisions").isEqualTo(2);
        long x1b = storage.read(X).orElseThrow().revision();
        long x2 = revision(counted(recorded, trips, () -> storage.commit(Commit.namingRevisions(
            List.of(Expectation.revision(X, x1b)), List.of(Write.put(X, "2", "h2")),
            revisions -> List.of(new NewEvent("e", "a", "t", "{\"digits\":" + Long.toString(revisions.get(0)).length()
                + "}"))))));
        assertThat(trips[0]).as("events depending on the revisions other than by their text").isEqualTo(2);
        counted(recorded, trips, () -> storage.commit(Commit.of(List.of(), List.of(Write.put(Y, "1", "h1")),
            List.of())));
        assertThat(trips[0]).as("a write without an expectation").isEqualTo(2);
        counted(recorded, trips, () -> storage.commit(Commit.of(List.of(Expectation.revision(X, x2)),
            List.of(Write.delete(X)), List.of(EVENT))));
        assertThat(trips[0]).as("a delete").isEqualTo(2);
        counted(recorded, trips, () -> storage.commit(Commit.of(List.of(), List.of(), List.of(EVENT, EVENT))));
        assertThat(trips[0]).as("events only").isEqualTo(1);
        assertThat(storage.read(X)).isEmpty();
        assertThat(storage.readEvents(0, 10)).hasSize(6).extracting(StoredEvent::id).isSorted();
        assertThat(storage.readEvents(0, 10).get(2).detailsJson()).isEqualTo("{\"digits\":" + Long.toString(x2).length()
            + "}");
      }
    }
  }

  @Test
  void createsAndEventsNamingTheRevisionsTakeOneRoundTripAndStoreTheEventsBuiltFromTheRealRevisions() {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, PREFIX)) {
      FaultyDataSource recorded = new FaultyDataSource(db.dataSource());
      try (JdbcStorage storage = db.recordedStorage(recorded)) {
        long y1 = revision(storage.commit(Commit.of(List.of(), List.of(Write.put(Y, "1", "h1")), List.of())));
        Commit.EventSource named = revisions -> List.of(
            new NewEvent("created", "a", "tasks/x", "{\"etag\":\"\\\"" + revisions.get(0) + "-h\\\"\",\"y\":["
                + revisions.get(1) + "," + revisions.get(1) + "],\"n\":7}"),
            new NewEvent("plain", "a", "t", "{\"fence\":3}"),
            new NewEvent("second", "a", "t", "{\"x\":" + revisions.get(0) + "}"));
        Commit commit = Commit.namingRevisions(List.of(Expectation.absent(X), Expectation.revision(Y, y1)),
            List.of(Write.put(X, "{\"v\":1}", "h"), Write.put(Y, "2", "h2")), named);

        int[] trips = new int[1];
        CommitResult.Committed result = (CommitResult.Committed) counted(recorded, trips, () -> storage.commit(commit));

        assertThat(trips[0]).isEqualTo(1);
        long x = result.revisions().get(0);
        long y = result.revisions().get(1);
        assertThat(y).isGreaterThan(x).isGreaterThan(y1);
        assertThat(storage.read(X).orElseThrow().revision()).isEqualTo(x);
        assertThat(storage.read(X).orElseThrow().json()).isEqualTo("{\"v\":1}");
        assertThat(storage.read(Y).orElseThrow().revision()).isEqualTo(y);
        List<NewEvent> expected = named.build(List.of(x, y));
        List<StoredEvent> stored = storage.readEvents(0, 10);
        assertThat(stored).hasSize(3).containsExactlyElementsOf(result.events());
        for (int i = 0; i < 3; i++) {
          assertThat(new NewEvent(stored.get(i).type(), stored.get(i).actor(), stored.get(i).target(),
              stored.get(i).detailsJson())).isEqualTo(expected.get(i));
        }
        assertThat(stored.get(0).detailsJson()).contains("\\\"" + x + "-h\\\"").contains("[" + y + "," + y + "]");

        // the record exists now: the same create conflicts, reported from the check, in one round trip that ends
        // its own (empty, implicit) transaction (the general path would find it in its lock trip and send a ROLLBACK)
        Commit.EventSource one = revisions -> List.of(new NewEvent("created", "a", "tasks/x",
            "{\"etag\":\"\\\"" + revisions.get(0) + "-h\\\"\"}"));
        CommitResult again = counted(recorded, trips, () -> storage.commit(Commit.namingRevisions(
            List.of(Expectation.absent(X)), List.of(Write.put(X, "{\"v\":2}", "h")), one)));
        assertThat(trips[0]).isEqualTo(1);
        assertThat(again).isEqualTo(new CommitResult.Conflict(Expectation.absent(X), x));
        List<FaultyDataSource.Calls> began = recorded.connections().stream()
            .filter(c -> c.prepared().stream().anyMatch(CommitTrips::beginsCommit)).toList();
        assertThat(began.get(began.size() - 1).log()).doesNotContain("createStatement");
        assertThat(storage.lastEventId()).isEqualTo(stored.get(2).id());
      }
    }
  }

  @Test
  void documentAndTaskWritesOfCoreTakeOneRoundTripAndTheirEventsNameTheirRevisions() {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, PREFIX)) {
      FaultyDataSource recorded = new FaultyDataSource(db.dataSource());
      try (JdbcStorage storage = db.recordedStorage(recorded);
          Collab collab = Collab.builder().storage(storage).holder("h").build()) {
        int[] trips = new int[1];
        Document[] doc = new Document[1];
        counted(recorded, trips, () -> {
          doc[0] = collab.documents().create("c", "d", Map.of("n", 1));
          return null;
        });
        assertThat(trips[0]).as("a document create").isEqualTo(1);
        counted(recorded, trips, () -> {
          doc[0] = collab.documents().replace("c", "d", Map.of("n", 2), doc[0].etag());
          return null;
        });
        assertThat(trips[0]).as("a document replace").isEqualTo(1);
        Task[] task = new Task[1];
        counted(recorded, trips, () -> {
          task[0] = collab.tasks().create(NewTask.of("t").withId("t"));
          return null;
        });
        assertThat(trips[0]).as("a task create").isEqualTo(1);

        List<Event> events = collab.events().read(0, 10);
        assertThat(events).extracting(Event::type).containsExactly("document_created", "document_replaced",
            "task_created");
        assertThat(events.get(1).details().get("revision").asLong()).isEqualTo(doc[0].revision());
        assertThat(events.get(1).details().get("etag").asText()).isEqualTo(doc[0].etag().toString());
        assertThat(events.get(2).details().get("etag").asText()).isEqualTo(task[0].etag().toString());
      }
    }
  }

  @Test
  void aCreateThatInsertsNoRowInOneTripRollsBackAndIsReportedByTheGeneralPath() {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, PREFIX);
        JdbcStorage storage = db.builder().build()) {
      long events = storage.lastEventId();
      // changed outside Collab: an insert of the value "skip" inserts no row
      skipping(db, "INSERT", () -> assertThatThrownBy(() -> storage.commit(Commit.namingRevisions(
          List.of(Expectation.absent(X)), List.of(Write.put(X, "skip", "h1")),
          revisions -> List.of(new NewEvent("e", "a", "t", "{\"r\":" + revisions.get(0) + "}")))))
          .isInstanceOf(StorageException.class)
          .hasMessageContaining("the tables were changed outside Collab")
          .hasMessageContaining("nothing was committed"));
      assertThat(storage.read(X)).isEmpty();
      assertThat(storage.lastEventId()).isEqualTo(events);
      assertThat(revision(storage.commit(Commit.of(List.of(Expectation.absent(X)),
          List.of(Write.put(X, "2", "h2")), List.of(EVENT))))).isPositive();
    }
  }

  @Test
  void aFailedExpectationIsTheConflictTheGeneralPathReportsAndCommitsNothing() {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, PREFIX)) {
      FaultyDataSource recorded = new FaultyDataSource(db.dataSource());
      try (JdbcStorage storage = db.recordedStorage(recorded)) {
        long x1 = revision(storage.commit(Commit.of(List.of(), List.of(Write.put(X, "1", "h1")), List.of())));
        long y1 = revision(storage.commit(Commit.of(List.of(), List.of(Write.put(Y, "1", "h1")), List.of())));
        long x2 = revision(storage.commit(Commit.of(List.of(Expectation.revision(X, x1)),
            List.of(Write.put(X, "2", "h2")), List.of())));
        long events = storage.lastEventId();
        RecordKey absent = new RecordKey("c", "z");
        // Y holds, X is stale, and so is the last: the first failing one in the commit's order is reported
        List<Expectation> expectations = List.of(Expectation.revision(Y, y1), Expectation.revision(X, x1),
            Expectation.revision(absent, 5));
        List<Write> writes = List.of(Write.put(X, "3", "h3"), Write.put(Y, "3", "h3"));

        int[] trips = new int[1];
        CommitResult oneTrip = counted(recorded, trips, () -> storage.commit(Commit.of(expectations, writes,
            List.of(EVENT))));
        // the failed commit took no event id (nor a revision): the next event gets the next id
        long appended = ((CommitResult.Committed) storage.commit(Commit.of(List.of(), List.of(), List.of(EVENT))))
            .events().get(0).id();
        CommitResult general = storage.commit(new Commit(expectations, writes, revisions -> List.of(EVENT)));
        CommitResult absentOne = storage.commit(Commit.of(List.of(Expectation.revision(absent, 5)),
            List.of(), List.of(EVENT)));

        assertThat(trips[0]).isEqualTo(1);
        assertThat(oneTrip).isEqualTo(new CommitResult.Conflict(expectations.get(1), x2)).isEqualTo(general);
        assertThat(absentOne).isEqualTo(new CommitResult.Conflict(Expectation.revision(absent, 5),
            Expectation.ABSENT));
        assertThat(storage.read(X).orElseThrow().json()).isEqualTo("2");
        assertThat(storage.read(Y).orElseThrow().revision()).isEqualTo(y1);
        assertThat(appended).isEqualTo(events + 1);
        assertThat(storage.lastEventId()).isEqualTo(appended);
      }
    }
  }

  @Test
  void aRowCountThatDoesNotHoldInOneTripRollsBackAndIsReportedByTheGeneralPath() {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, PREFIX);
        JdbcStorage storage = db.builder().build()) {
      long r1 = revision(storage.commit(Commit.of(List.of(), List.of(Write.put(X, "1", "h1")), List.of())));
      long events = storage.lastEventId();
      // changed outside Collab: an update of the record to the value "skip" changes no row
      skipping(db, "UPDATE", () -> assertThatThrownBy(() -> storage.commit(Commit.of(
          List.of(Expectation.revision(X, r1)), List.of(Write.put(X, "skip", "h2")), List.of(EVENT))))
          .isInstanceOf(StorageException.class)
          .hasMessageContaining("the tables were changed outside Collab")
          .hasMessageContaining("nothing was committed"));
      assertThat(storage.read(X).orElseThrow().revision()).isEqualTo(r1);
      assertThat(storage.lastEventId()).isEqualTo(events);
      assertThat(revision(storage.commit(Commit.of(List.of(Expectation.revision(X, r1)),
          List.of(Write.put(X, "2", "h2")), List.of(EVENT))))).isGreaterThan(r1);
    }
  }

  @Test
  void timeBoundsAreJudgedByTheClockTheCheckReads() {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, PREFIX)) {
      FaultyDataSource recorded = new FaultyDataSource(db.dataSource());
      try (JdbcStorage storage = db.recordedStorage(recorded)) {
        long r = revision(storage.commit(Commit.of(List.of(), List.of(Write.put(X, "1", "h1")), List.of())));
        Instant now = storage.now();
        List<Integer> trips = new ArrayList<>();
        int[] counter = new int[1];
        List<CommitResult> results = new ArrayList<>();
        for (Instant bound : List.of(now.minus(Duration.ofMinutes(1)), Instant.MIN, now.plus(Duration.ofMinutes(1)),
            Instant.MAX)) {
          long current = storage.read(X).orElseThrow().revision();
          CommitResult result = counted(recorded, counter, () -> storage.commit(Commit.of(
              List.of(Expectation.revisionUntil(X, current, bound)),
              List.of(Write.put(X, "{\"bound\":\"" + bound + "\"}", "h")), List.of(EVENT))));
          results.add(result);
          trips.add(counter[0]);
        }

        assertThat(results.get(0)).isEqualTo(new CommitResult.Conflict(
            Expectation.revisionUntil(X, r, now.minus(Duration.ofMinutes(1))), r));
        assertThat(results.get(1)).isEqualTo(new CommitResult.Conflict(Expectation.revisionUntil(X, r, Instant.MIN),
            r));
        assertThat(results.get(2)).isInstanceOf(CommitResult.Committed.class);
        assertThat(results.get(3)).isInstanceOf(CommitResult.Committed.class);
        assertThat(trips).containsOnly(1);
        assertThat(storage.read(X).orElseThrow().json()).contains(Instant.MAX.toString());
      }
    }
  }

  @Test
  void eventsOfAOneTripCommitCarryTheCommitsTimeAndAscendingIds() {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, PREFIX);
        JdbcStorage storage = db.builder().build()) {
      long r1 = revision(storage.commit(Commit.of(List.of(), List.of(Write.put(X, "1", "h1")), List.of())));
      Instant before = storage.now();

      CommitResult.Committed withWrite = (CommitResult.Committed) storage.commit(Commit.of(
          List.of(Expectation.revision(X, r1)), List.of(Write.put(X, "2", "h2")),
          List.of(new NewEvent("one", "a", "t", "{}"), new NewEvent("two", "a", "t", "{}"))));
      CommitResult.Committed eventsOnly = (CommitResult.Committed) storage.commit(Commit.of(List.of(), List.of(),
          List.of(new NewEvent("three", "a", "t", "{\"n\":3}"))));

      List<StoredEvent> stored = storage.readEvents(0, 10);
      assertThat(stored).extracting(StoredEvent::type).containsExactly("one", "two", "three");
      assertThat(stored.subList(0, 2)).containsExactlyElementsOf(withWrite.events());
      assertThat(stored.subList(2, 3)).containsExactlyElementsOf(eventsOnly.events());
      assertThat(stored).extracting(StoredEvent::ts).allSatisfy(ts -> assertThat(ts)
          .isAfterOrEqualTo(before.truncatedTo(ChronoUnit.MICROS)));
      assertThat(stored.get(0).ts()).isEqualTo(withWrite.committedAt()).isEqualTo(stored.get(1).ts());
      assertThat(stored.get(2).ts()).isEqualTo(eventsOnly.committedAt()).isAfterOrEqualTo(withWrite.committedAt());
      assertThat(stored).extracting(StoredEvent::id).isSorted().doesNotHaveDuplicates();
    }
  }

  @Test
  void microsecondsOfABoundBeyondTheirRangeAreClampedSoTheyCompareAsInstantsDo() {
    assertThat(InlineCommit.flooredMicros(Instant.MAX)).isEqualTo(Long.MAX_VALUE);
    assertThat(InlineCommit.flooredMicros(Instant.MIN)).isEqualTo(Long.MIN_VALUE);
    assertThat(InlineCommit.flooredMicros(Instant.ofEpochSecond(1, 999_999_999))).isEqualTo(1_999_999L);
    assertThat(InlineCommit.flooredMicros(Instant.ofEpochSecond(-1, 1_500))).isEqualTo(-999_999L);
  }

  /**
   * Runs {@code body} while a trigger skips every {@code operation} ({@code UPDATE} or {@code INSERT}) of the value
   * "skip" on the records table: a change made outside Collab, which makes such a write change no row.
   */
  private static void skipping(TestDatabase db, String operation, Runnable body) {
    db.whileRecordsTrigger("skip", operation, "NEW.value_json = 'skip'", "RETURN NULL;", body);
  }

  /**
   * Runs one commit, and puts into {@code trips[0]} the statements prepared on the connection it borrowed: the one
   * whose first round trip began a commit (the notifier's, borrowed after a commit with events, sends only its
   * NOTIFY). Checks that the commit left auto-commit on, and either went as PostgreSQL's implicit transaction, its
   * one statement without BEGIN and COMMIT (then, if the self-checked statement could not tell its conflict, the
   * checked form in a transaction of its own), or began its transaction in its first round trip and ended it with
   * COMMIT in its last.
   */
  private static CommitResult counted(FaultyDataSource recorded, int[] trips, Supplier<CommitResult> commit) {
    int before = recorded.connections().size();
    CommitResult result = commit.get();
    List<FaultyDataSource.Calls> all = List.copyOf(recorded.connections()); // the notifier may add one meanwhile
    List<FaultyDataSource.Calls> commits = all.subList(before, all.size()).stream()
        .filter(c -> c.prepared().stream().anyMatch(CommitTrips::beginsCommit)).toList();
    assertThat(commits).as("one connection per commit").hasSize(1);
    // auto-commit stays on, so the driver sends no BEGIN of its own
    assertThat(commits.get(0).log()).doesNotContain("setAutoCommit(false)");
    List<String> prepared = commits.get(0).prepared();
    if (CommitTrips.explicit(prepared.get(0))) {
      // the general path: BEGIN travels with the first round trip, COMMIT with the last (unless it rolled back)
      if (result instanceof CommitResult.Committed) {
        assertThat(prepared.get(prepared.size() - 1)).endsWith("; COMMIT");
      }
    } else {
      assertThat(prepared.get(0)).as("an implicit transaction").matches(CommitTrips::implicit, "one statement");
      // a self-checked statement that could not tell its conflict: the checked form, in a transaction of its own
      prepared.subList(1, prepared.size()).forEach(sql -> assertThat(sql).startsWith(InlineCommit.BEGIN + "; ")
          .endsWith("; COMMIT"));
    }
    if (result instanceof CommitResult.Committed) {
      // its round trip ended the transaction: the attempt sent no COMMIT of its own after it
      assertThat(commits.get(0).log()).doesNotContain("createStatement");
    }
    trips[0] = (int) commits.get(0).log().stream().filter(c -> c.equals("prepareStatement")).count();
    return result;
  }

  private static long revision(CommitResult result) {
    assertThat(result).isInstanceOf(CommitResult.Committed.class);
    return ((CommitResult.Committed) result).revisions().get(0);
  }
}
