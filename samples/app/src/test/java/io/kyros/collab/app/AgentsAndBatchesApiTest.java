package io.kyros.collab.app;

import static io.kyros.collab.app.ProblemAssert.problem;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The agents and batches routes over real HTTP. */
class AgentsAndBatchesApiTest extends ApiTestBase {
  @Test
  void agentsRegisterComeOnlineWithHeartbeatsAndAreToggled() {
    HttpResponse<String> created = http.post("/collab/agents",
        "{\"id\": \"agent-1\", \"role\": \"builder\", \"skills\": [\"java\", \"docs\"], \"metadata\": {\"host\": \"a\"}}");
    assertThat(created.statusCode()).isEqualTo(201);
    JsonNode agent = Http.json(created);
    assertThat(agent.get("status").asText()).isEqualTo("offline");
    assertThat(agent.get("skills").toString()).isEqualTo("[\"docs\",\"java\"]");
    assertThat(agent.get("metadata").get("host").asText()).isEqualTo("a");
    // registering again with the same description changes nothing
    HttpResponse<String> again = http.post("/collab/agents",
        "{\"id\": \"agent-1\", \"role\": \"builder\", \"skills\": [\"java\", \"docs\"], \"metadata\": {\"host\": \"a\"}}");
    assertThat(again.statusCode()).isEqualTo(200);
    assertThat(Http.etag(again)).isEqualTo(Http.etag(created));

    JsonNode beat = Http.json(http.post("/collab/agents/agent-1/heartbeat", "{\"ttl_seconds\": 120}"));
    assertThat(beat.get("agent").get("status").asText()).isEqualTo("available");
    assertThat(beat.get("agent").get("last_seen").isNull()).isFalse();
    long fence = beat.get("fence").asLong();
    // a second heartbeat renews the same presence lease
    JsonNode beat2 = Http.json(http.post("/collab/agents/agent-1/heartbeat", null));
    assertThat(beat2.get("lock_id").asText()).isEqualTo(beat.get("lock_id").asText());
    assertThat(beat2.get("fence").asLong()).isEqualTo(fence);

    JsonNode off = Http.json(http.post("/collab/agents/agent-1/availability", "{\"available\": false}"));
    assertThat(off.get("status").asText()).isEqualTo("disabled");
    assertThat(off.get("available").asBoolean()).isFalse();
    JsonNode on = Http.json(http.post("/collab/agents/agent-1/availability", "{\"available\": true}"));
    assertThat(on.get("status").asText()).isEqualTo("available");
    problem(http.post("/collab/agents/agent-1/availability", "{\"available\": \"yes\"}"), 400, "'available'");

    JsonNode list = Http.json(http.get("/collab/agents"));
    assertThat(list.get("data")).hasSize(1);
    HttpResponse<String> one = http.get("/collab/agents/agent-1");
    assertThat(one.statusCode()).isEqualTo(200);
    assertThat(http.get("/collab/agents/agent-1", "If-None-Match", Http.etag(one)).statusCode()).isEqualTo(304);
    problem(http.get("/collab/agents/nobody"), 404, "no agent nobody");
    problem(http.post("/collab/agents/nobody/heartbeat", "{}"), 404, "no agent nobody");
    problem(http.post("/collab/agents", "{\"id\": \"a2\"}"), 400, "'role' is required");

    JsonNode types = Http.json(http.get("/collab/events?type=agent_registered,agent_status_changed"));
    List<String> seen = new ArrayList<>();
    types.get("data").forEach(e -> seen.add(e.get("event").asText() + " " + e.get("actor").asText()));
    assertThat(seen).first().isEqualTo("agent_registered agent-1");
    assertThat(seen).hasSize(4); // registered, joined, disabled, enabled
  }

