package io.kyros.collab.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Write;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * {@link EventTemplates}: events that name revisions only by their decimal text become templates with a marker per
 * write; any other dependence on the revisions, or a value of the event's own that looks like a stand-in, leaves the
 * commit to the general path; completing the templates is checked against the events built from the real revisions.
 */
class EventTemplatesTest {
  private static final RecordKey X = new RecordKey("c", "x");
  private static final RecordKey Y = new RecordKey("c", "y");
  private static final String M0 = EventTemplates.marker(0);
  private static final String M1 = EventTemplates.marker(1);

  private static Commit commit(Commit.EventSource events) {
    return Commit.namingRevisions(List.of(Expectation.absent(X), Expectation.absent(Y)),
        List.of(Write.put(X, "1", "h"), Write.put(Y, "1", "h")), events);
  }

  @Test
  void revisionsNamedByTheirTextBecomeMarkers() {
    Commit commit = commit(r -> List.of(
        new NewEvent("claimed", "w", "tasks/x", "{\"etag\":\"\\\"" + r.get(0) + "-h\\\"\",\"lease\":" + r.get(1)
            + ",\"again\":\"" + r.get(0) + "\"}"),
        new NewEvent("plain", "w", "t", "{\"fence\":12}")));

    EventTemplates t = EventTemplates.of(commit).orElseThrow();

    assertThat(t.events()).containsExactly(
        new NewEvent("claimed", "w", "tasks/x", "{\"etag\":\"\\\"" + M0 + "-h\\\"\",\"lease\":" + M1 + ",\"again\":\""
            + M0 + "\"}"),
        new NewEvent("plain", "w", "t", "{\"fence\":12}"));
    assertThat(t.markers()).containsExactly(List.of(0, 1), List.of());
    assertThat(t.complete(commit, List.of(41L, 1_000_000_000_000L))).isEqualTo(commit.eventsFor(
        List.of(41L, 1_000_000_000_000L)));
  }

  @Test
  void anyOtherDependenceOnTheRevisionsIsNoTemplate() {
    // the length of a revision's text
    assertThat(EventTemplates.of(commit(r -> List.of(new NewEvent("e", "a", "t",
        "{\"digits\":" + Long.toString(r.get(0)).length() + "}"))))).isEmpty();
    // arithmetic on a revision, also when it gives another write's stand-in in one of the builds
    for (long plus : List.of(1L, EventTemplates.LONG_SPACING, EventTemplates.SHORT_SPACING)) {
      assertThat(EventTemplates.of(commit(r -> List.of(new NewEvent("e", "a", "t", "{\"next\":" + (r.get(0) + plus)
          + "}"))))).as("revision + %s", plus).isEmpty();
    }
    // a revision in the target, or a number of events depending on them
    assertThat(EventTemplates.of(commit(r -> List.of(new NewEvent("e", "a", "t/" + r.get(0), "{}"))))).isEmpty();
    assertThat(EventTemplates.of(commit(r -> r.get(0) > 8_000_000 ? List.of() : List.of(
        new NewEvent("e", "a", "t", "{}"))))).isEmpty();
    // a builder that fails: left for the general path to report
    assertThat(EventTemplates.of(commit(r -> {
      throw new IllegalStateException("boom");
    }))).isEmpty();
  }

  @Test
  void aValueOfTheEventsOwnThatLooksLikeAStandInIsNoTemplate() {
    for (long standIn : List.of(EventTemplates.LONG_STAND_IN, EventTemplates.SHORT_STAND_IN + EventTemplates.SHORT_SPACING)) {
      assertThat(EventTemplates.of(commit(r -> List.of(new NewEvent("e", "a", "t",
          "{\"r\":" + r.get(0) + ",\"mine\":" + standIn + "}"))))).as("stand-in %s", standIn).isEmpty();
    }
    // a marker character of its own (canonical JSON never holds one unescaped)
    assertThat(EventTemplates.of(commit(r -> List.of(new NewEvent("e", "a", "t", "{\"r\":\"" + r.get(0) + "\u0001"
        + "\"}"))))).isEmpty();
  }

  @Test
  void eventsThatDoNotNameTheRevisionsAreTemplatesWithoutMarkers() {
    EventTemplates t = EventTemplates.of(commit(r -> List.of(new NewEvent("e", "a", "t", "{\"n\":1}")))).orElseThrow();
    assertThat(t.markers()).containsExactly(List.of());
    assertThat(t.events()).containsExactly(new NewEvent("e", "a", "t", "{\"n\":1}"));
  }

