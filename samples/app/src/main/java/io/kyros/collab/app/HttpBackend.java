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
 * cannot be reached, an {@link UncheckedIOException} (exit code 4). An API key
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
      JsonNode page = get("/collab/tasks?limit=" + PAGE + query("status", status) + query("label", label)
          + query("after", after));
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
    return get("/collab/claimable?limit=" + limit + (labels.isEmpty() ? "" : query("label", String.join(",", labels))));
  }

  @Override
  public JsonNode createTask(ObjectNode spec) {
    return send("POST", "/collab/tasks", spec, null);
  }

  @Override
  public JsonNode getTask(String id) {
    return get("/collab/tasks/" + encode(id));
  }

  @Override
  public JsonNode claimNext(String worker, Duration ttl, List<String> labels) {
    ObjectNode body = Json.object().put("worker", worker).put("ttl_seconds", Json.seconds(ttl));
    body.set("labels", Json.strings(labels));
    return send("POST", "/collab/tasks/claim-next", body, null);
  }

  @Override
  public JsonNode complete(String id, String lockId, long fence) {
    return send("POST", "/collab/tasks/" + encode(id) + "/complete", claim(lockId, fence), null);
  }

  @Override
  public JsonNode fail(String id, String lockId, long fence, String error) {
    return send("POST", "/collab/tasks/" + encode(id) + "/fail", claim(lockId, fence).put("error", error), null);
  }

  @Override
  public JsonNode move(String id, String to) {
    String etag = getTask(id).get("etag").asText();
    return send("POST", "/collab/tasks/" + encode(id) + "/transition", Json.object().put("to", to), etag);
  }

  @Override
  public JsonNode listLeases() {
    return get("/collab/leases");
  }

  @Override
  public JsonNode listAgents() {
    return get("/collab/agents");
  }

  @Override
  public JsonNode listBatches() {
    return get("/collab/batches");
  }

  @Override
  public JsonNode getBatch(String id) {
    return get("/collab/batches/" + encode(id));
  }

  @Override
  public JsonNode acquire(String resource, String holder, Duration ttl) {
    ObjectNode body = Json.object().put("resource", resource).put("ttl_seconds", Json.seconds(ttl));
    if (holder != null) {
      body.put("holder", holder);
    }
    return send("POST", "/collab/leases/acquire", body, null);
  }

  @Override
  public JsonNode release(String lockId) {
    return send("POST", "/collab/leases/" + encode(lockId) + "/release", Json.object(), null);
  }

  @Override
  public JsonNode reclaim() {
    return send("POST", "/collab/leases/reclaim", Json.object(), null);
  }

  @Override
  public long lastEventId() {
    try {
      return get("/readyz").get("last_event_id").asLong(); // what the console starts its tail from
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
    return get(q.toString());
  }

  @Override
  public String log(long after, int limit) {
    return exchange(request("/collab/log.md?after=" + after + "&limit=" + limit).GET().build());
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
    return parse(exchange(request(path).GET().build()));
  }

  private JsonNode send(String method, String path, JsonNode body, String ifMatch) {
    HttpRequest.Builder b = request(path).header("Content-Type", "application/json")
        .method(method, HttpRequest.BodyPublishers.ofString(Json.write(body)));
    if (ifMatch != null) {
      b.header("If-Match", ifMatch);
    }
    String answer = exchange(b.build());
    return answer.isEmpty() ? null : parse(answer);
  }

  private HttpRequest.Builder request(String path) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(TIMEOUT.plusSeconds(60));
    if (apiKey != null && !apiKey.isEmpty()) {
      b.header("Authorization", "Bearer " + apiKey);
    }
    return b;
  }

  /** @return the answer's body; empty for 204 */
  private String exchange(HttpRequest request) {
    HttpResponse<String> r;
    try {
      r = http.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot reach " + base + ": " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new UncheckedIOException(new java.io.InterruptedIOException("interrupted while calling " + base));
    }
    if (r.statusCode() >= 400) {
      throw problem(r);
    }
    return r.statusCode() == 204 ? "" : r.body();
  }

  private static ApiException problem(HttpResponse<String> r) {
    String title = "HTTP " + r.statusCode();
    String detail = r.body();
    try {
      JsonNode p = Json.MAPPER.readTree(r.body());
      title = p.path("title").asText(title);
      detail = p.path("detail").asText(detail);
    } catch (JsonProcessingException notProblemJson) {
      // keep the raw body as the detail
    }
    return new ApiException(r.statusCode(), title, detail);
  }

  private static JsonNode parse(String body) {
    try {
      return Json.MAPPER.readTree(body);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException("the server answered something that is not JSON: " + e.getOriginalMessage(), e);
    }
  }

  private static String query(String name, String value) {
    return value == null ? "" : "&" + name + "=" + encode(value);
  }

  private static String encode(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }
}
