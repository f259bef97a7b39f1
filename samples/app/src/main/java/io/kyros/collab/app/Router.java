package io.kyros.collab.app;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Finds the route for a method and path. A template segment {@code {name}} matches any one
 * non-empty segment (percent-decoded into the parameter); literal segments win over parameters
 * when two templates could match. HEAD finds the GET route of its path (the route answers it without a
 * body: {@link Exchange#head()}). A path some route matches with another method answers 405 with the
 * allowed methods (HEAD among them wherever GET is).
 *
 * <p>Immutable and thread-safe.
 */
final class Router {
  /**
   * A match: the route and its path parameters.
   *
   * @param route the route
   * @param params decoded path parameters
   */
  record Match(Route route, Map<String, String> params) {}

  private final List<Route> routes;

  Router(List<Route> routes) {
    List<Route> sorted = new ArrayList<>(routes);
    // literal segments first, so /collab/leases/acquire wins over /collab/leases/{lock_id}
    sorted.sort((a, b) -> Long.compare(paramCount(a), paramCount(b)));
    this.routes = List.copyOf(sorted);
  }

  List<Route> routes() {
    return routes;
  }

  /**
   * @param method the request's method (HEAD finds the GET route)
   * @param path the request's raw (still percent-encoded) path
   * @return the matching route, empty if no route has this path
   * @throws ApiException 405 if the path has routes but none for this method
   */
  Optional<Match> find(String method, String path) {
    List<String> parts = split(path);
    String wanted = "HEAD".equals(method) ? "GET" : method;
    Set<String> allowed = new LinkedHashSet<>();
    for (Route r : routes) {
      Map<String, String> params = match(r.segments(), parts);
      if (params == null) {
        continue;
      }
      if (r.method().equals(wanted)) {
        return Optional.of(new Match(r, params));
      }
      allowed.add(r.method());
      if ("GET".equals(r.method())) {
        allowed.add("HEAD");
      }
    }
    if (allowed.isEmpty()) {
      return Optional.empty();
    }
    throw new ApiException(405, "Method Not Allowed", method + " is not allowed on " + path + "; allowed: "
        + String.join(", ", allowed)).header("Allow", String.join(", ", allowed));
  }

  private static Map<String, String> match(List<String> template, List<String> parts) {
    if (template.size() != parts.size()) {
      return null;
    }
    Map<String, String> params = new HashMap<>();
    for (int i = 0; i < template.size(); i++) {
      String t = template.get(i);
      String p = parts.get(i);
      if (t.startsWith("{") && t.endsWith("}")) {
        if (p.isEmpty()) {
          return null;
        }
        params.put(t.substring(1, t.length() - 1), URLDecoder.decode(p.replace("+", "%2B"), StandardCharsets.UTF_8));
      } else if (!t.equals(p)) {
        return null;
      }
    }
    return params;
  }

  private static long paramCount(Route r) {
    return r.segments().stream().filter(s -> s.startsWith("{")).count();
  }

  static List<String> split(String path) {
    String p = path.startsWith("/") ? path.substring(1) : path;
    List<String> out = new ArrayList<>();
    int start = 0;
    for (int i = 0; i <= p.length(); i++) {
      if (i == p.length() || p.charAt(i) == '/') {
        out.add(p.substring(start, i));
        start = i + 1;
      }
    }
    return out;
  }
}
