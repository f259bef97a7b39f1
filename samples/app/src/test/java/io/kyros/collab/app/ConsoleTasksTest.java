package io.kyros.collab.app;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.kyros.collab.NewTask;
import io.kyros.collab.Tasks;
import io.kyros.collab.conformance.MutableClock;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.WebElement;

/**
 * The console's Kanban board in headless Chromium ({@link ConsoleBrowser}) against a real server:
 * tasks created over the API appear live, moves made in the page are sent with If-Match and move
 * the card, a stale ETag shows the 412 message, dependency badges and the checklist follow the
 * store; each column loads page by page ("Load more") and a task's move reaches the board as that one
 * task, never as a read of the whole board; the "Claimable now" panel lists what claims would take, in their
 * order, and follows claims, completions, labels and the end of a retry's backoff. Writes
 * {@code target/screenshots/tasks.png}.
 */
class ConsoleTasksTest extends BrowserTest {
  private static String create(Http http, String json) throws Exception {
    HttpResponse<String> a = http.post("/collab/tasks", json);
    assertThat(a.statusCode()).as(a.body()).isEqualTo(201);
    return Http.json(a).get("id").asText();
  }

  /** Claims the best claimable task for a worker over the API; returns the claim-next answer. */
  private static JsonNode claim(Http http, String worker) throws Exception {
    HttpResponse<String> a = http.post("/collab/tasks/claim-next",
        "{\"worker\": \"" + worker + "\", \"ttl_seconds\": 600}");
    assertThat(a.statusCode()).as(a.body()).isEqualTo(200);
    return Http.json(a);
  }

  /** Creates a task (priority 1) and claims it over the API, opens the board and waits for its card. */
  private String claimedOnTheBoard(TestServer server, Http http, String title) throws Exception {
    String id = create(http, "{\"title\": \"" + title + "\", \"priority\": 1}");
    claim(http, "worker-1");
    browser.open(server.uri(), "tasks");
    browser.findIn("column-claimed", "task-card-" + id);
    return id;
  }

  /** The ids of the cards in a column now, top to bottom (read in one script: the board redraws). */
  @SuppressWarnings("unchecked")
  private List<String> cardsIn(String state) {
    return (List<String>) browser.script("return [...document.querySelectorAll("
        + "`[data-testid=\"column-${arguments[0]}\"] [data-testid^=\"task-card-\"]`)]"
        + ".map(e => e.dataset.testid.slice('task-card-'.length))", state);
  }

  /** The URLs the page has requested so far (the browser's resource timing entries). */
  @SuppressWarnings("unchecked")
  private List<String> requested() {
    return (List<String>) browser.script("return performance.getEntriesByType('resource').map(e => e.name)");
  }

  private static String doneId(int i) {
    return String.format("done-%03d", i);
  }