  @Test
  void onlyACommitWhoseSourcePromisesToNameRevisionsAsTextIsTemplated() {
    Commit.EventSource events = r -> List.of(new NewEvent("e", "a", "t", "{\"r\":" + r.get(0) + "}"));
    assertThat(EventTemplates.of(commit(events))).isPresent();
    assertThat(EventTemplates.of(new Commit(List.of(Expectation.absent(X), Expectation.absent(Y)),
        List.of(Write.put(X, "1", "h"), Write.put(Y, "1", "h")), events))).as("new Commit: no promise").isEmpty();
  }

  @Test
  void noMarkerCanBeReadAcrossTwoOthers() {
    // write 1's revision, a digit, write 1's revision again: with markers opened and closed by the same character,
    // the end of the first, the digit and the start of the second would read as the marker of write 1
    Commit commit = commit(r -> List.of(new NewEvent("e", "a", "t", "{\"a\":\"" + r.get(0) + "\",\"b\":\"" + r.get(1)
        + "1" + r.get(1) + "\"}")));
    EventTemplates t = EventTemplates.of(commit).orElseThrow();
    List<Long> revisions = List.of(40L, 41L);
    assertThat(t.complete(commit, revisions)).isEqualTo(commit.eventsFor(revisions))
        .containsExactly(new NewEvent("e", "a", "t", "{\"a\":\"40\",\"b\":\"41141\"}"));
    // and both marker characters of an event's own are refused
    assertThat(EventTemplates.of(commit(r -> List.of(new NewEvent("e", "a", "t", "{\"r\":\"" + r.get(0) + "\u0002"
        + "\"}"))))).isEmpty();
  }

  @Test
  void revisionsAsJsonNumbersAreTemplatedAndStandInsStayExactInJson() {
    // core writes a document's revision as a JSON number: the stand-ins must be numbers canonical JSON writes exactly
    assertThat(EventTemplates.LONG_STAND_IN + EventTemplates.LONG_SPACING * (EventTemplates.MAX_WRITES - 1))
        .isLessThanOrEqualTo(1L << 53);
    assertThat(Long.toString(EventTemplates.LONG_STAND_IN)).hasSize(16);
    assertThat(Long.toString(EventTemplates.SHORT_STAND_IN
        + EventTemplates.SHORT_SPACING * (EventTemplates.MAX_WRITES - 1))).hasSize(7);
  }

  @Test
  void whatIsCompletedIsWhatWasStoredAndADifferenceFromTheSourceIsOnlyLogged() {
    AtomicInteger calls = new AtomicInteger();
    // a source that breaks the promise: its third build (the one after the commit) differs
    Commit commit = commit(r -> List.of(new NewEvent("e", "a", "t", "{\"r\":" + r.get(0) + ",\"call\":"
        + (calls.incrementAndGet() > 2 ? 1 : 0) + "}")));
    EventTemplates t = EventTemplates.of(commit).orElseThrow();

    assertThat(t.complete(commit, List.of(5L, 6L)))
        .containsExactly(new NewEvent("e", "a", "t", "{\"r\":5,\"call\":0}"));
    assertThat(calls.get()).isEqualTo(3);
  }

  @Test
  void aSourceThatThrowsAnythingWhenBuiltAfterTheCommitStillReportsWhatWasStored() {
    for (Throwable failure : new Throwable[] {new AssertionError("the source's own assertion"),
        new java.io.IOException("a checked exception thrown undeclared"), new IllegalStateException("state")}) {
      AtomicInteger calls = new AtomicInteger();
      Commit commit = commit(r -> {
        if (calls.incrementAndGet() > 2) {
          throw UndeclaredCheckedExceptionTest.<RuntimeException>sneaky(failure);
        }
        return List.of(new NewEvent("e", "a", "t", "{\"r\":" + r.get(0) + "}"));
      });
      EventTemplates t = EventTemplates.of(commit).orElseThrow();

      assertThat(t.complete(commit, List.of(5L, 6L))).as("after %s", failure)
          .containsExactly(new NewEvent("e", "a", "t", "{\"r\":5}"));
    }
  }
}
