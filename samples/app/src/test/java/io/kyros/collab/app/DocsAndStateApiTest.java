package io.kyros.collab.app;

import static io.kyros.collab.app.ProblemAssert.problem;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;

class DocsAndStateApiTest extends ApiTestBase {

  @Test
  void documentsFollowRfc9110Preconditions() {
    String path = "/collab/docs/orders/42";
    problem(http.send("PUT", path, "{\"state\": \"new\"}"), 428, "If-Match");
    HttpResponse<String> created = http.send("PUT", path, "{\"state\": \"new\"}", "If-None-Match", "*");
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    String etag = Http.etag(created);
    problem(http.send("PUT", path, "{\"state\": \"new\"}", "If-None-Match", "*"), 412, "precondition failed");

    HttpResponse<String> read = http.get(path);
    assertThat(read.statusCode()).isEqualTo(200);
    assertThat(Http.json(read).get("data").get("state").asText()).isEqualTo("new");
    assertThat(Http.etag(read)).isEqualTo(etag);
    assertThat(http.get(path, "If-None-Match", etag).statusCode()).isEqualTo(304);
    problem(http.get(path, "If-Match", "\"1-nope\""), 412, "If-Match");

    HttpResponse<String> replaced = http.send("PUT", path, "{\"state\": \"paid\"}", "If-Match", etag);
    assertThat(replaced.statusCode()).isEqualTo(200);
    JsonNode stale = problem(http.send("PUT", path, "{\"state\": \"lost\"}", "If-Match", etag), 412,
        "precondition failed");
    assertThat(stale.get("current").get("data").get("state").asText()).isEqualTo("paid");
    assertThat(stale.get("current").get("etag").asText()).isEqualTo(Http.etag(replaced));

    problem(http.send("DELETE", path, null), 428, "If-Match");
    problem(http.send("DELETE", path, null, "If-Match", etag), 412, "precondition failed");
    assertThat(http.send("DELETE", path, null, "If-Match", Http.etag(replaced)).statusCode()).isEqualTo(204);
    problem(http.get(path), 404, "no document orders/42");
    problem(http.send("PUT", path, "{\"a\": 1}", "If-Match", "not-quoted"), 400, "entity tag must be quoted");
    problem(http.send("PUT", "/collab/docs/bad!name/1", "{}", "If-None-Match", "*"), 400, "collection");
  }

  /**
   * Bug: a PUT creating a document under If-None-Match with entity tags answered 200, not 201; and any made-up
   * If-None-Match tag satisfied "a write needs a precondition", so writes were unconditional without
   * --allow-unconditional. Only If-Match or If-None-Match: * satisfies it now; a create is 201 whatever allowed it.
   */
  @Test
  void ifNoneMatchWithTagsIsNotAPreconditionAloneAndACreateIs201() throws Exception {
    String path = "/collab/docs/orders/7";
    problem(http.send("PUT", path, "{\"state\": \"new\"}", "If-None-Match", "\"sometag\""), 428,
        "If-None-Match: \"sometag\" does not make this write conditional");
    problem(http.send("DELETE", path, null, "If-None-Match", "\"sometag\""), 428, "If-None-Match");
    problem(http.get(path), 404, "no document");
    HttpResponse<String> created = http.send("PUT", path, "{\"state\": \"new\"}", "If-None-Match", "*");
    assertThat(created.statusCode()).isEqualTo(201);
    // If-Match with If-None-Match tags: both must hold
    problem(http.send("PUT", path, "{\"state\": \"x\"}", "If-Match", Http.etag(created), "If-None-Match",
        Http.etag(created)), 412, "precondition failed");
    HttpResponse<String> replaced = http.send("PUT", path, "{\"state\": \"paid\"}", "If-Match", Http.etag(created),
        "If-None-Match", "\"sometag\"");
    assertThat(replaced.statusCode()).as(replaced.body()).isEqualTo(200);

    // where the server allows unconditional writes, a tag that allowed a create still makes it a create
    server.close();
    server = TestServer.start(dir, b -> b.allowUnconditional(true));
    http = new Http(server.uri());
    HttpResponse<String> tagged = http.send("PUT", "/collab/docs/orders/8", "{\"a\": 1}", "If-None-Match",
        "\"sometag\"");
    assertThat(tagged.statusCode()).as(tagged.body()).isEqualTo(201);
    HttpResponse<String> again = http.send("PUT", "/collab/docs/orders/8", "{\"a\": 2}", "If-None-Match",
        "\"sometag\"");
    assertThat(again.statusCode()).as("a replace").isEqualTo(200);
    JsonNode refused = problem(http.send("PUT", "/collab/docs/orders/8", "{\"a\": 3}", "If-None-Match",
        Http.etag(again)), 412, "If-None-Match");
    assertThat(refused.get("current").get("data").get("a").asInt()).isEqualTo(2);
  }