  /**
   * Bug: availability and batch cancel ignored If-Match, so the console's toggle, sent with the ETag it showed,
   * overwrote a change made meanwhile instead of answering 412; a malformed If-Match was not refused either.
   */
  @Test
  void availabilityAndCancelHonourIfMatch() {
    String shown = Http.etag(http.post("/collab/agents", "{\"id\": \"agent-9\", \"role\": \"r\"}"));
    HttpResponse<String> off = http.post("/collab/agents/agent-9/availability", "{\"available\": false}",
        "If-Match", shown);
    assertThat(off.statusCode()).as(off.body()).isEqualTo(200);
    JsonNode stale = problem(http.post("/collab/agents/agent-9/availability", "{\"available\": true}", "If-Match",
        shown), 412, "If-Match " + shown + " does not match");
    assertThat(stale.get("current").get("status").asText()).as("the API's agent").isEqualTo("disabled");
    assertThat(stale.get("current").get("etag").asText()).isEqualTo(Http.etag(off));
    assertThat(Http.json(http.get("/collab/agents/agent-9")).get("available").asBoolean()).isFalse();
    problem(http.post("/collab/agents/agent-9/availability", "{\"available\": true}", "If-Match", "not-quoted"), 400,
        "quoted");
    assertThat(http.post("/collab/agents/agent-9/availability", "{\"available\": true}", "If-Match",
        "\"0-old\", " + Http.etag(off)).statusCode()).as("one listed tag matches").isEqualTo(200);
    assertThat(http.post("/collab/agents/agent-9/availability", "{\"available\": false}", "If-Match", "*")
        .statusCode()).isEqualTo(200);

    String batch = Http.etag(http.post("/collab/batches", "{\"id\": \"b9\", \"label\": \"l\", \"items\": "
        + "[{\"id\": \"a\"}]}"));
    JsonNode refused = problem(http.post("/collab/batches/b9/cancel", "{}", "If-Match", "\"0-stale\""), 412,
        "If-Match \"0-stale\" does not match");
    assertThat(refused.get("current").get("state").asText()).isEqualTo("running");
    problem(http.post("/collab/batches/b9/cancel", "{}", "If-Match", "W/"), 400, "If-Match");
    assertThat(Http.json(http.get("/collab/batches/b9")).get("state").asText()).isEqualTo("running");
    String current = Http.etag(http.get("/collab/batches/b9"));
    HttpResponse<String> cancelled = http.post("/collab/batches/b9/cancel", "{}", "If-Match", current);
    assertThat(cancelled.statusCode()).as(cancelled.body()).isEqualTo(200);
    assertThat(batch).isNotBlank();
    // a progress stream resuming past the log's end is refused like the tail (no stream waits for events never made)
    problem(http.get("/collab/batches/b9/progress", "Last-Event-ID", "999999"), 409, "Last-Event-ID: 999999 is past");
  }

  @Test
  void aHeartbeatIs409WhileAnotherHolderHasThePresenceLease() {
    http.post("/collab/agents", "{\"id\": \"agent-2\", \"role\": \"r\"}");
    assertThat(http.post("/collab/leases/acquire",
        "{\"resource\": \"agents/agent-2\", \"holder\": \"impostor\", \"ttl_seconds\": 60}").statusCode())
        .isEqualTo(200);
    problem(http.post("/collab/agents/agent-2/heartbeat", "{}"), 409, "already online");
  }

  @Test
  void agentsAndBatchesStateHasETags() {
    HttpResponse<String> empty = http.get("/collab/state/agents");
    assertThat(empty.statusCode()).isEqualTo(200);
    assertThat(http.get("/collab/state/agents", "If-None-Match", Http.etag(empty)).statusCode()).isEqualTo(304);
    http.post("/collab/agents", "{\"id\": \"agent-3\", \"role\": \"r\"}");
    HttpResponse<String> one = http.get("/collab/state/agents");
    assertThat(Http.json(one).get("data")).hasSize(1);
    assertThat(Http.etag(one)).isNotEqualTo(Http.etag(empty));
    // coming online changes the status, and so the tag
    http.post("/collab/agents/agent-3/heartbeat", "{}");
    assertThat(http.get("/collab/state/agents", "If-None-Match", Http.etag(one)).statusCode()).isEqualTo(200);

    HttpResponse<String> batches = http.get("/collab/state/batches");
    assertThat(Http.json(batches).get("data")).isEmpty();
    http.post("/collab/batches", "{\"label\": \"convert\", \"items\": [{\"id\": \"a\"}]}");
    HttpResponse<String> withOne = http.get("/collab/state/batches");
    assertThat(Http.json(withOne).get("data")).hasSize(1);
    assertThat(http.get("/collab/state/batches", "If-None-Match", Http.etag(withOne)).statusCode()).isEqualTo(304);
  }