  @Test
  void aColumnLoadsPageByPageAndAMoveArrivesAsThatOneTask(@TempDir Path dir) throws Exception {
    try (TestServer server = TestServer.start(dir)) {
      Http http = new Http(server.uri());
      Tasks tasks = server.store.collab().tasks();
      for (int i = 0; i < 120; i++) {
        tasks.create(NewTask.of("Finished job " + i).withId(doneId(i)));
        tasks.complete(tasks.claim(doneId(i), "worker-0", Duration.ofMinutes(5)).orElseThrow());
      }
      create(http, "{\"id\": \"q-1\", \"title\": \"Ship it\", \"priority\": 5}");
      create(http, "{\"id\": \"q-2\", \"title\": \"Announce it\", \"priority\": 4}");
      create(http, "{\"id\": \"q-3\", \"title\": \"Archive it\", \"priority\": 0, \"depends_on\": [\""
          + doneId(119) + "\"]}");
      browser.open(server.uri(), "tasks");

      // the first page of done, oldest first, and a button for the rest; the count says only what is loaded
      browser.findIn("column-done", "task-card-" + doneId(49));
      browser.waitForText("count-done", "(50+)");
      assertThat(cardsIn("done")).hasSize(50).startsWith(doneId(0)).endsWith(doneId(49));
      assertThat(cardsIn("queued")).containsExactly("q-1", "q-2", "q-3");
      browser.waitForText("count-queued", "(3)");
      assertThat(browser.all("more-queued")).isEmpty();
      // q-3's dependency is on no loaded page: the badge reads it
      browser.until(d -> "true".equals(browser.find("dep-q-3-" + doneId(119)).getAttribute("data-done")));

      // q-1 is completed while done has pages left and sorts after them: it leaves queued, and done
      // leaves it for "Load more"
      JsonNode first = claim(http, "worker-1");
      assertThat(first.at("/task/id").asText()).isEqualTo("q-1");
      complete(http, first);
      browser.until(d -> !cardsIn("queued").contains("q-1"));
      assertThat(cardsIn("done")).hasSize(50).doesNotContain("q-1");

      browser.find("more-done").click();
      browser.findIn("column-done", "task-card-" + doneId(99));
      browser.waitForText("count-done", "(100+)");
      assertThat(cardsIn("done")).hasSize(100).endsWith(doneId(98), doneId(99));
      browser.find("more-done").click();
      browser.findIn("column-done", "task-card-q-1");
      browser.waitForText("count-done", "(121)");
      browser.waitUntilGone("more-done");
      assertThat(cardsIn("done")).hasSize(121).endsWith(doneId(119), "q-1");

      // done is complete now: the next task completed appears in it live, at its place
      JsonNode second = claim(http, "worker-1");
      assertThat(second.at("/task/id").asText()).isEqualTo("q-2");
      browser.findIn("column-claimed", "task-card-q-2");
      complete(http, second);
      browser.findIn("column-done", "task-card-q-2");
      browser.waitForText("count-done", "(122)");
      assertThat(cardsIn("claimed")).isEmpty();
      assertThat(cardsIn("done")).endsWith("q-1", "q-2");
      assertThat(cardsIn("queued")).containsExactly("q-3");

      List<String> urls = requested();
      assertThat(urls).noneMatch(u -> u.contains("/collab/state/tasks"));
      assertThat(urls).anyMatch(u -> u.contains("/collab/tasks?status=done&limit=50&after=" + doneId(49)));
      assertThat(urls).anyMatch(u -> u.endsWith("/collab/tasks/q-2"));
    }
  }

  private static void complete(Http http, JsonNode claim) throws Exception {
    HttpResponse<String> done = http.post("/collab/tasks/" + claim.at("/task/id").asText() + "/complete",
        "{\"lock_id\": \"" + claim.get("lock_id").asText() + "\", \"fence\": " + claim.get("fence").asLong() + "}");
    assertThat(done.statusCode()).as(done.body()).isEqualTo(200);
  }

  @Test
  void aTaskCreatedOverTheApiAppearsOnTheBoardWithoutAReload(@TempDir Path dir) throws Exception {
    try (TestServer server = TestServer.start(dir)) {
      Http http = new Http(server.uri());
      browser.open(server.uri(), "tasks");
      browser.find("column-queued");
      browser.script("window.sameDocument = true");

      String id = create(http, "{\"title\": \"Write the report\", \"priority\": 5, \"labels\": [\"docs\"], "
          + "\"checklist\": [\"draft\", \"review\"]}");

      WebElement card = browser.findIn("column-queued", "task-card-" + id);
      assertThat(card.getText()).contains("Write the report", "P5", "docs", "Definition of done 0/2", id);
      assertThat(browser.script("return window.sameDocument === true")).as("the page was not reloaded").isEqualTo(true);
    }
  }

  @Test
  void aTransitionMadeInThePageMovesTheCard(@TempDir Path dir) throws Exception {
    try (TestServer server = TestServer.start(dir)) {
      Http http = new Http(server.uri());
      String id = claimedOnTheBoard(server, http, "Fix the login page");

      browser.find("move-" + id + "-in_progress").click();

      browser.findIn("column-in_progress", "task-card-" + id);
      browser.waitForText("message-text", "Moved " + id + ": claimed → in progress");
      assertThat(browser.all("task-card-" + id)).hasSize(1);
      assertThat(Http.json(http.get("/collab/tasks/" + id)).get("status").asText()).isEqualTo("in_progress");
    }
  }

