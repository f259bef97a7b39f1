package io.kyros.collab.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

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
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * PostgreSQL's one-round-trip commits ({@link InlineCommit#tryOneTrip}): a commit whose written keys are all expected
 * at a revision takes revisions the storage took ahead ({@link SpareRevisions}) and sends everything at once. These
 * tests pin what that must keep: each record's revisions grow, also when another storage (process) wrote the record
 * since the values were taken; a failed expectation, a revision or a time bound, commits nothing and is reported as
 * the general path reports it; the events carry the commit's time. One storage per table prefix and no other writer,
 * so the sequence hands out consecutive values and which path a commit took shows in its revision: a spare is the
 * next value after the commit that took it ahead, the general path takes a value after all the spares.
 */
class OneTripCommitTest {
  private static final String PREFIX = "onetrip_";
  private static final RecordKey X = new RecordKey("c", "x");
  private static final NewEvent EVENT = new NewEvent("e", "a", "t", "{}");

  @Test
  void anUpdateExpectingTheRecordsRevisionTakesTheNextSpareAndACreateTakesANewValue() {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, PREFIX);
        JdbcStorage storage = db.builder().build()) {
      long created = revision(storage.commit(Commit.of(List.of(Expectation.absent(X)), List.of(Write.put(X, "1",
          "h1")), List.of(EVENT))));
      // the create took its revision and SpareRevisions.BATCH spares after it, under its lock

      long updated = revision(storage.commit(Commit.of(List.of(Expectation.revision(X, created)),
          List.of(Write.put(X, "2", "h2")), List.of(EVENT))));
      long other = revision(storage.commit(Commit.of(List.of(Expectation.absent(new RecordKey("c", "y"))),
          List.of(Write.put(new RecordKey("c", "y"), "1", "h1")), List.of())));

      assertThat(updated).isEqualTo(created + 1);
      assertThat(other).isEqualTo(created + 1 + SpareRevisions.BATCH);
      assertThat(storage.read(X).orElseThrow().revision()).isEqualTo(updated);
      assertThat(storage.read(X).orElseThrow().json()).isEqualTo("2");
    }
  }

  @Test
  void aRecordsRevisionsGrowWhenAnotherStorageWroteItAfterTheSparesWereTaken() {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, PREFIX);
        JdbcStorage a = db.builder().build();
        JdbcStorage b = db.builder().build()) {
      long r1 = revision(a.commit(Commit.of(List.of(Expectation.absent(X)), List.of(Write.put(X, "a1", "h")),
          List.of()))); // a keeps spares above r1
      long r2 = revision(b.commit(Commit.of(List.of(Expectation.revision(X, r1)), List.of(Write.put(X, "b1", "h")),
          List.of()))); // b has none: the general path, above a's spares
      long r3 = revision(a.commit(Commit.of(List.of(Expectation.revision(X, r2)), List.of(Write.put(X, "a2", "h")),
          List.of()))); // a's spares are all below r2: dropped, the general path
      long r4 = revision(b.commit(Commit.of(List.of(Expectation.revision(X, r3)), List.of(Write.put(X, "b2", "h")),
          List.of()))); // b's spares are below r3 too
      long r5 = revision(b.commit(Commit.of(List.of(Expectation.revision(X, r4)), List.of(Write.put(X, "b3", "h")),
          List.of()))); // taken ahead by b's last commit, under X's lock: above r4

      assertThat(List.of(r1, r2, r3, r4, r5)).isSorted().doesNotHaveDuplicates();
      assertThat(r2).isGreaterThan(r1 + SpareRevisions.BATCH);
      assertThat(r5).isEqualTo(r4 + 1);
      assertThat(a.read(X).orElseThrow().revision()).isEqualTo(r5);
    }
  }

  @Test
  void aStaleRevisionIsAConflictNamingTheCurrentRevisionAndCommitsNothing() {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, PREFIX);
        JdbcStorage storage = db.builder().build()) {
      long r1 = revision(storage.commit(Commit.of(List.of(), List.of(Write.put(X, "1", "h1")), List.of())));
      long r2 = revision(storage.commit(Commit.of(List.of(Expectation.revision(X, r1)),
          List.of(Write.put(X, "2", "h2")), List.of())));
      long events = storage.lastEventId();

      Expectation stale = Expectation.revision(X, r1);
      CommitResult result = storage.commit(Commit.of(List.of(stale), List.of(Write.put(X, "3", "h3")),
          List.of(EVENT)));

      assertThat(result).isEqualTo(new CommitResult.Conflict(stale, r2));
      assertThat(storage.read(X).orElseThrow().json()).isEqualTo("2");
      assertThat(storage.lastEventId()).isEqualTo(events);
    }
  }

  @Test
  void aPassedTimeBoundIsAConflictAndAComingOneCommits() {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, PREFIX);
        JdbcStorage storage = db.builder().build()) {
      long r1 = revision(storage.commit(Commit.of(List.of(), List.of(Write.put(X, "1", "h1")), List.of())));
      Instant now = storage.now();

      Expectation passed = Expectation.revisionUntil(X, r1, now.minus(Duration.ofMinutes(1)));
      CommitResult late = storage.commit(Commit.of(List.of(passed), List.of(Write.put(X, "2", "h2")),
          List.of(EVENT)));
      long r2 = revision(storage.commit(Commit.of(List.of(Expectation.revisionUntil(X, r1,
          now.plus(Duration.ofMinutes(1)))), List.of(Write.put(X, "3", "h3")), List.of(EVENT))));

      assertThat(late).isEqualTo(new CommitResult.Conflict(passed, r1));
      // a spare, so one round trip: the late commit's attempt took r1 + 1, a gap now, and its general path a value
      // after all the spares
      assertThat(r2).isEqualTo(r1 + 2);
      assertThat(storage.read(X).orElseThrow().json()).isEqualTo("3");
    }
  }

  @Test
  void eventsOfAOneTripCommitAreStoredWithTheCommitsTimeInAscendingIds() {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, PREFIX);
        JdbcStorage storage = db.builder().build()) {
      long r1 = revision(storage.commit(Commit.of(List.of(), List.of(Write.put(X, "1", "h1")), List.of())));
      Instant before = storage.now();

      CommitResult.Committed withWrite = (CommitResult.Committed) storage.commit(Commit.of(
          List.of(Expectation.revision(X, r1)), List.of(Write.put(X, "2", "h2")),
          List.of(new NewEvent("one", "a", "t", "{}"), new NewEvent("two", "a", "t", "{}"))));
      CommitResult.Committed eventsOnly = (CommitResult.Committed) storage.commit(Commit.of(List.of(), List.of(),
          List.of(new NewEvent("three", "a", "t", "{\"n\":3}"))));

      assertThat(withWrite.revisions()).containsExactly(r1 + 1);
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

  private static long revision(CommitResult result) {
    assertThat(result).isInstanceOf(CommitResult.Committed.class);
    return ((CommitResult.Committed) result).revisions().get(0);
  }
}
