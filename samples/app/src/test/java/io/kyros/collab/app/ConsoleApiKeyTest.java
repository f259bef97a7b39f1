package io.kyros.collab.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The console on a server started with API keys, in headless Chromium: without a key the page says
 * one is needed; with the key entered under "API key" the board loads and goes live (the key is
 * sent as a bearer token, and as {@code ?api_key=} on the event stream).
 */
class ConsoleApiKeyTest extends BrowserTest {
  private static final String KEY = "4b1d2c3e4f5061728394a5b6c7d8e9f0";

  @Test
  void withoutAKeyThePageSaysSoAndWithTheKeyItGoesLive(@TempDir Path dir) throws Exception {
    ApiKeys keys = ApiKeys.parse(List.of("rw " + KEY + " console-user"), "keys");
    try (TestServer server = TestServer.start(dir, b -> b.apiKeys(keys))) {
      browser.driver().get(server.uri() + "/#/tasks");
      browser.waitForText("message-text", "(HTTP 401). Enter an API key (top right).");

      browser.find("api-key-toggle").click();
      browser.find("api-key-input").sendKeys(KEY);
      browser.find("api-key-save").click();

      browser.waitForText("live-status", "live");
      browser.find("column-queued");
      HttpResponse<String> created = new Http(server.uri()).post("/collab/tasks", "{\"title\": \"Behind a key\"}",
          "Authorization", "Bearer " + KEY);
      assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
      browser.findIn("column-queued", "task-card-" + Http.json(created).get("id").asText());
    }
  }
}
