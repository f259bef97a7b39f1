package io.kyros.collab.app;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/** /openapi.json lists every route the server answers, and the server answers every route it lists. */
class OpenApiTest extends ApiTestBase {
  @Override
  UnaryOperator<ServerConfig.Builder> config() {
    return b -> b.allowUnconditional(true);
  }

  @Test
  void everyListedRouteIsAnsweredByItsOwnHandler() throws Exception {
    JsonNode doc = Http.json(http.get("/openapi.json"));
    assertThat(doc.get("openapi").asText()).startsWith("3.1");
    // fixtures the path parameters name
    String task = Http.json(http.post("/collab/tasks", "{\"title\": \"fixture\"}")).get("id").asText();
    String lock = Http.json(http.post("/collab/leases/acquire",
        "{\"resource\": \"fixture\", \"holder\": \"h\", \"ttl_seconds\": 60}")).get("lock_id").asText();
    http.send("PUT", "/collab/docs/notes/n1", "{\"a\": 1}");
    Map<String, String> params = Map.of("{id}", task, "{lock_id}", lock, "{collection}", "notes", "{kind}", "tasks");

    Set<String> listed = new HashSet<>();
    List<String> answered = new ArrayList<>();
    for (Iterator<Map.Entry<String, JsonNode>> paths = doc.get("paths").fields(); paths.hasNext(); ) {
      Map.Entry<String, JsonNode> p = paths.next();
      for (Iterator<Map.Entry<String, JsonNode>> ops = p.getValue().fields(); ops.hasNext(); ) {
        Map.Entry<String, JsonNode> op = ops.next();
        String method = op.getKey().toUpperCase();
        listed.add(method + " " + p.getKey());
        assertThat(op.getValue().get("summary").asText()).isNotBlank();
        assertThat(op.getValue().get("responses").size()).isPositive();
        String path = p.getKey();
        for (Map.Entry<String, String> e : params.entrySet()) {
          path = path.replace(e.getKey(), e.getValue());
        }
        if (path.equals("/collab/docs/notes/{id}")) {
          path = "/collab/docs/notes/n1";
        }
        JsonNode example = op.getValue().path("requestBody").path("content");
        String body = example.isMissingNode() ? null : example.elements().next().get("example").toString();
        int status;
        if (path.equals("/collab/events/tail")) {
          HttpResponse<InputStream> sse = http.client.send(HttpRequest.newBuilder(URI.create(server.uri() + path))
              .build(), HttpResponse.BodyHandlers.ofInputStream());
          status = sse.statusCode();
          sse.body().close();
        } else {
          HttpResponse<String> r = http.send(method, path, body);
          status = r.statusCode();
          // the router's own answers for an unknown route or method are what must never come back
          assertThat(r.body()).as(method + " " + path).doesNotContain("no route for").doesNotContain("is not allowed on");
        }
        assertThat(status).as(method + " " + path).isNotEqualTo(405).isLessThan(500);
        answered.add(method + " " + path + " -> " + status);
      }
    }
    Set<String> routed = new HashSet<>();
    for (Route r : server.server.router().routes()) {
      routed.add(r.method() + " " + r.path());
    }
    assertThat(listed).isEqualTo(routed);
    assertThat(answered).hasSize(routed.size());
    System.out.println("OpenAPI routes called: " + answered);
  }

  /**
   * Bug: HEAD was 405 on every API route. It is answered by the GET route: the same status and headers (ETag,
   * Content-Type, Content-Length), no body; the streams (SSE) answer their headers without opening a stream.
   */
  @Test
  void headIsAnsweredForEveryGetRouteLikeGetWithoutABody() throws Exception {
    http.post("/collab/tasks", "{\"id\": \"fx\", \"title\": \"fixture\"}");
    http.post("/collab/agents", "{\"id\": \"fx\", \"role\": \"r\"}");
    http.post("/collab/batches", "{\"id\": \"fx\", \"label\": \"l\", \"items\": [{\"id\": \"a\"}]}");
    http.send("PUT", "/collab/docs/notes/fx", "{\"a\": 1}");
    String lock = Http.json(http.post("/collab/leases/acquire",
        "{\"resource\": \"fixture\", \"holder\": \"h\", \"ttl_seconds\": 60}")).get("lock_id").asText();
    Map<String, String> params = Map.of("{id}", "fx", "{lock_id}", lock, "{collection}", "notes", "{kind}", "tasks");
    // answers that hold the time of the request may differ in length from one request to the next
    Set<String> timed = Set.of("/readyz", "/collab/leases");
    List<String> checked = new ArrayList<>();
    for (Route r : server.server.router().routes()) {
      if (!r.method().equals("GET")) {
        continue;
      }
      String path = r.path();
      for (Map.Entry<String, String> e : params.entrySet()) {
        path = path.replace(e.getKey(), e.getValue());
      }
      HttpResponse<String> head = http.send("HEAD", path, null);
      assertThat(head.statusCode()).as("HEAD " + path + ": " + head.body()).isEqualTo(200);
      assertThat(head.body()).as("HEAD " + path).isEmpty();
      if (path.endsWith("/tail") || path.endsWith("/progress")) {
        assertThat(head.headers().firstValue("Content-Type")).as(path).hasValueSatisfying(
            ct -> assertThat(ct).startsWith("text/event-stream"));
        assertThat(server.server.hub().clientCount()).as("no stream opened for HEAD " + path).isZero();
        assertThat(head.headers().firstValue("Content-Length")).as("a stream's length is not known").isEmpty();
      } else {
        HttpResponse<String> get = http.get(path);
        for (String h : new String[] {"ETag", "Content-Type", "Content-Length"}) {
          if (!h.equals("Content-Length") || !timed.contains(path)) {
            assertThat(head.headers().firstValue(h)).as(h + " of HEAD " + path).isEqualTo(get.headers().firstValue(h));
          }
        }
        assertThat(head.headers().firstValue("Content-Length")).as("HEAD " + path).isPresent();
      }
      checked.add(path);
    }
    assertThat(checked).contains("/collab/tasks/fx", "/collab/events/tail", "/openapi.json", "/healthz");
    // a HEAD of an unknown document answers the GET's status, and HEAD is allowed wherever GET is
    assertThat(http.send("HEAD", "/collab/docs/notes/none", null).statusCode()).isEqualTo(404);
    HttpResponse<String> put = http.send("PUT", "/collab/tasks", "{}");
    assertThat(put.headers().firstValue("Allow")).hasValue("POST, GET, HEAD");
    // an If-None-Match that matches is a 304 for HEAD as for GET
    String etag = Http.etag(http.get("/collab/tasks/fx"));
    assertThat(http.send("HEAD", "/collab/tasks/fx", null, "If-None-Match", etag).statusCode()).isEqualTo(304);
  }
}
