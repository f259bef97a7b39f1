package io.kyros.collab.app;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the route table ({@link ApiRoutes}), so
 * it cannot list a route the server does not answer nor miss one it does. Each operation has its
 * summary, path and query parameters, an example request body, and its responses. What holds for
 * every route (HEAD for every GET route, the Host and Origin checks, Content-Encoding) is said once,
 * in the document's description.
 *
 * <p>Stateless and thread-safe.
 */
final class OpenApi {
  private OpenApi() {}

  static ObjectNode document(List<Route> routes) {
    ObjectNode doc = Json.object();
    doc.put("openapi", "3.1.0");
    doc.putObject("info").put("title", "Collab HTTP API").put("version", "1")
        .put("description", "Tasks, leases, an event log with a resumable SSE tail, and ETag documents. "
            + "Errors are RFC 9457 application/problem+json, those the HTTP server writes itself (400 for a path it "
            + "refuses, 414, 431) included. Every GET route also answers HEAD: the same status and headers, no "
            + "body (the event streams answer their headers without opening a stream). Any route answers 421 to a "
            + "Host that is not allowed (on a loopback bind: anything but an IP address, localhost or "
            + "--allowed-hosts; DNS rebinding protection), 403 to a write a browser sends from another origin "
            + "(CSRF protection), and 415 to a request body with a Content-Encoding other than identity.");
    ObjectNode security = doc.putObject("components").putObject("securitySchemes");
    security.putObject("bearer").put("type", "http").put("scheme", "bearer");
    security.putObject("apiKey").put("type", "apiKey").put("in", "header").put("name", "X-API-Key");
    ObjectNode paths = doc.putObject("paths");
    Map<String, List<Route>> byPath = new TreeMap<>();
    for (Route r : routes) {
      byPath.computeIfAbsent(r.path(), p -> new java.util.ArrayList<>()).add(r);
    }
    for (Map.Entry<String, List<Route>> e : byPath.entrySet()) {
      ObjectNode item = paths.putObject(e.getKey());
      for (Route r : e.getValue()) {
        item.set(r.method().toLowerCase(), operation(r));
      }
    }
    return doc;
  }

  private static ObjectNode operation(Route r) {
    ObjectNode op = Json.object();
    op.put("summary", r.summary());
    op.put("operationId", r.method().toLowerCase() + r.path().replaceAll("[^A-Za-z0-9]+", "_"));
    ArrayNode params = Json.array();
    for (String segment : r.segments()) {
      if (segment.startsWith("{")) {
        params.addObject().put("name", segment.substring(1, segment.length() - 1)).put("in", "path")
            .put("required", true).putObject("schema").put("type", "string");
      }
    }
    for (String q : r.query()) {
      params.addObject().put("name", q).put("in", "query").put("required", false)
          .putObject("schema").put("type", "string");
    }
    if (!params.isEmpty()) {
      op.set("parameters", params);
    }
    if (r.requestBody() != null) {
      ObjectNode media = op.putObject("requestBody").put("required", true).putObject("content")
          .putObject(r.requestBody().startsWith("{") ? "application/json" : "application/merge-patch+json");
      media.putObject("schema").put("type", "object");
      media.set("example", Json.parseObject(r.requestBody()));
    }
    ObjectNode responses = op.putObject("responses");
    new TreeMap<>(r.responses()).forEach((status, description) ->
        responses.putObject(Integer.toString(status)).put("description", description));
    return op;
  }
}
