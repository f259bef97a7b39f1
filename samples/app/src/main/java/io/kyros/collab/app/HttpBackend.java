package io.kyros.collab.app;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

/**
 * The commands' operations through the HTTP API of {@code collab serve} ({@code --server URL}), with
 * the JDK's {@link HttpClient}. A refusal becomes an {@link ApiException} carrying the answer's
 * status and its problem detail (so {@link ExitCodes#ofStatus} gives the exit code); a server that
 * cannot be reached, an {@link UncheckedIOException} (exit code 4). So does a server that does not answer as the
 * Collab API: a status that is neither 2xx nor a problem+json refusal (a redirect to a login page, a proxy's error
 * page), or a 2xx whose body is not the JSON the route answers (checked for the members the commands read), with
 * "the server at URL did not answer as the Collab API: ..." quoting at most {@link TerminalText#QUOTE_MAX}
 * characters of the answer. An API key
 * ({@code --api-key} or {@code COLLAB_API_KEY}) is sent as {@code Authorization: Bearer}.
 *
 * <p>Thread-safe (the client is); one per command.
 */
final class HttpBackend implements CliBackend {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  /** Tasks asked for per page of {@code GET /collab/tasks} (the most the server gives). */
  static final int PAGE = 1000;

  private final URI base;
  private final String apiKey;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  HttpBackend(URI base, String apiKey) {
    String s = base.toString();
    this.base = URI.create(s.endsWith("/") ? s.substring(0, s.length() - 1) : s);
    this.apiKey = apiKey;
  }

  /** Follows {@code next_after} through every page, so the list is whole, as on a store. */
  @Override
  public JsonNode listTasks(String status, String label) {
    ObjectNode out = Json.object();
    ArrayNode data = out.putArray("data");
    String after = null;
    do {
      JsonNode page = list(get("/collab/tasks?limit=" + PAGE + query("status", status) + query("label", label)
          + query("after", after)), "id", "status", "priority", "title");
      page.path("data").forEach(data::add);
      JsonNode next = page.path("next_after");
      String previous = after;
      after = next.isTextual() ? next.asText() : null;
      if (after != null && (after.equals(previous) || page.path("data").isEmpty())) {
        throw new UncheckedIOException(new IOException("the server's task list does not advance: next_after "
            + after + " after a page of " + page.path("data").size() + " tasks"));
      }
    } while (after != null);
    out.putNull("next_after");
    return out;
  }

  @Override
  public JsonNode claimable(List<String> labels, int limit) {
    return members(list(get("/collab/claimable?limit=" + limit + (labels.isEmpty() ? "" : query("label",
        String.join(",", labels)))), "id", "priority", "labels", "title"), "claimable tasks", "more");
  }

  @Override
  public JsonNode createTask(ObjectNode spec) {
    return members(send("POST", "/collab/tasks", spec, null), "the created task", "id");
  }

  @Override
  public JsonNode getTask(String id) {
    return members(get("/collab/tasks/" + segment("task", id)), "a task", "id", "status", "etag");
  }

  @Override
  public JsonNode claimNext(String worker, Duration ttl, List<String> labels) {
    ObjectNode body = Json.object().put("worker", worker).put("ttl_seconds", Json.seconds(ttl));
    body.set("labels", Json.strings(labels));
    JsonNode claim = send("POST", "/collab/tasks/claim-next", body, null);
    if (claim == null) {
      return null; // 204: nothing claimable
    }
    members(claim, "a claim", "task", "lock_id", "fence", "expires_at");
    members(claim.get("task"), "a claim's task", "id");
    return claim;
  }

  @Override
  public JsonNode complete(String id, String lockId, long fence) {
    return members(send("POST", "/collab/tasks/" + segment("task", id) + "/complete", claim(lockId, fence), null),
        "a task", "status");
  }

  @Override
  public JsonNode fail(String id, String lockId, long fence, String error) {
    return members(send("POST", "/collab/tasks/" + segment("task", id) + "/fail", claim(lockId, fence)
        .put("error", error), null), "a task", "status", "attempts");
  }

  @Override
  public JsonNode move(String id, String to) {
    String etag = getTask(id).get("etag").asText();
    return members(send("POST", "/collab/tasks/" + segment("task", id) + "/transition", Json.object().put("to", to),
        etag), "a transition", "old_status", "new_status");
  }

