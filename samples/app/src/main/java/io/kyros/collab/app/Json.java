package io.kyros.collab.app;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.ChecklistItem;
import io.kyros.collab.Document;
import io.kyros.collab.Event;
import io.kyros.collab.Lease;
import io.kyros.collab.LeaseStatus;
import io.kyros.collab.Task;
import java.time.Instant;
import java.util.Collection;

/**
 * The app's JSON: one mapper (duplicate keys refused), and the wire form of each value, with the
 * seed's field names:
 *
 * <pre>
 * lease   {"lock_id", "resource", "holder", "acquired_at", "ttl_seconds", "heartbeat_at", "fence",
 *          "expires_at"}                                     (+ "remaining_seconds", "stale" in lists)
 * event   {"id", "ts", "event", "actor", "target", "details"}
 * task    {"id", "title", "description", "status", "priority", "depends_on", "checklist": [{"text", "done"}],
 *          "labels", "assignee", "attempts", "max_attempts", "created_at", "updated_at", "not_before",
 *          "last_error", "etag"}
 * doc     {"collection", "id", "data", "etag"}
 * </pre>
 *
 * Instants are ISO-8601 strings (UTC); ttls are seconds (fractions allowed).
 *
 * <p>Stateless and thread-safe (the mapper is configured once and never changed).
 */
final class Json {
  static final ObjectMapper MAPPER = JsonMapper.builder()
      .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      .build();
  static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private Json() {}

  static ObjectNode object() {
    return NODES.objectNode();
  }

  static ArrayNode array() {
    return NODES.arrayNode();
  }

  /**
   * @param body a request body
   * @return it parsed as a JSON object
   * @throws ApiException 400 naming the problem if it is not one
   */
  static ObjectNode parseObject(String body) {
    if (body == null || body.isBlank()) {
      throw ApiException.badRequest("a JSON object body is required");
    }
    JsonNode node;
    try {
      node = MAPPER.readTree(body);
    } catch (JsonProcessingException e) {
      throw ApiException.badRequest("malformed JSON: " + e.getOriginalMessage());
    }
    if (!(node instanceof ObjectNode o)) {
      throw ApiException.badRequest("the body must be a JSON object, not " + node.getNodeType().name().toLowerCase());
    }
    return o;
  }

  static String write(JsonNode node) {
    try {
      return MAPPER.writeValueAsString(node);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write JSON", e);
    }
  }

  static String instant(Instant i) {
    return i == null ? null : i.toString();
  }

  static ObjectNode lease(Lease l) {
    ObjectNode o = object();
    o.put("lock_id", l.leaseId());
    o.put("resource", l.resource());
    o.put("holder", l.holder());
    o.put("acquired_at", instant(l.acquiredAt()));
    o.put("ttl_seconds", seconds(l.ttl()));
    o.put("heartbeat_at", instant(l.heartbeatAt()));
    o.put("fence", l.fence());
    o.put("expires_at", instant(l.expiresAt()));
    return o;
  }

  static ObjectNode leaseStatus(LeaseStatus s) {
    ObjectNode o = lease(s.lease());
    o.put("remaining_seconds", seconds(s.remaining()));
    o.put("stale", s.stale());
    return o;
  }

  static ObjectNode agent(io.kyros.collab.Agent a) {
    ObjectNode o = object();
    o.put("id", a.id());
    o.put("role", a.role());
    o.set("skills", strings(a.skills()));
    o.put("status", a.status().wireName());
    o.put("available", a.status() != io.kyros.collab.AgentStatus.DISABLED);
    o.put("last_seen", instant(a.lastSeen()));
    o.set("current_tasks", strings(a.currentTasks()));
    o.set("metadata", a.metadata());
    o.put("etag", a.etag().headerValue());
    return o;
  }

  static ObjectNode batch(io.kyros.collab.Batch b) {
    ObjectNode o = object();
    o.put("id", b.id());
    o.put("label", b.label());
    o.put("policy", b.policy().kind().wireName());
    o.put("retries", b.policy().retries());
    o.put("concurrency", b.concurrency());
    o.put("state", b.state().wireName());
    io.kyros.collab.BatchProgress p = b.progress();
    o.putObject("progress").put("total", p.total()).put("queued", p.queued()).put("running", p.running())
        .put("succeeded", p.succeeded()).put("failed", p.failed()).put("cancelled", p.cancelled())
        .put("percent", p.percent());
    o.put("final_step_label", b.finalStepLabel());
    o.put("final_step_task_id", b.finalStepTaskId());
    o.put("reason", b.reason());
    o.put("created_at", instant(b.createdAt()));
    o.put("updated_at", instant(b.updatedAt()));
    o.put("etag", b.etag().headerValue());
    return o;
  }

  static ObjectNode event(Event e) {
    ObjectNode o = object();
    o.put("id", e.id());
    o.put("ts", instant(e.ts()));
    o.put("event", e.type());
    o.put("actor", e.actor());
    o.put("target", e.target());
    o.set("details", e.details());
    return o;
  }

  static ObjectNode task(Task t) {
    ObjectNode o = object();
    o.put("id", t.id());
    o.put("title", t.title());
    o.put("description", t.description());
    o.put("status", t.status());
    o.put("priority", t.priority());
    o.set("depends_on", strings(t.dependsOn()));
    ArrayNode checklist = o.putArray("checklist");
    for (ChecklistItem item : t.checklist()) {
      checklist.addObject().put("text", item.text()).put("done", item.done());
    }
    o.set("labels", strings(t.labels()));
    o.put("assignee", t.assignee());
    o.put("attempts", t.attempts());
    o.put("max_attempts", t.maxAttempts());
    o.put("created_at", instant(t.createdAt()));
    o.put("updated_at", instant(t.updatedAt()));
    o.put("not_before", instant(t.notBefore()));
    o.put("last_error", t.lastError());
    o.put("etag", t.etag().headerValue());
    return o;
  }

  static ObjectNode document(Document d) {
    ObjectNode o = object();
    o.put("collection", d.collection());
    o.put("id", d.id());
    o.set("data", d.value());
    o.put("etag", d.etag().headerValue());
    return o;
  }

  /** The current state carried by a 412: {@code {"data", "etag"}}. */
  static ObjectNode documentState(Document d) {
    ObjectNode o = object();
    o.set("data", d.value());
    o.put("etag", d.etag().headerValue());
    return o;
  }

  static ArrayNode strings(Collection<String> values) {
    ArrayNode a = array();
    values.forEach(a::add);
    return a;
  }

  static double seconds(java.time.Duration d) {
    return d.toNanos() / 1e9;
  }
}
