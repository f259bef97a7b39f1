package io.kyros.collab.app;

import static io.kyros.collab.app.ProblemAssert.problem;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;

/**
 * Requests whose meaning the server used to guess (found by an adversarial review of the API): a parameter or header
 * given twice, an empty number, a blank name, a made-up field, a lock id that is not the claim's, a ttl too small to
 * be one, a taken batch id. Each is either answered as the HTTP rules say or refused with a 400 (409) naming what is
 * wrong, and nothing is written. Each test names the bug it pins.
 */
class AmbiguousRequestsTest extends ApiTestBase {
  private String etagOf(String path) {
    return Http.etag(http.get(path));
  }

  /**
   * Bug: a query parameter given twice meant its first value ({@code ?limit=1&limit=5000} passed the range check on
   * 1), and {@code ?after=} (an unset variable) replayed the whole log on the live tail as after=0.
   */
  @Test
  void aParameterGivenTwiceOrAnEmptyNumberIs400() {
    http.post("/collab/events", "{\"event\": \"one\", \"target\": \"x\"}");
    refused(
        "/collab/events?after=0&after=999", "query parameter after given 2 times; give it once",
        "/collab/events?limit=1&limit=5000", "query parameter limit given 2 times",
        "/collab/tasks?status=queued&status=done", "query parameter status given 2 times",
        "/collab/claimable?limit=5&limit=6", "query parameter limit given 2 times",
        "/collab/events?after=", "after must be a whole number, not empty",
        "/collab/events/tail?after=", "after must be a whole number, not empty",
        "/collab/events?limit=", "limit must be a whole number, not empty");
    // a list parameter may repeat, as the API documents
    assertThat(Http.json(http.get("/collab/events?after=0&type=one&type=two")).get("data")).hasSize(1);
    assertThat(Http.json(http.get("/collab/events?after=0")).get("data")).hasSize(1);
  }

  /** GETs each path (even positions) and expects a 400 whose detail holds the text after it. */
  private void refused(String... pathsAndDetails) {
    for (int i = 0; i < pathsAndDetails.length; i += 2) {
      problem(http.get(pathsAndDetails[i]), 400, pathsAndDetails[i + 1]);
    }
  }

  /** Bug: {@code label=,,} meant no filter while {@code label=,a} was refused; an empty name in a list is an error. */
  @Test
  void anEmptyLabelOrStatusInAListIs400() {
    http.post("/collab/tasks", "{\"title\": \"a\", \"labels\": [\"docs\"]}");
    refused("/collab/claimable?label=,,", "label", "/collab/claimable?label=docs,", "label",
        "/collab/tasks?label=,,", "label", "/collab/tasks?status=queued,", "status");
    assertThat(Http.json(http.get("/collab/claimable?label=docs")).get("data")).hasSize(1);
    assertThat(Http.json(http.get("/collab/claimable?label=")).get("data")).hasSize(1);
  }

  /**
   * Bug: a header sent on two lines was read as its first line: {@code If-Match: "stale"} then {@code If-Match:
   * <current>} was refused with 412, though together they are the list {@code "stale", <current>} (RFC 9110, section
   * 5.3), which the server accepts on one line; with a malformed second line the write went through.
   */
  @Test
  void aHeaderOnTwoLinesIsTheListTheyMake() {
    String created = Http.etag(http.send("PUT", "/collab/docs/orders/42", "{\"state\": \"new\"}", "If-None-Match", "*"));
    RawHttp.Answer both = RawHttp.send(server.uri(), "PUT /collab/docs/orders/42 HTTP/1.1", "{\"state\": \"paid\"}",
        "Content-Type: application/json", "If-Match: \"1-stale\"", "If-Match: " + created);
    assertThat(both.status()).as(both.body()).isEqualTo(200);
    String current = etagOf("/collab/docs/orders/42");
    RawHttp.send(server.uri(), "PUT /collab/docs/orders/42 HTTP/1.1", "{\"state\": \"lost\"}",
        "Content-Type: application/json", "If-Match: " + current, "If-Match: garbage").problem(400, "If-Match");
    RawHttp.Answer notModified = RawHttp.send(server.uri(), "GET /collab/docs/orders/42 HTTP/1.1", null,
        "If-None-Match: \"1-other\"", "If-None-Match: " + current);
    assertThat(notModified.status()).isEqualTo(304);
    assertThat(Http.json(http.get("/collab/docs/orders/42")).at("/data/state").asText()).isEqualTo("paid");
  }

  /** Bug: a document's 412 named its precondition as a Java record, {@code Preconditions[ifMatch="1-x", ...]}. */
  @Test
  void aFailedPreconditionIsNamedAsItsHeader() {
    http.send("PUT", "/collab/docs/orders/7", "{\"state\": \"new\"}", "If-None-Match", "*");
    JsonNode p = problem(http.send("PUT", "/collab/docs/orders/7", "{\"state\": \"x\"}", "If-Match", "\"1-x\""), 412,
        "precondition failed for orders/7: If-Match: \"1-x\", current ETag ");
    assertThat(p.get("detail").asText()).doesNotContain("Preconditions[");
  }

