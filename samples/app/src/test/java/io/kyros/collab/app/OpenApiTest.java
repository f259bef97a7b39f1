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
}
