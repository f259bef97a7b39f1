package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.memory.MemoryStorage;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Builders, workflows and the renderer: set-once options and clear errors. */
class ApiContractTest {

  @Test
  void builderOptionsAreSetOnceAndValidated() {
    assertThatThrownBy(() -> Collab.builder().holder("a").holder("b"))
        .isInstanceOf(IllegalStateException.class).hasMessage("holder was already set");
    assertThatThrownBy(() -> Collab.builder().maxValueBytes(0))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("maxValueBytes must be positive: 0");
    assertThatThrownBy(() -> Collab.builder().updateTimeout(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("updateTimeout must be positive: PT0S");
    assertThatThrownBy(() -> Collab.builder().taskRetryBackoff(Duration.ofSeconds(2), Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("max must not be less than initial");
    assertThatThrownBy(() -> Collab.builder().storage(MemoryStorage.create()).clock(Clock.systemUTC()))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("in-memory storage only");
    assertThatThrownBy(() -> Collab.builder().holder("bad\nholder"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("control characters");
    assertThatThrownBy(() -> Collab.builder().holder("w\uD800"))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("holder must not contain a lone surrogate at index 1");
    assertThat(Collab.builder().holder("w\uD83D\uDE00")).isNotNull();
    assertThatThrownBy(() -> Collab.builder().storage(null)).isInstanceOf(NullPointerException.class)
        .hasMessage("storage");
  }

  @Test
  void theDefaultStorageUsesTheBuildersClock() {
    Clock fixed = Clock.fixed(Instant.parse("2030-05-06T07:08:09Z"), ZoneOffset.UTC);
    try (Collab collab = Collab.builder().clock(fixed).build()) {
      assertThat(collab.events().append("x", "t", "{}").ts()).isEqualTo(fixed.instant());
      assertThat(collab.leases().tryAcquire("r", Duration.ofSeconds(1)).orElseThrow().acquiredAt())
          .isEqualTo(fixed.instant());
    }
  }

  @Test
  void workflowsAreValidated() {
    assertThatThrownBy(() -> Workflow.builder("w").initial("Queued"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("state name must match");
    assertThatThrownBy(() -> Workflow.builder("w").initial("a").initial("b"))
        .isInstanceOf(IllegalStateException.class).hasMessage("initial state was already set to a");
    assertThatThrownBy(() -> Workflow.builder("w").transition("a", "a"))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("a state cannot transition to itself: a");
    assertThatThrownBy(() -> Workflow.builder("w").initial("q").claimed("c").done("d").failed("f")
        .transition("q", "c").transition("c", "q", "f", "d").transition("d", "q").build())
        .isInstanceOf(IllegalStateException.class).hasMessage("done state d must be terminal in workflow w");
    assertThatThrownBy(() -> Workflow.builder("w").initial("q").claimed("c").done("d").failed("d")
        .transition("q", "c").transition("c", "q", "d").build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("workflow w needs a failed state other than its done state d");
    // found by review: every completion would be refused with InvalidTransitionException
    assertThatThrownBy(() -> Workflow.builder("w").initial("q").claimed("c").done("d").failed("f")
        .transition("q", "c").transition("c", "q", "f").build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("workflow w must let claimed state c reach done state d; reachable from it: [q, f, c]");
    assertThat(Workflow.builder("w").initial("q").claimed("c").done("d").failed("f").transition("q", "c")
        .transition("c", "q", "f", "work").transition("work", "d").build().allowedFrom("c"))
        .as("done reached through another state").containsExactly("q", "f", "work");
    assertThatThrownBy(() -> Workflow.builder("w").initial("q").build())
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("needs initial, claimed, done and failed");
    Workflow kanban = Workflow.kanban();
    assertThat(kanban.states()).containsExactly("queued", "claimed", "done", "failed", "in_progress", "review",
        "approved", "merging");
    assertThat(kanban.isTerminal("done")).isTrue();
    assertThat(kanban.isTerminal("failed")).isTrue();
    assertThat(kanban.allowedFrom("review")).containsExactly("approved", "in_progress", "failed");
    assertThatThrownBy(() -> kanban.allowedFrom("nope")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unknown status 'nope' in workflow kanban");
  }

  @Test
  void rendererEscapesMarkdownAndUsesTheZone() {
    Event e = new Event(7, Instant.parse("2026-01-01T23:30:00Z"), "custom", "bob*", "x|y",
        new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode().put("note", "_hi_"));
    String md = MarkdownLogRenderer.create().withZone(ZoneId.of("Europe/Paris")).render(List.of(e));
    assertThat(md).contains("## 2026-01-02 (Europe/Paris)").contains("`00:30:00.000` **bob\\***")
        .contains("`custom` on `x|y`: note=\\_hi\\_").contains("· #7");
    assertThat(MarkdownLogRenderer.create().render(List.of())).isEqualTo("_No events._\n");
  }

  @Test
  void codeSpansKeepNamesThatStartAndEndWithASpace() {
    // CommonMark strips one space from each end of a span that starts and ends with one (unless all spaces)
    assertThat(MarkdownLogRenderer.code(" job ")).isEqualTo("`  job  `");
    assertThat(MarkdownLogRenderer.code("job")).isEqualTo("`job`");
    assertThat(MarkdownLogRenderer.code(" job")).isEqualTo("` job`");
    assertThat(MarkdownLogRenderer.code("   ")).isEqualTo("`   `");
    assertThat(MarkdownLogRenderer.code(" \t ")).isEqualTo("`  \t  `");
    assertThat(MarkdownLogRenderer.code(" a\nb ")).isEqualTo("`  a b  `");
    assertThat(MarkdownLogRenderer.code("`x`")).isEqualTo("`` `x` ``");
  }

  @Test
  void filtersCountAValueGivenTwiceOnce() {
    EventFilter filter = EventFilter.all().types("a", "a", "b").actors("bob", "bob");
    assertThat(filter.types()).containsExactlyInAnyOrder("a", "b");
    assertThat(filter.actors()).containsExactly("bob");
    assertThat(filter.matches("a", "bob", "t")).isTrue();
    assertThat(filter.matches("c", "bob", "t")).isFalse();
    assertThatThrownBy(() -> EventFilter.all().types("a", null)).isInstanceOf(NullPointerException.class);
    TaskFilter tasks = TaskFilter.all().statuses("queued", "queued").labels("x", "x", "y");
    assertThat(tasks.statuses()).containsExactly("queued");
    assertThat(tasks.labels()).containsExactlyInAnyOrder("x", "y");
    assertThatThrownBy(() -> TaskFilter.all().labels("x", null)).isInstanceOf(NullPointerException.class);
  }
}