  /**
   * Bug: a blank holder or actor silently became the server's own identity (a lease held, an event recorded, in its
   * name), while a blank worker was refused; and {@code type} was an undocumented alias of {@code event}.
   */
  @Test
  void aBlankHolderOrActorAndAMadeUpFieldAre400() {
    problem(http.post("/collab/leases/acquire", "{\"resource\": \"r1\", \"holder\": \"\", \"ttl_seconds\": 60}"), 400,
        "'holder' must not be blank");
    problem(http.post("/collab/leases/acquire", "{\"resource\": \"r1\", \"holder\": \"  \", \"ttl_seconds\": 60}"),
        400, "'holder' must not be blank");
    problem(http.post("/collab/events", "{\"event\": \"x\", \"target\": \"a\", \"actor\": \"\"}"), 400,
        "'actor' must not be blank");
    problem(http.post("/collab/events", "{\"type\": \"x\", \"target\": \"a\"}"), 400, "type");
    problem(http.post("/collab/events", "{\"event\": \"x\", \"type\": \"y\", \"target\": \"a\"}"), 400, "type");
    assertThat(Http.json(http.get("/collab/leases")).get("data")).isEmpty();
    assertThat(Http.json(http.get("/collab/events?after=0")).get("data")).isEmpty();
  }

  /** Bug: {@code ttl_seconds: 1e-10} passed the route's check and failed in core as "ttl must be positive: PT0S". */
  @Test
  void aTtlBelowAMillisecondIs400NamingTheValueSent() {
    problem(http.post("/collab/leases/acquire", "{\"resource\": \"r1\", \"ttl_seconds\": 1e-10}"), 400,
        "'ttl_seconds' must be at least 0.001 (one millisecond): 1.0E-10");
    http.post("/collab/tasks", "{\"title\": \"a\"}");
    problem(http.post("/collab/tasks/claim-next", "{\"worker\": \"w1\", \"ttl_seconds\": 0.0004}"), 400,
        "'ttl_seconds' must be at least 0.001");
    assertThat(http.post("/collab/leases/acquire", "{\"resource\": \"r1\", \"ttl_seconds\": 0.001}").statusCode())
        .isEqualTo(200);
  }

  /**
   * Bug: a lock id that is not the claim's was answered "stale fence 1 for task f1: ... held by w1 with fence 1", a
   * message that contradicts itself and never names the lock id.
   */
  @Test
  void aLockIdThatIsNotTheClaimsIsNamedAsSuch() {
    http.post("/collab/tasks", "{\"id\": \"f1\", \"title\": \"a\"}");
    JsonNode claim = Http.json(http.post("/collab/tasks/claim-next", "{\"worker\": \"w1\"}"));
    long fence = claim.get("fence").asLong();
    JsonNode wrong = problem(http.post("/collab/tasks/f1/release", "{\"lock_id\": \"bogus\", \"fence\": " + fence + "}"),
        409, "lock_id bogus does not hold task f1 (fence " + fence + " is its claim's, with another lock_id)");
    assertThat(wrong.get("detail").asText()).doesNotContain("stale fence").contains("current holder: w1");
    assertThat(wrong.get("current_holder").asText()).isEqualTo("w1");
    // an old fence is still a stale fence
    problem(http.post("/collab/tasks/f1/release", "{\"lock_id\": \"" + claim.get("lock_id").asText()
        + "\", \"fence\": " + (fence + 1) + "}"), 409, "stale fence " + (fence + 1) + " for task f1");
    assertThat(Http.json(http.get("/collab/tasks/f1")).get("status").asText()).isEqualTo("claimed");
  }

  /** Bug: a taken batch id answered 412 with the internal record ({@code _batches/b1}, camelCase fields). */
  @Test
  void aTakenBatchIdIs409WithTheBatchAsTheApiShowsIt() {
    String body = "{\"id\": \"b1\", \"label\": \"convert\", \"items\": [{\"id\": \"i1\"}]}";
    HttpResponse<String> first = http.post("/collab/batches", body);
    assertThat(first.statusCode()).as(first.body()).isEqualTo(201);
    HttpResponse<String> again = http.post("/collab/batches", body);
    JsonNode p = problem(again, 409, "batch id taken: a batch with id b1 exists (state ");
    assertThat(p.get("detail").asText()).doesNotContain("_batches");
    JsonNode shown = Http.json(http.get("/collab/batches/b1"));
    assertThat(p.at("/current/id").asText()).isEqualTo("b1");
    assertThat(p.at("/current/label").asText()).isEqualTo("convert");
    assertThat(p.at("/current/etag")).isEqualTo(shown.get("etag"));
    assertThat(p.get("current").has("progress")).isTrue();
    assertThat(again.headers().firstValue("ETag")).isPresent();
  }
}