  @Test
  void aMoveWithAStaleEtagShowsThe412MessageAndTheTaskAsItIs(@TempDir Path dir) throws Exception {
    try (TestServer server = TestServer.start(dir)) {
      Http http = new Http(server.uri());
      String id = claimedOnTheBoard(server, http, "Upgrade the parser");
      browser.find("pause-live").click();
      browser.waitForText("pause-live", "Resume live updates");

      // someone else changes the task; the paused board still holds its old ETag
      HttpResponse<String> read = http.get("/collab/tasks/" + id);
      HttpResponse<String> changed = http.send("PATCH", "/collab/tasks/" + id, "{\"priority\": 9}",
          "If-Match", Http.etag(read));
      assertThat(changed.statusCode()).as(changed.body()).isEqualTo(200);
      assertThat(browser.find("priority-" + id).getText()).isEqualTo("P1");

      browser.find("move-" + id + "-in_progress").click();

      browser.waitForText("message-text", "412 Precondition Failed");
      assertThat(browser.find("message-text").getText())
          .contains("Not moved: task " + id + " was changed by someone else after the board showed it");
      browser.waitForText("priority-" + id, "P9");
      browser.findIn("column-claimed", "task-card-" + id);
      assertThat(Http.json(http.get("/collab/tasks/" + id)).get("status").asText()).isEqualTo("claimed");
    }
  }

  @Test
  void dependencyBadgesAndTheChecklistFollowTheStore(@TempDir Path dir) throws Exception {
    try (TestServer server = TestServer.start(dir)) {
      Http http = new Http(server.uri());
      String schema = create(http, "{\"title\": \"Design the schema\", \"priority\": 9, \"labels\": [\"db\"]}");
      String migration = create(http, "{\"title\": \"Write the migration\", \"priority\": 4, \"depends_on\": [\""
          + schema + "\"], \"labels\": [\"db\"], "
          + "\"checklist\": [\"up script\", \"down script\", \"tested on a copy\"]}");
      create(http, "{\"title\": \"Announce the maintenance window\", \"priority\": 2, \"labels\": [\"ops\"]}");
      create(http, "{\"title\": \"Rotate the API keys\", \"priority\": 8, \"labels\": [\"security\"]}");
      browser.open(server.uri(), "tasks");
      WebElement badge = browser.find("dep-" + migration + "-" + schema);
      assertThat(badge.getAttribute("data-done")).isEqualTo("false");
      assertThat(browser.find("task-card-" + migration).getText()).contains("blocked");

      // the checklist is changed from the page (a PATCH with If-Match)
      browser.find("dod-" + migration + "-0").click();
      browser.waitForText("dod-summary-" + migration, "Definition of done 1/3");
      assertThat(Http.json(http.get("/collab/tasks/" + migration)).at("/checklist/0/done").asBoolean()).isTrue();

      // the dependency is claimed and completed by a worker over the API: the badge turns done live
      JsonNode schemaClaim = claim(http, "worker-1");
      assertThat(schemaClaim.at("/task/id").asText()).isEqualTo(schema);
      HttpResponse<String> done = http.post("/collab/tasks/" + schema + "/complete", "{\"lock_id\": \""
          + schemaClaim.get("lock_id").asText() + "\", \"fence\": " + schemaClaim.get("fence").asLong() + "}");
      assertThat(done.statusCode()).as(done.body()).isEqualTo(200);
      browser.findIn("column-done", "task-card-" + schema);
      browser.until(d -> "true".equals(browser.find("dep-" + migration + "-" + schema).getAttribute("data-done")));
      assertThat(browser.find("task-card-" + migration).getText()).doesNotContain("blocked");

      claim(http, "worker-2");
      browser.screenshot("tasks");
    }
  }

  /** The ids the "Claimable now" panel lists, top to bottom. */
  @SuppressWarnings("unchecked")
  private List<String> claimableList() {
    return (List<String>) browser.script("return [...document.querySelectorAll("
        + "'[data-testid=\"claimable-list\"] li[data-testid^=\"claimable-task-\"]')]"
        + ".map(e => e.dataset.testid.slice('claimable-task-'.length))");
  }

