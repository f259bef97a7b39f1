package io.kyros.collab.app;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.kyros.collab.conformance.MutableClock;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.WebElement;

/**
 * The console's Leases page in headless Chromium against a server whose file store runs on a
 * {@link MutableClock}: the countdown runs, and once the test moves the store's clock past a lease's
 * expiry (no waiting), "Reclaim stale" reclaims exactly that lease. Writes
 * {@code target/screenshots/leases.png}.
 */
class ConsoleLeasesTest extends BrowserTest {
  private static String acquire(Http http, String resource, String holder, int ttlSeconds) throws Exception {
    HttpResponse<String> a = http.post("/collab/leases/acquire", "{\"resource\": \"" + resource + "\", \"holder\": \""
        + holder + "\", \"ttl_seconds\": " + ttlSeconds + "}");
    assertThat(a.statusCode()).as(a.body()).isEqualTo(200);
    return Http.json(a).get("lock_id").asText();
  }

  private static long secondsLeft(WebElement countdown) {
    return Long.parseLong(countdown.getAttribute("data-remaining-seconds"));
  }

  @Test
  void theCountdownRunsAndReclaimStaleReclaimsTheExpiredLease(@TempDir Path dir) throws Exception {
    MutableClock clock = new MutableClock(Instant.parse("2026-03-02T09:00:00Z"));
    try (TestServer server = TestServer.start(dir, clock, b -> b)) {
      Http http = new Http(server.uri());
      String nightly = acquire(http, "reports/nightly", "worker-7", 60);
      String main = acquire(http, "src/main/java/com/acme/Main.java", "agent-2", 600);
      browser.open(server.uri(), "leases");

      WebElement countdown = browser.find("lease-remaining-" + nightly);
      long first = secondsLeft(countdown);
      assertThat(first).isBetween(1L, 60L);
      browser.until(d -> secondsLeft(countdown) < first);
      assertThat(browser.find("lease-row-" + main).getText()).contains("agent-2", "600 s");
      browser.screenshot("leases");

      clock.advance(Duration.ofMinutes(2));
      browser.find("reclaim-stale").click();

      browser.waitForText("message-text", "Reclaimed 1 stale lease: reports/nightly (worker-7, fence 1)");
      browser.waitUntilGone("lease-row-" + nightly);
      assertThat(browser.find("lease-row-" + main).getText()).contains("src/main/java/com/acme/Main.java");
      List<String> held = new ArrayList<>();
      for (JsonNode l : Http.json(http.get("/collab/state/leases")).get("data")) {
        held.add(l.get("resource").asText());
      }
      assertThat(held).containsExactly("src/main/java/com/acme/Main.java");
      assertThat(Http.json(http.get("/collab/events?type=lease_reclaimed")).get("data")).hasSize(1);
    }
  }
}