  @Test
  void stateOfEachKindHasAnEtagAnd304() {
    http.post("/collab/tasks", "{\"title\": \"a\"}");
    http.send("PUT", "/collab/docs/notes/n1", "{\"t\": 1}", "If-None-Match", "*");
    http.post("/collab/leases/acquire", "{\"resource\": \"r1\", \"holder\": \"h\", \"ttl_seconds\": 60}");
    for (String kind : new String[] {"tasks", "leases", "notes"}) {
      HttpResponse<String> r = http.get("/collab/state/" + kind);
      assertThat(r.statusCode()).as(kind + ": " + r.body()).isEqualTo(200);
      JsonNode body = Http.json(r);
      assertThat(body.get("data")).hasSize(1);
      assertThat(body.get("etag").asText()).isEqualTo(Http.etag(r));
      assertThat(http.get("/collab/state/" + kind, "If-None-Match", Http.etag(r)).statusCode()).as(kind).isEqualTo(304);
    }
    String before = Http.etag(http.get("/collab/state/tasks"));
    http.post("/collab/tasks", "{\"title\": \"b\"}");
    HttpResponse<String> after = http.get("/collab/state/tasks", "If-None-Match", before);
    assertThat(after.statusCode()).isEqualTo(200);
    assertThat(Http.json(after).get("data")).hasSize(2);
    assertThat(http.get("/collab/state/agents").statusCode()).isEqualTo(200); // AgentsAndBatchesApiTest checks it
    problem(http.get("/collab/state/_tasks"), 404, "_tasks");
  }

  @Test
  void writesWithoutPreconditionsPassWhenTheServerAllowsThem() throws Exception {
    server.close();
    server = TestServer.start(dir, b -> b.allowUnconditional(true));
    http = new Http(server.uri());
    assertThat(http.send("PUT", "/collab/docs/orders/1", "{\"a\": 1}").statusCode()).as("created").isEqualTo(201);
    assertThat(http.send("PUT", "/collab/docs/orders/1", "{\"a\": 2}").statusCode()).as("replaced").isEqualTo(200);
    assertThat(http.send("DELETE", "/collab/docs/orders/1", null).statusCode()).isEqualTo(204);
    String id = Http.json(http.post("/collab/tasks", "{\"title\": \"a\"}")).get("id").asText();
    assertThat(http.send("PATCH", "/collab/tasks/" + id, "{\"title\": \"b\"}").statusCode()).isEqualTo(200);
  }

  @Test
  void healthAndReadiness() {
    assertThat(Http.json(http.get("/healthz")).get("status").asText()).isEqualTo("up");
    JsonNode ready = Http.json(http.get("/readyz"));
    assertThat(ready.get("status").asText()).isEqualTo("ready");
    assertThat(ready.has("now")).isTrue();
    server.store.storage().close(); // the storage goes away under the running server
    problem(http.get("/readyz"), 503, "the storage does not answer");
    assertThat(http.get("/healthz").statusCode()).isEqualTo(200);
  }

  @Test
  void theConsoleIsServedFromTheJarWithEtags() {
    HttpResponse<String> index = http.get("/");
    assertThat(index.statusCode()).isEqualTo(200);
    assertThat(index.headers().firstValue("Content-Type").orElse("")).startsWith("text/html");
    assertThat(http.get("/", "If-None-Match", Http.etag(index)).statusCode()).isEqualTo(304);
    problem(http.get("/no-such-file.js"), 404, "no route");
  }
}