  @Test
  void theClaimablePanelListsWhatClaimsWouldTakeInTheirOrderAndFollowsTheStore(@TempDir Path dir)
      throws Exception {
    // the store's clock stands still unless the test moves it; it starts at the browser's now
    MutableClock clock = new MutableClock(Instant.now());
    try (TestServer server = TestServer.start(dir, clock, b -> b)) {
      Http http = new Http(server.uri());
      create(http, "{\"id\": \"write\", \"title\": \"Write the docs\", \"priority\": 5}");
      create(http, "{\"id\": \"deploy\", \"title\": \"Deploy\", \"priority\": 9, \"labels\": [\"ops\"]}");
      create(http, "{\"id\": \"announce\", \"title\": \"Announce\", \"priority\": 7, "
          + "\"depends_on\": [\"deploy\"]}");
      create(http, "{\"id\": \"tidy\", \"title\": \"Tidy up\", \"priority\": 3, \"labels\": [\"ops\"]}");
      browser.open(server.uri(), "tasks");

      // best first, the blocked task left out, and it is what claim-next then takes
      browser.until(d -> claimableList().equals(List.of("deploy", "write", "tidy")));
      assertThat(browser.find("claimable-task-deploy").getText()).contains("P9", "Deploy", "deploy", "ops");
      assertThat(browser.all("claimable-more")).isEmpty();
      JsonNode deploy = claim(http, "worker-1");
      assertThat(deploy.at("/task/id").asText()).isEqualTo("deploy");
      browser.until(d -> claimableList().equals(List.of("write", "tidy")));

      // completing the dependency makes the blocked task claimable, at its place
      complete(http, deploy);
      browser.until(d -> claimableList().equals(List.of("announce", "write", "tidy")));

      // only tasks with a label; a label no claimable task has; either of two labels
      browser.find("claimable-labels").sendKeys("ops");
      browser.find("claimable-apply").click();
      browser.until(d -> claimableList().equals(List.of("tidy")));
      browser.find("claimable-labels").clear();
      browser.find("claimable-labels").sendKeys("nobody");
      browser.find("claimable-apply").click();
      browser.waitForText("claimable-empty", "No task is claimable now with the label nobody.");
      browser.find("claimable-labels").clear();
      browser.find("claimable-labels").sendKeys("nobody, ops");
      browser.find("claimable-apply").click();
      browser.until(d -> claimableList().equals(List.of("tidy")));
      assertThat(requested()).anyMatch(u -> u.contains("/collab/claimable?label=nobody%2Cops&limit=10"));
      browser.find("claimable-labels").clear();
      browser.find("claimable-apply").click();
      browser.until(d -> claimableList().equals(List.of("announce", "write", "tidy")));

      // a failed claim waits out its retry backoff (1 s) and no event marks its end: the panel reads again at the
      // task's not_before (+1 s). The store's clock is set 4 s ahead of the browser's, so the read the failure's
      // event makes is over long before that one, and stands still until the test moves it past not_before
      JsonNode announce = claim(http, "worker-1");
      assertThat(announce.at("/task/id").asText()).isEqualTo("announce");
      clock.set(Instant.now().plusSeconds(4));
      HttpResponse<String> failed = http.post("/collab/tasks/announce/fail", "{\"lock_id\": \""
          + announce.get("lock_id").asText() + "\", \"fence\": " + announce.get("fence").asLong()
          + ", \"error\": \"the mail server is down\"}");
      assertThat(failed.statusCode()).as(failed.body()).isEqualTo(200);
      assertThat(Http.json(failed).get("status").asText()).isEqualTo("queued");
      long lastEvent = server.store.collab().events().lastId();
      // the page's listeners run in the task that shows the event's id; the read it started ends unbusy
      browser.waitForText("last-event-id", "#" + lastEvent);
      browser.until(d -> "false".equals(browser.find("claimable-list").getAttribute("aria-busy")));
      assertThat(claimableList()).containsExactly("write", "tidy");
      clock.advance(Duration.ofSeconds(2));
      browser.until(d -> claimableList().equals(List.of("announce", "write", "tidy")));
      assertThat(browser.find("claimable-task-announce").getText()).contains("attempt 2 next");
      assertThat(server.store.collab().events().lastId()).as("no event announced the end of the backoff")
          .isEqualTo(lastEvent);

      // more than the panel lists: the first ten, and a note that there are more
      Tasks tasks = server.store.collab().tasks();
      for (int i = 0; i < 10; i++) {
        tasks.create(NewTask.of("Batch job " + i).withId(String.format("job-%02d", i)).withPriority(1));
      }
      browser.until(d -> claimableList().size() == 10 && claimableList().get(9).equals("job-06"));
      assertThat(claimableList()).startsWith("announce", "write", "tidy", "job-00");
      browser.waitForText("claimable-more", "More tasks are claimable; these are the first 10.");
      assertThat(requested()).anyMatch(u -> u.contains("/collab/claimable?label=ops&limit=10"))
          .anyMatch(u -> u.endsWith("/collab/claimable?limit=10"));
    }
  }
}
