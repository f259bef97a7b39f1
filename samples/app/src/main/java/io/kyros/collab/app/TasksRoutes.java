package io.kyros.collab.app;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.ChecklistItem;
import io.kyros.collab.Collab;
import io.kyros.collab.ETag;
import io.kyros.collab.ETagList;
import io.kyros.collab.Lease;
import io.kyros.collab.LeaseLostException;
import io.kyros.collab.NewTask;
import io.kyros.collab.NotFoundException;
import io.kyros.collab.PreconditionFailedException;
import io.kyros.collab.Task;
import io.kyros.collab.TaskClaim;
import io.kyros.collab.TaskFilter;
import io.kyros.collab.TaskPatch;
import io.kyros.collab.Tasks;
import io.kyros.collab.TransitionResult;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * The task routes:
 *
 * <pre>
 * POST  /collab/tasks                      create: {title, id?, description?, priority?, depends_on?, checklist?,
 *                                          labels?, max_attempts?} → 201 {id, etag} + ETag, Location; 409 with
 *                                          the existing task when the id is taken
 * GET   /collab/tasks?status=&amp;label=&amp;after=&amp;limit=   {data: [task], next_after} (creation order; after = a task id)
 * GET   /collab/claimable?label=&amp;limit=   {data: [task], more}: what claims would take now, best first (a task
 *                                          id may be any name, so this is not under /collab/tasks/)
 * GET   /collab/tasks/{id}                 the task + ETag; If-None-Match → 304
 * PATCH /collab/tasks/{id}                 JSON merge patch of title, description, priority, depends_on, checklist,
 *                                          labels, with If-Match → {ok, etag}
 * POST  /collab/tasks/{id}/transition      {to} with If-Match, or {to, lock_id, fence} through the claim
 *                                          → {old_status, new_status, etag}
 * POST  /collab/tasks/claim-next           {worker, ttl_seconds?, labels?} → {task, lock_id, fence, ttl_seconds,
 *                                          expires_at}, or 204 when nothing is claimable
 * POST  /collab/tasks/{id}/complete        {lock_id, fence}
 * POST  /collab/tasks/{id}/fail            {lock_id, fence, error?}
 * POST  /collab/tasks/{id}/release         {lock_id, fence}
 * </pre>
 *
 * A claim operation whose fence is no longer current answers 409 naming the task's current holder.
 * The actor of claim operations is the worker that holds the claim (the task's assignee); of other
 * writes, the request's API key name, or the server's holder.
 *
 * <p>Stateless and thread-safe.
 */
final class TasksRoutes {
  static final Duration DEFAULT_CLAIM_TTL = Duration.ofMinutes(5);
  private static final int DEFAULT_LIMIT = 100;
  private static final int MAX_LIMIT = 1000;

  private final OpenStore store;

  private TasksRoutes(OpenStore store) {
    this.store = store;
  }

  static List<Route> routes(OpenStore store) {
    TasksRoutes t = new TasksRoutes(store);
    String claim = "{\"lock_id\": \"3f1c...\", \"fence\": 7}";
    return List.of(
        new Route("POST", "/collab/tasks", "Create a task", true, List.of(),
            "{\"title\": \"Write the report\", \"priority\": 5, \"labels\": [\"docs\"], \"depends_on\": [], "
                + "\"checklist\": [\"draft\", \"review\"]}",
            Map.of(201, "{id, etag}", 400, "invalid task", 409, "dependency missing or id taken"), t::create),
        new Route("GET", "/collab/tasks", "List tasks (creation order, paged)", false,
            List.of("status", "label", "after", "limit"), null, Map.of(200, "{data: [task], next_after}"), t::list),
        new Route("GET", "/collab/claimable", "List the tasks claims would take now, best first", false,
            List.of("label", "limit"), null, Map.of(200, "{data: [task], more}"), t::claimable),
        new Route("GET", "/collab/tasks/{id}", "Read a task", false, List.of(), null,
            Map.of(200, "the task, with ETag", 304, "If-None-Match matched", 404, "no such task"), t::get),
        new Route("PATCH", "/collab/tasks/{id}", "Change a task's fields (JSON merge patch, If-Match)", true,
            List.of(), "{\"priority\": 9, \"labels\": [\"urgent\"]}",
            Map.of(200, "{ok, etag}", 412, "stale If-Match (current task in body)", 428, "If-Match missing"),
            t::patch),
        new Route("POST", "/collab/tasks/{id}/transition", "Move a task to another status", true, List.of(),
            "{\"to\": \"in_progress\"}",
            Map.of(200, "{old_status, new_status, etag}", 409, "transition not allowed or claim lost",
                412, "stale If-Match", 428, "If-Match missing"), t::transition),
        new Route("POST", "/collab/tasks/claim-next", "Claim the best claimable task", true, List.of(),
            "{\"worker\": \"w1\", \"ttl_seconds\": 300, \"labels\": []}",
            Map.of(200, "{task, lock_id, fence, ttl_seconds, expires_at}", 204, "nothing claimable"), t::claimNext),
        new Route("POST", "/collab/tasks/{id}/complete", "Complete a claimed task", true, List.of(), claim,
            Map.of(200, "the task", 409, "stale fence (names the current holder)"), t::complete),
        new Route("POST", "/collab/tasks/{id}/fail", "Fail a claimed task", true, List.of(),
            "{\"lock_id\": \"3f1c...\", \"fence\": 7, \"error\": \"tests fail\"}",
            Map.of(200, "the task", 409, "stale fence (names the current holder)"), t::fail),
        new Route("POST", "/collab/tasks/{id}/release", "Give a claimed task back to the queue", true, List.of(),
            claim, Map.of(200, "the task", 409, "stale fence (names the current holder)"), t::release));
  }

  private Collab actor(Exchange x) {
    return store.as(x.key() == null ? null : x.key().name());
  }

  private void create(Exchange x) {
    Body b = new Body(x.jsonBody()).only("id", "title", "description", "priority", "depends_on", "checklist",
        "labels", "max_attempts");
    List<String> deps = b.strings("depends_on");
    Set<String> labels = b.stringSet("labels");
    Integer priority = b.optInt("priority");
    String description = b.optString("description");
    NewTask spec = new NewTask(b.optString("id"), b.string("title"), description == null ? "" : description,
        priority == null ? 0 : priority, deps == null ? List.of() : deps, checklist(b.node().get("checklist")),
        labels == null ? Set.of() : labels, b.optInt("max_attempts"));
    Task task;
    try {
      task = actor(x).tasks().create(spec);
    } catch (PreconditionFailedException e) { // core's way of saying the id exists
      if (spec.id() == null) {
        throw e;
      }
      Optional<Task> taken = store.collab().tasks().get(spec.id());
      ApiException api = ApiException.conflict(idTaken(spec.id(), taken))
          .with("current", taken.<JsonNode>map(Json::task).orElse(Json.NODES.nullNode()));
      taken.ifPresent(t -> api.header("ETag", t.etag().headerValue()));
      throw api;
    }
    x.response().getHeaders().put("Location", "/collab/tasks/" + task.id());
    x.json(201, Json.object().put("id", task.id()).put("etag", task.etag().headerValue()), task.etag());
  }

  /**
   * Why a create with a taken id is refused, the same from the HTTP API (409) and the MCP tools: retrying cannot help.
   *
   * @param id the id asked for
   * @param taken the task that has it, as read now (empty if it was deleted meanwhile)
   * @return the message
   */
  static String idTaken(String id, Optional<Task> taken) {
    return "task id taken: a task with id " + id + " exists"
        + taken.map(t -> " (status " + t.status() + ", ETag " + t.etag().headerValue() + ")").orElse("")
        + "; choose another id, or leave it out to have one generated";
  }

  private void list(Exchange x) {
    TaskFilter filter = TaskFilter.all();
    String status = x.query("status");
    if (status != null && !status.isEmpty()) {
      filter = filter.statuses(status.split(",", -1)); // -1: an empty name in the list is refused, not dropped
    }
    String label = x.query("label");
    if (label != null && !label.isEmpty()) {
      filter = filter.labels(label.split(",", -1));
    }
    String after = x.query("after");
    if (after != null && !after.isEmpty()) {
      filter = filter.after(after);
    }
    int limit = (int) x.queryLong("limit", 1, MAX_LIMIT, DEFAULT_LIMIT);
    // one page through the store's status index (one more task than asked tells whether a next page exists)
    List<Task> page;
    try {
      page = store.collab().tasks().list(filter.limit(limit + 1));
    } catch (NotFoundException e) { // the cursor names no task (tasks are never deleted: a made-up one)
      throw ApiException.badRequest("'after' must name an existing task: " + after);
    }
    int end = Math.min(page.size(), limit);
    ObjectNode out = Json.object();
    ArrayNode data = out.putArray("data");
    for (Task t : page.subList(0, end)) {
      data.add(Json.task(t));
    }
    if (page.size() > limit) {
      out.put("next_after", page.get(end - 1).id());
    } else {
      out.putNull("next_after");
    }
    x.json(200, out);
  }

  /**
   * The claimable tasks in claim order ({@code Tasks.ready}): from the ready index's first entries, so the cost does
   * not grow with the tasks done or blocked. One more than asked tells whether there are more; there is no cursor,
   * since claims reorder the queue between pages (ask for a larger {@code limit} instead).
   */
  private void claimable(Exchange x) {
    Set<String> labels = new LinkedHashSet<>(); // a label given twice counts once, as claim-next takes them
    String label = x.query("label");
    if (label != null && !label.isEmpty()) {
      labels.addAll(Arrays.asList(label.split(",", -1))); // -1: "a,," names an empty label, refused
    }
    int limit = (int) x.queryLong("limit", 1, MAX_LIMIT, DEFAULT_LIMIT);
    x.json(200, claimablePage(store.collab().tasks(), labels, limit));
  }

  /**
   * @param tasks the tasks to ask
   * @param labels labels of which a task must carry one, empty for any
   * @param limit the most tasks the page holds
   * @return {@code {data: [task], more}}: {@code Tasks.ready} asked for one more than {@code limit}, {@code more}
   *     true when it found that one
   * @throws IllegalArgumentException if a label is invalid
   */
  static ObjectNode claimablePage(Tasks tasks, Set<String> labels, int limit) {
    List<Task> ready = tasks.ready(labels, limit + 1);
    ObjectNode out = Json.object();
    ArrayNode data = out.putArray("data");
    ready.stream().limit(limit).forEach(t -> data.add(Json.task(t)));
    out.put("more", ready.size() > limit);
    return out;
  }

  private Task existing(String id) {
    return store.collab().tasks().get(id).orElseThrow(() -> ApiException.notFound("no task " + id));
  }

  private void get(Exchange x) {
    Task t = existing(x.param("id"));
    if (Conditions.notModified(x, t.etag())) {
      x.notModified(t.etag());
      return;
    }
    x.json(200, Json.task(t), t.etag());
  }

  private void patch(Exchange x) {
    String ct = x.header("Content-Type");
    if (ct != null) {
      String media = ct.split(";", 2)[0].strip().toLowerCase(Locale.ROOT); // media types are case-insensitive
      if (!media.equals("application/merge-patch+json") && !media.equals("application/json")) {
        throw new ApiException(415, "Unsupported Media Type",
            "PATCH takes application/merge-patch+json (or application/json), not " + ct)
            .header("Accept-Patch", "application/merge-patch+json");
      }
    }
    String id = x.param("id");
    ETagList ifMatch = Conditions.ifMatch(x);
    Body b = new Body(x.jsonBody());
    if (b.present("status")) {
      throw ApiException.badRequest("'status' is changed with POST /collab/tasks/" + id + "/transition, not PATCH");
    }
    b.only("title", "description", "priority", "depends_on", "checklist", "labels");
    if (b.present("title") && !b.has("title")) {
      throw ApiException.badRequest("'title' cannot be removed");
    }
    String description = b.present("description") ? Optional.ofNullable(b.optString("description")).orElse("")
        : null;
    Integer priority = b.present("priority") ? Optional.ofNullable(b.optInt("priority")).orElse(0) : null;
    List<String> deps = b.present("depends_on") ? Optional.ofNullable(b.strings("depends_on")).orElse(List.of())
        : null;
    List<ChecklistItem> checklist = b.present("checklist") ? checklist(b.node().get("checklist")) : null;
    Set<String> labels = b.present("labels") ? Optional.ofNullable(b.stringSet("labels")).orElse(Set.of()) : null;
    TaskPatch patch = new TaskPatch(b.optString("title"), description, priority, deps, checklist, labels);
    Task t = withIfMatch(id, ifMatch, expected -> actor(x).tasks().update(id, expected, patch));
    x.json(200, Json.object().put("ok", true).put("etag", t.etag().headerValue()), t.etag());
  }

  private void transition(Exchange x) {
    String id = x.param("id");
    Body b = new Body(x.jsonBody()).only("to", "lock_id", "fence");
    String to = b.string("to");
    TransitionResult r;
    if (b.has("fence") || b.has("lock_id")) {
      TaskClaim claim = claim(id, b);
      r = throughClaim(claim, c -> store.as(c.task().assignee()).tasks().transition(c, to));
    } else {
      r = withIfMatch(id, Conditions.ifMatch(x), expected -> actor(x).tasks().transition(id, to, expected));
    }
    x.json(200, Json.object().put("old_status", r.oldStatus()).put("new_status", r.newStatus())
        .put("etag", r.task().etag().headerValue()), r.task().etag());
  }

  private void claimNext(Exchange x) {
    Body b = new Body(x.optionalJsonBody()).only("worker", "ttl_seconds", "labels");
    String worker = b.optString("worker");
    if (worker == null) {
      worker = x.key() != null ? x.key().name() : store.collab().holder();
    }
    Duration ttl = b.seconds("ttl_seconds", DEFAULT_CLAIM_TTL);
    Set<String> labels = Optional.ofNullable(b.stringSet("labels")).orElse(Set.of());
    Optional<TaskClaim> claim = store.as(worker).tasks().claimNext(worker, ttl, labels);
    if (claim.isEmpty()) {
      x.empty(204);
      return;
    }
    Lease l = claim.get().lease();
    ObjectNode out = Json.object();
    out.set("task", Json.task(claim.get().task()));
    out.put("lock_id", l.leaseId()).put("fence", l.fence()).put("ttl_seconds", Json.seconds(l.ttl()))
        .put("expires_at", l.expiresAt().toString());
    x.json(200, out, claim.get().task().etag());
  }

  private void complete(Exchange x) {
    TaskClaim claim = claim(x.param("id"), new Body(x.jsonBody()).only("lock_id", "fence"));
    Task t = throughClaim(claim, c -> store.as(c.task().assignee()).tasks().complete(c));
    x.json(200, Json.task(t), t.etag());
  }

  private void fail(Exchange x) {
    Body b = new Body(x.jsonBody()).only("lock_id", "fence", "error");
    TaskClaim claim = claim(x.param("id"), b);
    String error = Optional.ofNullable(b.optString("error")).orElse("failed over the HTTP API");
    Task t = throughClaim(claim, c -> store.as(c.task().assignee()).tasks().fail(c, error));
    x.json(200, Json.task(t), t.etag());
  }

  private void release(Exchange x) {
    TaskClaim claim = claim(x.param("id"), new Body(x.jsonBody()).only("lock_id", "fence"));
    Task t = throughClaim(claim, c -> store.as(c.task().assignee()).tasks().release(c));
    x.json(200, Json.task(t), t.etag());
  }

  /**
   * The claim a request names by {@code lock_id} and {@code fence}: core checks both against the
   * task's claim lease in the commit; the other lease fields are not used by that check.
   */
  private TaskClaim claim(String id, Body b) {
    String lockId = b.string("lock_id");
    long fence = b.longValue("fence");
    Task task = existing(id);
    if (task.assignee() == null) {
      throw ApiException.conflict("task " + id + " is not claimed (status " + task.status() + ")")
          .with("current_holder", Json.NODES.nullNode()).with("task_status", Json.NODES.textNode(task.status()));
    }
    Lease lease = new Lease(lockId, "tasks/" + id, task.assignee(), task.updatedAt(), Duration.ofSeconds(1),
        task.updatedAt(), fence);
    return new TaskClaim(task, lease);
  }

  private <T> T throughClaim(TaskClaim claim, Function<TaskClaim, T> op) {
    try {
      return op.apply(claim);
    } catch (LeaseLostException e) {
      Task now = store.collab().tasks().get(claim.task().id()).orElse(null);
      String holder = now == null ? null : now.assignee();
      // the fence is the claim's, the lock_id is not (a typo, another claim's): not a stale fence
      boolean wrongLockId = store.collab().tasks().currentClaim(claim.task().id()).map(TaskClaim::lease)
          .filter(l -> l.fence() == claim.lease().fence() && !l.leaseId().equals(claim.lease().leaseId()))
          .isPresent();
      String what = wrongLockId ? "lock_id " + claim.lease().leaseId() + " does not hold task " + claim.task().id()
          + " (fence " + claim.lease().fence() + " is its claim's, with another lock_id)"
          : "stale fence " + claim.lease().fence() + " for task " + claim.task().id() + ": " + e.getMessage();
      throw ApiException.conflict(what
          + (holder == null ? "; the task is not claimed now" : "; current holder: " + holder)
          + (wrongLockId ? "; send the lock_id claim-next answered" : "; claim it again (POST /collab/tasks/claim-next)"))
          .with("current_holder", holder == null ? Json.NODES.nullNode() : Json.NODES.textNode(holder))
          .with("task_status", now == null ? Json.NODES.nullNode() : Json.NODES.textNode(now.status()));
    }
  }

  /**
   * Runs a task write with the one ETag core expects for the request's If-Match: none for {@code *}
   * or no header, the tag itself for a single tag, and for a list the listed tag strongly equal to
   * the task's current ETag (core's commit then fails if the task changed since). A failed If-Match
   * answers 412 with the current task (not its stored record).
   */
  private <T> T withIfMatch(String id, ETagList ifMatch, Function<ETag, T> write) {
    ETag expected = null;
    if (ifMatch != null && !ifMatch.isAny()) {
      expected = ifMatch.tags().get(0);
      if (ifMatch.tags().size() > 1) {
        Task now = existing(id);
        expected = Conditions.matching(ifMatch, now.etag());
        if (expected == null) {
          throw preconditionFailed("precondition failed for task " + id + ": If-Match " + ifMatch
              + " does not match, current ETag " + now.etag(), Optional.of(now));
        }
      }
    }
    try {
      return write.apply(expected);
    } catch (PreconditionFailedException e) {
      throw preconditionFailed(e.getMessage(), store.collab().tasks().get(id));
    }
  }

  private static ApiException preconditionFailed(String detail, Optional<Task> now) {
    ApiException api = new ApiException(412, "Precondition Failed", detail)
        .with("current", now.<JsonNode>map(Json::task).orElse(Json.NODES.nullNode()));
    now.ifPresent(t -> api.header("ETag", t.etag().headerValue()));
    return api;
  }

  private static List<ChecklistItem> checklist(JsonNode node) {
    if (node == null || node.isNull()) {
      return List.of();
    }
    if (!node.isArray()) {
      throw ApiException.badRequest("'checklist' must be an array of strings or {text, done} objects");
    }
    List<ChecklistItem> out = new ArrayList<>();
    for (JsonNode item : node) {
      if (item.isTextual()) {
        out.add(ChecklistItem.of(item.asText()));
      } else if (item.isObject() && item.path("text").isTextual()) {
        item.fieldNames().forEachRemaining(f -> {
          if (!f.equals("text") && !f.equals("done")) {
            throw ApiException.badRequest("unknown member '" + f + "' in checklist item " + out.size()
                + "; expected some of text, done");
          }
        });
        JsonNode done = item.path("done");
        if (!done.isMissingNode() && !done.isBoolean()) {
          throw ApiException.badRequest("'checklist[].done' must be a boolean");
        }
        out.add(new ChecklistItem(item.get("text").asText(), done.asBoolean(false)));
      } else {
        throw ApiException.badRequest("'checklist' must be an array of strings or {text, done} objects");
      }
    }
    return out;
  }
}
