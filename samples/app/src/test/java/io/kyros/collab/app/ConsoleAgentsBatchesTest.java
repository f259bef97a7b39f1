package io.kyros.collab.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The console's Agents and Batches pages in headless Chromium show what the server offers: on a
 * server without the agent registry or batches ({@code GET /collab/state/agents} or
 * {@code /batches} answers 404) the page says they are not available and names the answer;
 * otherwise it shows the table or the batch list. Writes {@code target/screenshots/agents.png} and
 * {@code batches.png}.
 */
class ConsoleAgentsBatchesTest extends BrowserTest {
  @Test
  void theAgentsAndBatchesPagesShowWhatTheServerOffers(@TempDir Path dir) throws Exception {
    try (TestServer server = TestServer.start(dir)) {
      Http http = new Http(server.uri());
      browser.open(server.uri(), "agents");
      check(http, "agents", "Agents", "agent-table");
      browser.screenshot("agents");

      browser.go("batches");
      check(http, "batches", "Batches", "batches-content");
      browser.screenshot("batches");
    }
  }

  private void check(Http http, String kind, String title, String presentId) throws Exception {
    HttpResponse<String> state = http.get("/collab/state/" + kind);
    if (state.statusCode() == 404) {
      browser.waitForText("not-available", title + " are not available on this server");
      assertThat(browser.find("not-available").getText())
          .contains("GET /collab/state/" + kind + " answered 404", Http.json(state).get("detail").asText());
    } else {
      assertThat(state.statusCode()).as(state.body()).isEqualTo(200);
      browser.find(presentId);
      assertThat(browser.all("not-available")).isEmpty();
    }
  }
}
