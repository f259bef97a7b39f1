package io.kyros.collab.app;

import static io.kyros.collab.app.ProblemAssert.problem;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class TasksApiTest extends ApiTestBase {

  private String create(String body) {
    HttpResponse<String> r = http.post("/collab/tasks", body);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
    return Http.json(r).get("id").asText();
  }

  @Test
  void createAnswers201WithIdEtagAndLocation() {
    HttpResponse<String> r = http.post("/collab/tasks",
        "{\"id\": \"t1\", \"title\": \"Write\", \"priority\": 5, \"labels\": [\"docs\"], \"checklist\": [\"draft\","
            + " {\"text\": \"review\", \"done\": true}]}");
    assertThat(r.statusCode()).isEqualTo(201);
    JsonNode body = Http.json(r);
    assertThat(body.get("id").asText()).isEqualTo("t1");
    assertThat(body.get("etag").asText()).isEqualTo(Http.etag(r));
    assertThat(r.headers().firstValue("Location")).hasValue("/collab/tasks/t1");

    JsonNode task = Http.json(http.get("/collab/tasks/t1"));
    assertThat(task.get("title").asText()).isEqualTo("Write");
    assertThat(task.get("status").asText()).isEqualTo("queued");
    assertThat(task.get("priority").asInt()).isEqualTo(5);
    assertThat(task.get("labels").toString()).isEqualTo("[\"docs\"]");
    assertThat(task.get("checklist").get(1).get("done").asBoolean()).isTrue();
    assertThat(task.has("depends_on")).isTrue();
  }

  /**
   * Bug: creating a task with an id that is taken answered 412 (documented: 409 "id taken"), and its current was the
   * stored record (camelCase createdAt...) instead of the API's task.
   */
  @Test
  void anIdThatIsTakenIs409WithTheExistingTask() {
    String etag = Http.etag(http.post("/collab/tasks", "{\"id\": \"t1\", \"title\": \"first\"}"));
    HttpResponse<String> taken = http.post("/collab/tasks", "{\"id\": \"t1\", \"title\": \"second\"}");
    JsonNode p = problem(taken, 409, "task id taken: a task with id t1 exists");
    JsonNode current = p.get("current");
    assertThat(current.get("title").asText()).isEqualTo("first");
    assertThat(current.get("etag").asText()).isEqualTo(etag);
    assertThat(current.has("created_at")).as(current.toString()).isTrue();
    assertThat(current.has("createdAt")).as(current.toString()).isFalse();
    assertThat(current.toString()).isEqualTo(Http.json(http.get("/collab/tasks/t1")).toString());
    assertThat(taken.headers().firstValue("ETag")).hasValue(etag);
    assertThat(Http.json(http.get("/collab/tasks")).get("data")).hasSize(1);
  }

  @Test
  void malformedOrInvalidBodiesAre400() {
    problem(http.post("/collab/tasks", "{\"title\": "), 400, "malformed JSON");
    problem(http.post("/collab/tasks", "[1]"), 400, "must be a JSON object");
    problem(http.post("/collab/tasks", "{\"title\": \"x\", \"titel\": \"y\"}"), 400, "unknown member 'titel'");
    problem(http.post("/collab/tasks", "{\"title\": 5}"), 400, "'title' must be a string");
    problem(http.post("/collab/tasks", "{}"), 400, "'title' is required");
    // checklist objects are {text, done}: another member is a typo, not something to drop silently
    problem(http.post("/collab/tasks", "{\"title\": \"x\", \"checklist\": [\"a\", {\"text\": \"b\", \"extra\": 1}]}"),
        400, "unknown member 'extra' in checklist item 1");
    assertThat(Http.json(http.get("/collab/tasks")).get("data")).as("nothing was created").isEmpty();
    problem(http.post("/collab/tasks", "{\"title\": \"x\", \"depends_on\": [\"nope\"]}"), 409, "nope");
  }

  @Test
  void getIsConditionalAndUnknownTasksAre404() {
    String id = create("{\"title\": \"a\"}");
    HttpResponse<String> first = http.get("/collab/tasks/" + id);
    assertThat(first.statusCode()).isEqualTo(200);
    HttpResponse<String> again = http.get("/collab/tasks/" + id, "If-None-Match", Http.etag(first));
    assertThat(again.statusCode()).isEqualTo(304);
    assertThat(again.body()).isEmpty();
    problem(http.get("/collab/tasks/missing"), 404, "no task missing");
    problem(http.send("DELETE", "/collab/tasks/" + id, null), 405, "allowed: ");
  }

  @Test
  void listFiltersByStatusAndLabelAndPages() {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      ids.add(create("{\"id\": \"p" + i + "\", \"title\": \"t" + i + "\", \"labels\": [\"" + (i % 2 == 0 ? "even" : "odd")
          + "\"]}"));
    }
    JsonNode page1 = Http.json(http.get("/collab/tasks?limit=2"));
    assertThat(page1.get("data")).hasSize(2);
    assertThat(page1.get("next_after").asText()).isEqualTo("p1");
    JsonNode page2 = Http.json(http.get("/collab/tasks?limit=2&after=p1"));
    assertThat(page2.get("data").get(0).get("id").asText()).isEqualTo("p2");
    JsonNode page3 = Http.json(http.get("/collab/tasks?limit=2&after=p3"));
    assertThat(page3.get("data")).hasSize(1);
    assertThat(page3.get("next_after").isNull()).isTrue();
    HttpResponse<String> unknown = http.get("/collab/tasks?limit=2&after=nosuchtask");
    assertThat(unknown.statusCode()).isEqualTo(400);
    assertThat(unknown.body()).contains("'after' must name an existing task: nosuchtask");
    JsonNode even = Http.json(http.get("/collab/tasks?label=even"));
    assertThat(even.get("data")).hasSize(3);
    JsonNode queued = Http.json(http.get("/collab/tasks?status=queued&label=odd"));
    assertThat(queued.get("data")).hasSize(2);
    assertThat(Http.json(http.get("/collab/tasks?status=done")).get("data")).isEmpty();
    problem(http.get("/collab/tasks?status=nonsense"), 400, "nonsense");
    problem(http.get("/collab/tasks?limit=0"), 400, "limit must be in 1..1000");
  }

  /** Bug: the PATCH media type was compared case-sensitively; media types are case-insensitive (RFC 9110 §8.3.1). */
  @Test
  void patchMediaTypesAreCaseInsensitive() {
    String id = create("{\"title\": \"a\"}");
    String etag = Http.etag(http.get("/collab/tasks/" + id));
    HttpResponse<String> upper = http.send("PATCH", "/collab/tasks/" + id, "{\"priority\": 2}", "If-Match", etag,
        "Content-Type", "Application/Merge-Patch+JSON; charset=UTF-8");
    assertThat(upper.statusCode()).as(upper.body()).isEqualTo(200);
    HttpResponse<String> text = http.send("PATCH", "/collab/tasks/" + id, "{\"priority\": 3}", "If-Match",
        Http.etag(upper), "Content-Type", "text/plain");
    problem(text, 415, "PATCH takes application/merge-patch+json");
    problem(http.send("PATCH", "/collab/tasks/" + id, "{\"priority\": 3}", "If-Match", Http.etag(upper),
        "Content-Type", "application/jsonp"), 415, "application/jsonp");
    assertThat(Http.json(http.get("/collab/tasks/" + id)).get("priority").asInt()).isEqualTo(2);
  }

  @Test
  void patchNeedsIfMatchAndAnswers412WithTheCurrentTask() {
    String id = create("{\"title\": \"a\", \"labels\": [\"x\"]}");
    String etag = Http.etag(http.get("/collab/tasks/" + id));
    problem(http.send("PATCH", "/collab/tasks/" + id, "{\"priority\": 3}"), 428, "If-Match");
    HttpResponse<String> ok = http.send("PATCH", "/collab/tasks/" + id, "{\"priority\": 3, \"labels\": null}",
        "If-Match", etag);
    assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
    JsonNode body = Http.json(ok);
    assertThat(body.get("ok").asBoolean()).isTrue();
    assertThat(body.get("etag").asText()).isNotEqualTo(etag).isEqualTo(Http.etag(ok));
    JsonNode task = Http.json(http.get("/collab/tasks/" + id));
    assertThat(task.get("priority").asInt()).isEqualTo(3);
    assertThat(task.get("labels")).isEmpty();

    JsonNode stale = problem(http.send("PATCH", "/collab/tasks/" + id, "{\"priority\": 4}", "If-Match", etag), 412,
        "precondition failed");
    assertThat(stale.get("current").get("priority").asInt()).isEqualTo(3);
    assertThat(stale.get("current").get("etag").asText()).isEqualTo(body.get("etag").asText());
    problem(http.send("PATCH", "/collab/tasks/" + id, "{\"status\": \"done\"}", "If-Match", body.get("etag").asText()),
        400, "transition");
  }

  @Test
  void transitionWithIfMatchAnswersOldAndNewStatus() {
    String id = create("{\"title\": \"a\"}");
    String etag = Http.etag(http.get("/collab/tasks/" + id));
    problem(http.post("/collab/tasks/" + id + "/transition", "{\"to\": \"done\"}"), 428, "If-Match");
    problem(http.post("/collab/tasks/" + id + "/transition", "{\"to\": \"review\"}", "If-Match", etag), 409,
        "queued");
    HttpResponse<String> r = http.post("/collab/tasks/" + id + "/transition", "{\"to\": \"failed\"}", "If-Match", etag);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(Http.json(r).get("old_status").asText()).isEqualTo("queued");
    assertThat(Http.json(r).get("new_status").asText()).isEqualTo("failed");
    assertThat(Http.json(r).get("etag").asText()).isEqualTo(Http.etag(r)).isNotEqualTo(etag);
    problem(http.post("/collab/tasks/" + id + "/transition", "{\"to\": \"queued\"}", "If-Match", etag), 412,
        "precondition failed");
  }

  @Test
  void taskWritesTakeAnIfMatchListAndSucceedWhenAnyListedTagIsCurrent() {
    String id = create("{\"title\": \"a\"}");
    String first = Http.etag(http.get("/collab/tasks/" + id));
    HttpResponse<String> ok = http.send("PATCH", "/collab/tasks/" + id, "{\"priority\": 1}", "If-Match",
        "\"0-stale\", " + first);
    assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
    String second = Http.etag(ok);

    // only stale tags: 412 naming the condition, with the current task
    JsonNode stale = problem(http.send("PATCH", "/collab/tasks/" + id, "{\"priority\": 2}", "If-Match",
        first + ", \"0-stale\""), 412, "If-Match " + first + ", \"0-stale\" does not match, current ETag " + second);
    assertThat(stale.get("current").get("etag").asText()).isEqualTo(second);
    assertThat(stale.get("current").get("priority").asInt()).isEqualTo(1);

    // a weak tag of the current value never matches If-Match (strong comparison)
    HttpResponse<String> weak = http.post("/collab/tasks/" + id + "/transition", "{\"to\": \"failed\"}", "If-Match",
        "W/" + second + ", " + first);
    assertThat(problem(weak, 412, "does not match").get("current").get("status").asText()).isEqualTo("queued");
    assertThat(Http.etag(weak)).isEqualTo(second);

    HttpResponse<String> moved = http.post("/collab/tasks/" + id + "/transition", "{\"to\": \"failed\"}",
        "If-Match", first + ", " + second);
    assertThat(moved.statusCode()).as(moved.body()).isEqualTo(200);
    assertThat(Http.json(moved).get("new_status").asText()).isEqualTo("failed");

    HttpResponse<String> any = http.send("PATCH", "/collab/tasks/" + id, "{\"priority\": 3}", "If-Match", "*");
    assertThat(any.statusCode()).as(any.body()).isEqualTo(200);
    assertThat(Http.json(http.get("/collab/tasks/" + id)).get("priority").asInt()).isEqualTo(3);
    problem(http.send("PATCH", "/collab/tasks/" + id, "{\"priority\": 4}", "If-Match", "\"a\", *"), 400,
        "'*' must be the only value");
    problem(http.send("PATCH", "/collab/tasks/missing", "{\"priority\": 4}", "If-Match", first + ", " + second), 404,
        "no task missing");
  }

  @Test
  void claimNextThenCompleteWithTheFenceAndAStaleFenceIs409NamingTheHolder() {
    String id = create("{\"title\": \"a\"}");
    HttpResponse<String> claimed = http.post("/collab/tasks/claim-next", "{\"worker\": \"w1\", \"ttl_seconds\": 60}");
    assertThat(claimed.statusCode()).as(claimed.body()).isEqualTo(200);
    JsonNode c = Http.json(claimed);
    assertThat(c.get("task").get("id").asText()).isEqualTo(id);
    assertThat(c.get("task").get("assignee").asText()).isEqualTo("w1");
    long fence = c.get("fence").asLong();
    String lock = c.get("lock_id").asText();
    assertThat(http.post("/collab/tasks/claim-next", "{\"worker\": \"w2\"}").statusCode()).isEqualTo(204);

    JsonNode stale = problem(http.post("/collab/tasks/" + id + "/complete",
        "{\"lock_id\": \"" + lock + "\", \"fence\": " + (fence + 1) + "}"), 409, "current holder: w1");
    assertThat(stale.get("current_holder").asText()).isEqualTo("w1");

    HttpResponse<String> moved = http.post("/collab/tasks/" + id + "/transition",
        "{\"to\": \"in_progress\", \"lock_id\": \"" + lock + "\", \"fence\": " + fence + "}");
    assertThat(Http.json(moved).get("new_status").asText()).isEqualTo("in_progress");
    HttpResponse<String> done = http.post("/collab/tasks/" + id + "/complete",
        "{\"lock_id\": \"" + lock + "\", \"fence\": " + fence + "}");
    assertThat(done.statusCode()).as(done.body()).isEqualTo(200);
    assertThat(Http.json(done).get("status").asText()).isEqualTo("done");
    problem(http.post("/collab/tasks/" + id + "/complete", "{\"lock_id\": \"" + lock + "\", \"fence\": " + fence + "}"),
        409, "not claimed");

    JsonNode events = Http.json(http.get("/collab/events?after=0&type=task_completed"));
    assertThat(events.get("data").get(0).get("actor").asText()).isEqualTo("w1");
  }

  @Test
  void claimableListsWhatClaimsWouldTakeInTheirOrderWithoutClaiming() {
    create("{\"id\": \"low\", \"title\": \"low\", \"priority\": 1}");
    create("{\"id\": \"high\", \"title\": \"high\", \"priority\": 5, \"labels\": [\"gpu\"]}");
    create("{\"id\": \"blocked\", \"title\": \"blocked\", \"priority\": 9, \"depends_on\": [\"low\"]}");
    create("{\"id\": \"claimable\", \"title\": \"a task named like the route\", \"labels\": [\"cpu\"]}");

    JsonNode all = Http.json(http.get("/collab/claimable"));
    assertThat(all.get("data")).extracting(t -> t.get("id").asText()).containsExactly("high", "low", "claimable");
    assertThat(all.get("data").get(0).get("status").asText()).isEqualTo("queued");
    assertThat(all.get("more").asBoolean()).isFalse();
    JsonNode two = Http.json(http.get("/collab/claimable?limit=2"));
    assertThat(two.get("data")).extracting(t -> t.get("id").asText()).containsExactly("high", "low");
    assertThat(two.get("more").asBoolean()).isTrue();
    assertThat(Http.json(http.get("/collab/claimable?label=cpu,gpu,cpu")).get("data"))
        .extracting(t -> t.get("id").asText()).containsExactly("high", "claimable");
    assertThat(Http.json(http.get("/collab/claimable?label=cpu")).get("data"))
        .extracting(t -> t.get("id").asText()).containsExactly("claimable");
    assertThat(Http.json(http.get("/collab/tasks/claimable")).get("title").asText())
        .as("a task may be called claimable: the route is not under /collab/tasks/")
        .isEqualTo("a task named like the route");
    problem(http.get("/collab/claimable?limit=0"), 400, "limit must be in 1..1000: 0");
    problem(http.get("/collab/claimable?limit=1001"), 400, "limit must be in 1..1000");
    problem(http.get("/collab/claimable?label=no%20spaces"), 400, "label");

    assertThat(Http.json(http.get("/collab/tasks?status=queued")).get("data")).as("nothing was claimed").hasSize(4);
    JsonNode claimed = Http.json(http.post("/collab/tasks/claim-next", "{\"worker\": \"w1\"}"));
    assertThat(claimed.get("task").get("id").asText()).as("the claim takes the first listed").isEqualTo("high");
    assertThat(Http.json(http.get("/collab/claimable")).get("data")).extracting(t -> t.get("id").asText())
        .containsExactly("low", "claimable");
  }

  @Test
  void failAndReleaseEndTheClaim() {
    String a = create("{\"id\": \"a\", \"title\": \"a\", \"priority\": 9}");
    String b = create("{\"id\": \"b\", \"title\": \"b\", \"max_attempts\": 1, \"labels\": [\"bee\"]}");
    JsonNode ca = Http.json(http.post("/collab/tasks/claim-next", "{\"worker\": \"w1\"}"));
    assertThat(ca.get("task").get("id").asText()).isEqualTo(a);
    HttpResponse<String> released = http.post("/collab/tasks/" + a + "/release",
        "{\"lock_id\": \"" + ca.get("lock_id").asText() + "\", \"fence\": " + ca.get("fence").asLong() + "}");
    assertThat(Http.json(released).get("status").asText()).isEqualTo("queued");
    JsonNode cb = Http.json(http.post("/collab/tasks/claim-next", "{\"worker\": \"w2\", \"labels\": [\"bee\"]}"));
    assertThat(cb.get("task").get("id").asText()).isEqualTo(b);
    HttpResponse<String> failed = http.post("/collab/tasks/" + b + "/fail",
        "{\"lock_id\": \"" + cb.get("lock_id").asText() + "\", \"fence\": " + cb.get("fence").asLong()
            + ", \"error\": \"tests fail\"}");
    assertThat(failed.statusCode()).as(failed.body()).isEqualTo(200);
    assertThat(Http.json(failed).get("status").asText()).isEqualTo("failed");
    assertThat(Http.json(failed).get("last_error").asText()).isEqualTo("tests fail");
  }
}
