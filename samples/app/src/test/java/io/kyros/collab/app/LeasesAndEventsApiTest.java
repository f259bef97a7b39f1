package io.kyros.collab.app;

import static io.kyros.collab.app.ProblemAssert.problem;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class LeasesAndEventsApiTest extends ApiTestBase {

  @Test
  void acquireRenewReleaseWithTheSeedFieldNames() {
    HttpResponse<String> r = http.post("/collab/leases/acquire",
        "{\"resource\": \"src/Main.java\", \"holder\": \"agent-1\", \"ttl_seconds\": 60}");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    JsonNode got = Http.json(r);
    String lock = got.get("lock_id").asText();
    assertThat(got.get("fence").asLong()).isEqualTo(1);
    assertThat(got.has("expires_at")).isTrue();
    JsonNode lease = got.get("lease");
    for (String f : new String[] {"lock_id", "resource", "holder", "acquired_at", "ttl_seconds", "heartbeat_at", "fence"}) {
      assertThat(lease.has(f)).as(f).isTrue();
    }
    assertThat(lease.get("holder").asText()).isEqualTo("agent-1");
    assertThat(lease.get("ttl_seconds").asDouble()).isEqualTo(60.0);

    JsonNode held = problem(http.post("/collab/leases/acquire",
        "{\"resource\": \"src/Main.java\", \"holder\": \"agent-2\", \"ttl_seconds\": 60}"), 409, "held by agent-1");
    assertThat(held.get("current_holder").asText()).isEqualTo("agent-1");

    HttpResponse<String> renewed = http.post("/collab/leases/" + lock + "/renew", "{\"ttl_seconds\": 120}");
    assertThat(renewed.statusCode()).as(renewed.body()).isEqualTo(200);
    assertThat(Http.json(renewed).get("ttl_seconds").asDouble()).isEqualTo(120.0);
    problem(http.post("/collab/leases/" + lock + "/renew", "{\"fence\": 9}"), 409, "held by agent-1 with fence 1");

    JsonNode list = Http.json(http.get("/collab/leases"));
    assertThat(list.get("data").get(0).get("remaining_seconds").asDouble()).isPositive();

    HttpResponse<String> released = http.post("/collab/leases/" + lock + "/release", null);
    assertThat(Http.json(released).get("released").asBoolean()).isTrue();
    problem(http.post("/collab/leases/" + lock + "/release", null), 404, "no held lease");
    HttpResponse<String> next = http.post("/collab/leases/acquire",
        "{\"resource\": \"src/Main.java\", \"holder\": \"agent-2\", \"ttl_seconds\": 60}");
    assertThat(Http.json(next).get("fence").asLong()).isEqualTo(2);
    problem(http.post("/collab/leases/acquire", "{\"resource\": \"x\", \"ttl_seconds\": -1}"), 400, "ttl_seconds");
    problem(http.post("/collab/leases/acquire", "{\"resource\": \"tasks/1\", \"ttl_seconds\": 1}"), 400, "tasks/");
  }

  @Test
  void reclaimFreesAnExpiredLease() {
    http.post("/collab/leases/acquire", "{\"resource\": \"short\", \"holder\": \"h\", \"ttl_seconds\": 0.05}");
    Await.until(Duration.ofSeconds(30), () -> Http.json(http.get("/collab/leases")).get("data").get(0)
        .get("stale").asBoolean());
    HttpResponse<String> r = http.post("/collab/leases/reclaim", null);
    assertThat(r.statusCode()).isEqualTo(200);
    JsonNode body = Http.json(r);
    assertThat(body.get("leases").get(0).get("resource").asText()).isEqualTo("short");
    assertThat(body.get("tasks")).isEmpty();
    assertThat(Http.json(http.get("/collab/events?type=lease_reclaimed")).get("data")).hasSize(1);
  }

  @Test
  void eventsAppendAndReadWithFilters() {
    HttpResponse<String> r = http.post("/collab/events",
        "{\"event\": \"build_finished\", \"target\": \"builds/1\", \"actor\": \"ci\", \"details\": {\"ok\": true}}");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
    JsonNode ev = Http.json(r);
    for (String f : new String[] {"id", "ts", "event", "actor", "target", "details"}) {
      assertThat(ev.has(f)).as(f).isTrue();
    }
    assertThat(ev.get("actor").asText()).isEqualTo("ci");
    http.post("/collab/events", "{\"event\": \"deploy\", \"target\": \"envs/prod\", \"actor\": \"cd\"}");
    http.post("/collab/tasks", "{\"title\": \"a\"}");
    problem(http.post("/collab/events", "{\"event\": \"task_done\", \"target\": \"tasks/x\"}"), 400, "task_");

    assertThat(Http.json(http.get("/collab/events?after=0")).get("data")).hasSize(3);
    assertThat(Http.json(http.get("/collab/events?type=deploy,build_finished")).get("data")).hasSize(2);
    assertThat(Http.json(http.get("/collab/events?actor=cd")).get("data")).hasSize(1);
    assertThat(Http.json(http.get("/collab/events?target=tasks/")).get("data")).hasSize(1);
    JsonNode page = Http.json(http.get("/collab/events?after=0&limit=2"));
    assertThat(page.get("data")).hasSize(2);
    assertThat(page.get("last_id").asLong()).isEqualTo(page.get("data").get(1).get("id").asLong());
    problem(http.get("/collab/events?after=-1"), 400, "after");

    HttpResponse<String> log = http.get("/collab/log.md?after=0");
    assertThat(log.headers().firstValue("Content-Type").orElse("")).startsWith("text/markdown");
    assertThat(log.body()).contains("builds/1").contains("envs/prod").contains("# Event log");
  }

  /**
   * Bug: a position past the log's end was accepted: a poll answered it (after=Long.MAX_VALUE even came back as
   * last_id), so a client kept a position no event reaches and skipped the events that got the ids up to it.
   */
  @Test
  void aPositionPastTheLogsEndIs409() {
    http.post("/collab/events", "{\"event\": \"one\", \"target\": \"x\"}");
    long last = Http.json(http.post("/collab/events", "{\"event\": \"two\", \"target\": \"x\"}")).get("id")
        .asLong();
    JsonNode past = problem(http.get("/collab/events?after=" + (last + 2)), 409,
        "after=" + (last + 2) + " is past the end of the event log: the last event id is " + last);
    assertThat(past.get("last_id").asLong()).isEqualTo(last);
    problem(http.get("/collab/events?after=9223372036854775807&wait=1"), 409,
        "after=9223372036854775807 is past the end of the event log: the last event id is " + last);
    // the end itself is a position: nothing yet (a long poll would wait for the next event)
    JsonNode atEnd = Http.json(http.get("/collab/events?after=" + last));
    assertThat(atEnd.get("data")).isEmpty();
    assertThat(atEnd.get("last_id").asLong()).isEqualTo(last);
    // the end is read from the store, so an event committed there a moment ago is a position already
    long committed = server.store.collab().events().append("direct", "x", Json.object()).id();
    assertThat(http.get("/collab/events?after=" + committed).statusCode()).isEqualTo(200);
  }

  @Test
  void aLongPollReturnsWhenAMatchingEventCommits() throws Exception {
    long last = Http.json(http.get("/collab/events")).get("last_id").asLong();
    CompletableFuture<HttpResponse<String>> poll = http.client.sendAsync(
        HttpRequest.newBuilder(URI.create(server.uri() + "/collab/events?type=wanted&wait=60&after=" + last)).build(),
        HttpResponse.BodyHandlers.ofString());
    Await.until(Duration.ofSeconds(30), () -> server.server.hub().clientCount() == 1);
    http.post("/collab/events", "{\"event\": \"unwanted\", \"target\": \"x\"}");
    http.post("/collab/events", "{\"event\": \"wanted\", \"target\": \"x\"}");
    HttpResponse<String> r = poll.get(30, TimeUnit.SECONDS);
    JsonNode body = Http.json(r);
    assertThat(body.get("data")).hasSize(1);
    assertThat(body.get("data").get(0).get("event").asText()).isEqualTo("wanted");
    assertThat(server.server.hub().clientCount()).isZero();
  }

  @Test
  void aLongPollEndsEmptyWhenTheWaitPasses() {
    HttpResponse<String> r = http.get("/collab/events?type=never&wait=1");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(Http.json(r).get("data")).isEmpty();
    problem(http.get("/collab/events?wait=3600"), 400, "wait must be in 0..60");
  }
}
