package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Found in review: in the Markdown log an actor with a leading or trailing space ({@code " bob "}, which names accept)
 * rendered as {@code ** bob **}, literal asterisks under CommonMark's flanking rules; a character reference in an
 * actor or a detail ({@code a&lt;b&gt;}, {@code &#x2A;}) was decoded by the reader's renderer into another text; and
 * {@code ~} was left to make strikethrough.
 */
class MarkdownHostileTextTest {
  private final Collab collab = Collab.builder().holder("alice").build();

  @AfterEach
  void close() {
    collab.close();
  }

  private String line(String actor, Map<String, Object> details) {
    Event e = collab.events().appendAll(List.of(new EventDraft("note", actor, "t", details))).get(0);
    return MarkdownLogRenderer.create().renderLine(e);
  }

  @Test
  void anActorWithOuterSpacesStaysBold() {
    String line = line(" bob ", Map.of());
    assertThat(line).contains("**&#32;bob&#32;**").doesNotContain("** bob **");
  }

  @Test
  void characterReferencesAreShownAsTyped() {
    assertThat(line("a&lt;b&gt;", Map.of())).contains("**a\\&lt;b\\&gt;**");
    assertThat(line("alice", Map.of("k", "&#x2A;&copy;"))).contains("\\&#x2A;\\&copy;");
  }

  @Test
  void tildesDoNotStrikeThrough() {
    assertThat(line("~~bob~~", Map.of())).contains("**\\~\\~bob\\~\\~**");
  }
}
