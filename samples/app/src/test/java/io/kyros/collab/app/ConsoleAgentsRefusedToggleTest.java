package io.kyros.collab.app;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.AgentSpec;
import io.kyros.collab.AgentStatus;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.WebElement;

/**
 * Bug (review): on the Agents page, an availability toggle whose POST failed with anything but 412 (a 503 as a
 * storage outage answers, a 401, a 429) was followed by a read with {@code If-None-Match}; nothing had changed, so the
 * answer was 304, the page did not redraw, and the switch kept showing the change that was refused. What must hold:
 * after a refused toggle the switch shows the agent as the server has it (the page draws its last state read).
 */
class ConsoleAgentsRefusedToggleTest extends BrowserTest {
  @Test
  void aRefusedAvailabilityToggleDoesNotStayShownAsDone(@TempDir Path dir) throws Exception {
    try (TestServer server = TestServer.start(dir)) {
      server.store.collab().agents().register(AgentSpec.of("builder-1", "builder", "java"));
      browser.open(server.uri(), "agents");
      WebElement box = browser.findIn("agent-rows", "agent-available-builder-1");
      assertThat(box.isSelected()).isTrue();
      // the server answers the write 503 (storage down); reads still work
      browser.script("const real = window.fetch; window.fetch = (u, o) => (o && o.method === 'POST'"
          + " && String(u).includes('/availability')) ? Promise.resolve(new Response(JSON.stringify({title:"
          + " 'Service Unavailable', status: 503, detail: 'the storage does not answer'}), {status: 503, headers:"
          + " {'Content-Type': 'application/problem+json'}})) : real(u, o);");
      box.click();
      browser.waitForText("message-text", "503");
      assertThat(server.store.collab().agents().get("builder-1").orElseThrow().status())
          .isNotEqualTo(AgentStatus.DISABLED);
      browser.until(d -> browser.findIn("agent-rows", "agent-available-builder-1").isSelected());
    }
  }

  @Test
  void aToggleTheServerTakesStaysShown(@TempDir Path dir) throws Exception {
    try (TestServer server = TestServer.start(dir)) {
      server.store.collab().agents().register(AgentSpec.of("builder-1", "builder", "java"));
      browser.open(server.uri(), "agents");
      browser.findIn("agent-rows", "agent-available-builder-1").click();
      browser.waitForText("message-text", "builder-1 is now disabled");
      browser.until(d -> !browser.findIn("agent-rows", "agent-available-builder-1").isSelected());
      assertThat(server.store.collab().agents().get("builder-1").orElseThrow().status())
          .isEqualTo(AgentStatus.DISABLED);
    }
  }
}