  @Override
  public JsonNode listLeases() {
    return list(get("/collab/leases"), "lock_id", "holder", "fence", "remaining_seconds", "stale", "resource");
  }

  @Override
  public JsonNode listAgents() {
    return list(get("/collab/agents"), "id", "status", "role", "current_tasks");
  }

  @Override
  public JsonNode listBatches() {
    return list(get("/collab/batches"), "id", "state", "progress", "label");
  }

  @Override
  public JsonNode getBatch(String id) {
    return members(get("/collab/batches/" + segment("batch", id)), "a batch", "id");
  }

  @Override
  public JsonNode acquire(String resource, String holder, Duration ttl) {
    ObjectNode body = Json.object().put("resource", resource).put("ttl_seconds", Json.seconds(ttl));
    if (holder != null) {
      body.put("holder", holder);
    }
    return members(send("POST", "/collab/leases/acquire", body, null), "an acquired lease", "lock_id", "fence",
        "expires_at");
  }

  @Override
  public JsonNode release(String lockId) {
    return members(send("POST", "/collab/leases/" + segment("lease", lockId) + "/release", Json.object(), null),
        "a release", "released");
  }

  @Override
  public JsonNode reclaim() {
    return members(send("POST", "/collab/leases/reclaim", Json.object(), null), "a reclaim", "leases", "tasks");
  }

  @Override
  public long lastEventId() {
    try {
      return members(get("/readyz"), "/readyz", "last_event_id").get("last_event_id").asLong(); // as the console
    } catch (ApiException e) {
      if (e.status() != 503) {
        throw e;
      }
      // not ready (its event subscription failed) while the log may still answer: find the end by reading forward
      long last = 0;
      for (long next = -1; next != last; ) {
        next = last;
        last = events(last, List.of(), 1000, 0).get("last_id").asLong();
      }
      return last;
    }
  }

  @Override
  public JsonNode events(long after, List<String> types, int limit, long waitSeconds) {
    StringBuilder q = new StringBuilder("/collab/events?after=").append(after).append("&limit=").append(limit);
    types.forEach(t -> q.append(query("type", t)));
    if (waitSeconds > 0) {
      q.append("&wait=").append(waitSeconds);
    }
    return members(list(get(q.toString()), "id", "ts", "actor", "event", "target"), "events", "last_id");
  }

  @Override
  public String log(long after, int limit) {
    HttpResponse<String> r = exchange(request("/collab/log.md?after=" + after + "&limit=" + limit).GET().build());
    if (!r.headers().firstValue("Content-Type").orElse("").startsWith("text/markdown")) {
      throw notTheApi("/collab/log.md answered " + r.headers().firstValue("Content-Type").orElse("no Content-Type")
          + ", not text/markdown: " + TerminalText.quote(r.body()));
    }
    return r.body();
  }

  @Override
  public void close() {
    // the JDK client's threads are daemons; nothing to release
  }

  private static ObjectNode claim(String lockId, long fence) {
    if (lockId == null) {
      throw new IllegalArgumentException("--lock-id is required with --server (tasks claim prints it)");
    }
    return Json.object().put("lock_id", lockId).put("fence", fence);
  }

  private JsonNode get(String path) {
    return parse(path, exchange(request(path).GET().build()).body());
  }

  private JsonNode send(String method, String path, JsonNode body, String ifMatch) {
    HttpRequest.Builder b = request(path).header("Content-Type", "application/json")
        .method(method, HttpRequest.BodyPublishers.ofString(Json.write(body)));
    if (ifMatch != null) {
      b.header("If-Match", ifMatch);
    }
    HttpResponse<String> r = exchange(b.build());
    return r.statusCode() == 204 ? null : parse(path, r.body());
  }

