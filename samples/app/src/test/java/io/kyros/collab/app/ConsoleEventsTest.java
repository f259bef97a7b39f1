package io.kyros.collab.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.WebElement;

/**
 * The console's Events page in headless Chromium against a real server: new events appear live,
 * the filters go to the server's tail, "Generate human log" renders {@code /collab/log.md}, and
 * after the server goes away and comes back the tail resumes with Last-Event-ID: the events
 * committed meanwhile appear once each, in order. Writes {@code target/screenshots/events.png}.
 */
class ConsoleEventsTest extends BrowserTest {
  private static long append(Http http, String type, String target) throws Exception {
    HttpResponse<String> a = http.post("/collab/events", "{\"event\": \"" + type + "\", \"target\": \"" + target
        + "\", \"details\": {\"ok\": true}}");
    assertThat(a.statusCode()).as(a.body()).isEqualTo(201);
    return Http.json(a).get("id").asLong();
  }

  /** The ids of the rows shown, top to bottom. */
  private List<Long> rows() {
    return browser.allStartingWith("event-row-").stream()
        .map(r -> Long.parseLong(r.getAttribute("data-testid").substring("event-row-".length()))).toList();
  }

  @Test
  void newEventsAppearLiveAndTheHumanLogIsRendered(@TempDir Path dir) throws Exception {
    try (TestServer server = TestServer.start(dir)) {
      Http http = new Http(server.uri());
      browser.open(server.uri(), "events");
      browser.waitForText("events-status", "Tail live");

      long build = append(http, "build_finished", "builds/42");
      WebElement row = browser.findIn("event-rows", "event-row-" + build);
      assertThat(row.getText()).contains("build_finished", "builds/42", "{\"ok\":true}");
      HttpResponse<String> task = http.post("/collab/tasks", "{\"title\": \"Ship the release notes\"}");
      String id = Http.json(task).get("id").asText();
      browser.until(d -> rows().size() == 2);
      assertThat(browser.allStartingWith("event-row-").get(0).getAttribute("data-event")).isEqualTo("task_created");
      // an actor the Markdown log writes with character references (outer spaces) and escapes (& and ~)
      HttpResponse<String> odd = http.post("/collab/events", "{\"event\": \"note\", \"target\": \"notes/1\","
          + " \"actor\": \" ops &amp; ~co~ \"}");
      assertThat(odd.statusCode()).as(odd.body()).isEqualTo(201);
      browser.until(d -> rows().size() == 3);

      browser.find("generate-log").click();

      WebElement log = browser.find("human-log");
      browser.waitForText("human-log", id);
      assertThat(log.getText()).contains("Human log", "Event log", "build_finished", "builds/42")
          .doesNotContain("&#32;", "\\&", "\\~");
      assertThat(log.findElements(org.openqa.selenium.By.tagName("li"))).hasSize(3);
      assertThat(log.findElements(org.openqa.selenium.By.tagName("strong"))).extracting(WebElement::getText)
          .contains("ops &amp; ~co~");
      browser.screenshot("events");
    }
  }

  @Test
  void theFiltersGoToTheServersTail(@TempDir Path dir) throws Exception {
    try (TestServer server = TestServer.start(dir)) {
      Http http = new Http(server.uri());
      append(http, "build_started", "builds/7");
      browser.open(server.uri(), "events");
      browser.find("filter-type").sendKeys("build_finished");
      browser.find("filter-apply").click();
      browser.waitForText("events-status", "Tail live (filtered)");

      http.post("/collab/tasks", "{\"title\": \"Not a build\"}");
      long build = append(http, "build_finished", "builds/8");

      browser.findIn("event-rows", "event-row-" + build);
      assertThat(rows()).containsExactly(build);
    }
  }

  @Test
  void afterTheServerComesBackTheTailResumesWithoutGapsOrRepeats(@TempDir Path dir) throws Exception {
    int port;
    long first;
    TestServer server = TestServer.start(dir, b -> b.retry(Duration.ofMillis(200)));
    try {
      port = server.uri().getPort();
      Http http = new Http(server.uri());
      browser.open(server.uri(), "events");
      browser.waitForText("events-status", "Tail live");
      first = append(http, "build_finished", "builds/1");
      browser.findIn("event-rows", "event-row-" + first);
    } finally {
      server.close();
    }
    browser.waitForText("events-status", "Tail reconnecting");

    // two events are committed while the server is down
    try (OpenStore store = OpenStore.open(StoreSpec.parse("file:" + dir), null, null)) {
      store.as("ci").events().append("build_finished", "builds/2", Json.object().put("ok", true));
      store.as("ci").events().append("deploy_finished", "envs/staging", Json.object().put("ok", true));
    }

    try (TestServer again = TestServer.start(dir, b -> b.port(port).retry(Duration.ofMillis(200)))) {
      browser.waitForText("events-status", "Tail live");
      browser.findIn("event-rows", "event-row-" + (first + 2));
      long third = Http.json(new Http(again.uri()).get("/readyz")).get("last_event_id").asLong();
      assertThat(third).isEqualTo(first + 2);
      assertThat(rows()).containsExactly(first + 2, first + 1, first);
      assertThat(browser.allStartingWith("event-row-").get(0).getText()).contains("deploy_finished", "envs/staging");
      browser.waitForText("live-status", "live");
    }
  }
}
