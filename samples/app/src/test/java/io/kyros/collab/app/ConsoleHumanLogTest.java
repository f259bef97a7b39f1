package io.kyros.collab.app;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.EventDraft;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.WebElement;

/**
 * Bug (review): the Events page's "Generate human log" asked {@code GET /collab/log.md} for the whole id span of the
 * rows shown in one request ({@code limit = newest - oldest + 1}); with a filter the rows can span more than the
 * server's 10000, so the answer was 400 and the page showed an error instead of the log. What must hold: the log of a
 * span over 10000 ids is read in pages of at most 10000 and rendered as one log, from the oldest row shown to the
 * newest, with one head, each event once.
 */
class ConsoleHumanLogTest extends BrowserTest {
  @Test
  void theHumanLogOfFilteredRowsSpanningMoreThanTenThousandIdsIsRendered(@TempDir Path dir) throws Exception {
    try (TestServer server = TestServer.start(dir)) {
      browser.open(server.uri(), "events");
      browser.find("filter-type").sendKeys("rare");
      browser.find("filter-apply").click();
      browser.waitForText("events-status", "Tail live (filtered)");

      long first = server.store.collab().events().append("rare", "things/first", Map.of()).id();
      List<EventDraft> noise = new ArrayList<>();
      for (int i = 0; i < 500; i++) {
        noise.add(EventDraft.of("noise", "things/" + i, Map.of()));
      }
      for (int i = 0; i < 21; i++) {
        server.store.collab().events().appendAll(noise);
      }
      long last = server.store.collab().events().append("rare", "things/last", Map.of()).id();
      assertThat(last - first + 1).isGreaterThan(10_000);
      browser.findIn("event-rows", "event-row-" + first);
      browser.findIn("event-rows", "event-row-" + last);

      browser.find("generate-log").click();
      browser.until(d -> browser.all("human-log").get(0).isDisplayed() || !browser.all("message-text").isEmpty());
      assertThat(browser.all("message-text")).extracting(WebElement::getText).as("error shown instead of the log")
          .isEmpty();
      String text = (String) browser.script(
          "return document.querySelector('[data-testid=human-log]').textContent;");
      assertThat(text).contains("Event log: #" + first + " to #" + last, "things/first", "things/last");
      assertThat(text.split("Event log:", -1)).as("one head for the whole log").hasSize(2);
      Long items = (Long) browser.script(
          "return document.querySelectorAll('[data-testid=human-log] li').length;");
      assertThat(items).as("each event of the span once").isEqualTo(last - first + 1);
    }
  }
}