  private HttpRequest.Builder request(String path) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(TIMEOUT.plusSeconds(60));
    if (apiKey != null && !apiKey.isEmpty()) {
      b.header("Authorization", "Bearer " + apiKey);
    }
    return b;
  }

  /** @return a 2xx answer; any other is thrown: a problem+json refusal as {@link ApiException}, the rest as not the API */
  private HttpResponse<String> exchange(HttpRequest request) {
    HttpResponse<String> r;
    try {
      r = http.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot reach " + base + ": " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new UncheckedIOException(new java.io.InterruptedIOException("interrupted while calling " + base));
    }
    int status = r.statusCode();
    if (status >= 200 && status < 300) {
      return r;
    }
    JsonNode problem = status >= 400 ? problem(r) : null;
    if (problem == null) {
      String location = r.headers().firstValue("Location").map(l -> " to " + TerminalText.quote(l)).orElse("");
      throw notTheApi(request.method() + " " + request.uri().getRawPath() + " answered HTTP " + status + location
          + (r.body().isBlank() ? "" : ": " + TerminalText.quote(r.body())));
    }
    String title = problem.get("title").asText();
    throw new ApiException(status, title, problem.path("detail").asText(title));
  }

  /** @return the refusal's problem+json object, or null if the answer is not one (an error page, something else's JSON) */
  private static JsonNode problem(HttpResponse<String> r) {
    String type = r.headers().firstValue("Content-Type").orElse("");
    try {
      JsonNode p = Json.MAPPER.readTree(r.body());
      boolean problemJson = type.startsWith(Problems.MEDIA_TYPE) || type.startsWith("application/json");
      return problemJson && p != null && p.isObject() && p.path("title").isTextual() ? p : null;
    } catch (JsonProcessingException notJson) {
      return null;
    }
  }

  private JsonNode parse(String path, String body) {
    try {
      JsonNode n = Json.MAPPER.readTree(body);
      if (n == null || !n.isObject()) {
        throw notTheApi(path + " answered " + (n == null ? "nothing" : "JSON that is not an object") + ": "
            + TerminalText.quote(body));
      }
      return n;
    } catch (JsonProcessingException e) {
      throw notTheApi(path + " answered something that is not JSON: " + TerminalText.quote(body));
    }
  }

  /** @return {@code node}, an object holding every member named (null allowed), else thrown as not the API */
  private JsonNode members(JsonNode node, String what, String... names) {
    if (node == null || !node.isObject()) {
      throw notTheApi(what + " is not a JSON object");
    }
    for (String name : names) {
      if (!node.has(name)) {
        throw notTheApi(what + " has no '" + name + "': " + TerminalText.quote(Json.write(node)));
      }
    }
    return node;
  }

  /** @return {@code page}, a {@code {data: [...]}} whose items hold every member named, else thrown as not the API */
  private JsonNode list(JsonNode page, String... itemMembers) {
    if (!page.path("data").isArray()) {
      throw notTheApi("the answer has no 'data' list: " + TerminalText.quote(Json.write(page)));
    }
    for (JsonNode item : page.get("data")) {
      members(item, "an item of 'data'", itemMembers);
    }
    return page;
  }

  private UncheckedIOException notTheApi(String why) {
    String m = "the server at " + base + " did not answer as the Collab API: " + why;
    return new UncheckedIOException(m, new IOException(m));
  }

  /** What core requires of a task's or a batch's id (its {@code Names.NAME_PATTERN}), for the same message. */
  private static final String NAME_PATTERN = "[A-Za-z0-9][A-Za-z0-9._-]{0,127}";

  /**
   * @param kind what the id names: {@code task}, {@code batch} or {@code lease}
   * @return the id as one encoded path segment
   * @throws IllegalArgumentException for a task or batch id no path segment can carry (empty, {@code .}, {@code ..},
   *     with {@code /}, {@code \} or {@code %}, which the server refuses as ambiguous, 400, or routes elsewhere): core
   *     refuses it on a store with this message (exit 2)
   * @throws io.kyros.collab.NotFoundException for such a lease's lock id: lock ids are UUIDs, so on a store no lease
   *     has it (exit 3)
   */
  private static String segment(String kind, String id) {
    if (id.isEmpty() || id.equals(".") || id.equals("..") || id.indexOf('/') >= 0 || id.indexOf('\\') >= 0
        || id.indexOf('%') >= 0) {
      if (kind.equals("lease")) {
        throw new io.kyros.collab.NotFoundException("lease " + id);
      }
      throw new IllegalArgumentException(kind + " id must match " + NAME_PATTERN + ": \"" + id + "\"");
    }
    return encode(id);
  }

  private static String query(String name, String value) {
    return value == null ? "" : "&" + name + "=" + encode(value);
  }

  private static String encode(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }
}
