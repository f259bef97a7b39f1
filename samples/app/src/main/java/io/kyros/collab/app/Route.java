package io.kyros.collab.app;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One route of the HTTP API: method, path template ({@code /collab/tasks/{id}}: a {@code {name}}
 * matches one path segment), what it does, and what {@link OpenApi} says about it. The route table
 * ({@link ApiRoutes}) is the one source of both dispatch and the OpenAPI document.
 *
 * @param method the HTTP method
 * @param path the path template
 * @param summary one line: what it does
 * @param write whether it changes state (needs a read-write key)
 * @param query the query parameters it reads
 * @param requestBody an example request body, or null if it takes none
 * @param responses status code to description
 * @param handler what answers it
 */
record Route(String method, String path, String summary, boolean write, List<String> query, String requestBody,
    Map<Integer, String> responses, Handler handler) {

  /** Answers one request; throws to answer with a problem ({@link Problems}). */
  @FunctionalInterface
  interface Handler {
    void handle(Exchange exchange) throws Exception;
  }

  Route {
    Objects.requireNonNull(method, "method");
    Objects.requireNonNull(path, "path");
    Objects.requireNonNull(summary, "summary");
    query = List.copyOf(query);
    responses = Map.copyOf(responses);
    Objects.requireNonNull(handler, "handler");
  }

  /** @return the template's segments */
  List<String> segments() {
    return Router.split(path);
  }
}
