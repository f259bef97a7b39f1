package io.kyros.collab.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class CommitTest {
  private static final RecordKey A = new RecordKey("c", "a");
  private static final NewEvent EVENT = new NewEvent("e", "actor", "c/a", "{}");

  @Test
  void eventsGivenUpFrontAreKnownNotToDependOnTheRevisions() {
    Commit commit = Commit.of(List.of(), List.of(Write.put(A, "{}", "h")), List.of(EVENT));

    assertThat(commit.fixedEvents()).contains(List.of(EVENT));
    assertThat(commit.eventsFor(List.of(7L))).containsExactly(EVENT);
    assertThat(Commit.of(List.of(), List.of(), List.of()).fixedEvents()).contains(List.of());
  }

  @Test
  void eventsBuiltFromTheRevisionsAreNotFixed() {
    Commit commit = new Commit(List.of(), List.of(Write.put(A, "{}", "h")),
        revisions -> List.of(new NewEvent("e", "actor", "c/a", "{\"revision\":" + revisions.get(0) + "}")));

    assertThat(commit.fixedEvents()).isEmpty();
    assertThat(commit.eventsFor(List.of(7L))).singleElement().extracting(NewEvent::detailsJson)
        .isEqualTo("{\"revision\":7}");
    assertThatThrownBy(() -> commit.eventsFor(List.of())).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("expected 1 revisions, got 0");
    assertThat(commit.namesRevisionsAsText()).as("no promise made").isFalse();
  }

  @Test
  void eventsNamingTheRevisionsAsTextSaySoAndAreBuiltFromThem() {
    Commit commit = Commit.namingRevisions(List.of(), List.of(Write.put(A, "{}", "h")),
        revisions -> List.of(new NewEvent("e", "actor", "c/a", "{\"revision\":" + revisions.get(0) + "}")));

    assertThat(commit.namesRevisionsAsText()).isTrue();
    assertThat(commit.fixedEvents()).isEmpty();
    assertThat(commit.eventsFor(List.of(9L))).singleElement().extracting(NewEvent::detailsJson)
        .isEqualTo("{\"revision\":9}");
    assertThat(Commit.of(List.of(), List.of(), List.of(EVENT)).namesRevisionsAsText()).isFalse();
    assertThatThrownBy(() -> Commit.namingRevisions(List.of(), List.of(), null))
        .isInstanceOf(NullPointerException.class).hasMessage("events");
  }
}