  @Test
  void batchesAreSubmittedReadCancelledAndTheirProgressStreams() throws Exception {
    HttpResponse<String> submitted = http.post("/collab/batches", "{\"id\": \"b1\", \"label\": \"convert\", "
        + "\"items\": [{\"id\": \"a\", \"payload\": \"a.doc\"}, {\"id\": \"b\", \"title\": \"Bee\"}, {\"id\": \"c\"}], "
        + "\"concurrency\": 2, \"policy\": \"retry-failed\", \"retries\": 2}");
    assertThat(submitted.statusCode()).isEqualTo(201);
    assertThat(submitted.headers().firstValue("Location")).hasValue("/collab/batches/b1");
    JsonNode b1 = Http.json(submitted);
    assertThat(b1.get("state").asText()).isEqualTo("running");
    assertThat(b1.get("policy").asText()).isEqualTo("retry-failed");
    assertThat(b1.get("retries").asInt()).isEqualTo(2);
    assertThat(b1.get("progress").get("total").asInt()).isEqualTo(3);
    // two items released as tasks (the concurrency), labelled with the batch
    JsonNode tasks = Http.json(http.get("/collab/tasks?label=batch.b1"));
    assertThat(tasks.get("data")).hasSize(2);
    http.post("/collab/batches", "{\"id\": \"b10\", \"label\": \"convert\", \"items\": [{\"id\": \"x\"}]}");

    HttpResponse<String> read = http.get("/collab/batches/b1");
    long position = Http.json(read).get("last_event_id").asLong();
    assertThat(http.get("/collab/batches/b1", "If-None-Match", Http.etag(read)).statusCode()).isEqualTo(304);
    assertThat(Http.json(http.get("/collab/batches")).get("data")).hasSize(2);

    assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
      try (SseTest.Stream stream = new SseTest.Stream(http.client,
          server.uri("/collab/batches/b1/progress?after=" + position))) {
        assertThat(stream.response.statusCode()).isEqualTo(200);
        // another batch's events (b10 shares the prefix) are not in b1's stream
        http.post("/collab/batches/b10/cancel", "{\"reason\": \"other\"}");
        JsonNode cancelled = Http.json(http.post("/collab/batches/b1/cancel", "{\"reason\": \"not needed\"}"));
        assertThat(cancelled.get("state").asText()).isEqualTo("cancelled");
        assertThat(cancelled.get("reason").asText()).contains("not needed");
        List<String> got = new ArrayList<>();
        while (got.size() < 2) {
          JsonNode e = stream.next();
          assertThat(e.get("target").asText()).isEqualTo("batches/b1");
          got.add(e.get("event").asText());
        }
        assertThat(got).containsExactlyInAnyOrder("batch_state_changed", "batch_progress");
      }
    });
    problem(http.post("/collab/batches/b1/cancel", "{}"), 409, "not allowed");
    // the human log renders the agents' and batches' events
    HttpResponse<String> log = http.get("/collab/log.md");
    assertThat(log.statusCode()).isEqualTo(200);
    assertThat(log.body()).contains("batch `b1` running → cancelled (not needed)")
        .contains("batch `b1` at 100% (0 succeeded, 0 failed, 3 cancelled, 0 running)");
    problem(http.get("/collab/batches/nope"), 404, "no batch nope");
    problem(http.get("/collab/batches/nope/progress"), 404, "no batch nope");
    problem(http.post("/collab/batches", "{\"label\": \"convert\", \"items\": []}"), 400, "'items'");
    problem(http.post("/collab/batches", "{\"label\": \"convert\", \"items\": [{\"id\": \"a\", \"x\": 1}]}"), 400,
        "unknown member 'x'");
    problem(http.post("/collab/batches", "{\"label\": \"c\", \"items\": [{\"id\": \"a\"}], \"policy\": \"nope\"}"),
        400, "nope");
  }
}
