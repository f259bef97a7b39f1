package io.kyros.collab.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
    return new Commit(List.of(Expectation.absent(X), Expectation.absent(Y)),
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
  void completingIsCheckedAgainstTheEventsBuiltFromTheRealRevisions() {
    AtomicInteger calls = new AtomicInteger();
    // an impure builder: its third build (the one after the commit) differs
    Commit commit = commit(r -> List.of(new NewEvent("e", "a", "t", "{\"r\":" + r.get(0) + ",\"call\":"
        + (calls.incrementAndGet() > 2 ? 1 : 0) + "}")));
    EventTemplates t = EventTemplates.of(commit).orElseThrow();

    assertThatThrownBy(() -> t.complete(commit, List.of(5L, 6L)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("committed, but the events stored")
        .hasMessageContaining("[5, 6]");
  }
}
