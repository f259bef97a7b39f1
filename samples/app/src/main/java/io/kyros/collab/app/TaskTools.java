package io.kyros.collab.app;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.ChecklistItem;
import io.kyros.collab.Collab;
import io.kyros.collab.CollabException;
import io.kyros.collab.Lease;
import io.kyros.collab.LeaseLostException;
import io.kyros.collab.NewTask;
import io.kyros.collab.NotFoundException;
import io.kyros.collab.PreconditionFailedException;
import io.kyros.collab.Task;
import io.kyros.collab.TaskClaim;
import io.kyros.collab.TaskPatch;
import io.kyros.collab.Workflow;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * The task tools of {@code collab mcp}, acting as one agent (the events they record name it as
 * actor):
 *
 * <pre>
 * tasks_ready  {labels?, limit?}                         → {tasks: [{id, title, priority, labels?}], more?}
 * task_get     {id}                                      → the task
 * task_create  {title, description?, priority?, labels?, depends_on?, checklist?, id?} → {id, status}
 * task_claim   {labels?, id?, ttl_seconds?}              → {id, title, fence, ttl_seconds, expires_at, ...}
 *                                                          or {task: null, hint} when nothing is ready
 * task_update  {id, fence, to?, ttl_seconds?, check?, title?, description?, priority?, labels?, depends_on?}
 *                                                        → {id, status, fence, expires_at}
 * task_finish  {id, fence, outcome: done|failed|released, reason?} → {id, status, attempts}
 * </pre>
 *
 * A claim is named by its task id and fence. A fence that is not the task's current claim's is
 * refused before anything is written, naming the current holder; so is a transition the workflow
 * does not allow, or a checklist item that does not exist. {@code task_update} with only id and
 * fence is the claim's heartbeat. Labels given twice count once (as the HTTP API takes them). An
 * {@code id} that is taken is refused, naming the task that has it: a retry cannot succeed.
 *
 * <p>Thread-safe (state lives in the store).
 */
final class TaskTools {
  static final Duration DEFAULT_TTL = Duration.ofMinutes(5);
  static final Duration MAX_TTL = Duration.ofDays(1);
  /** What a tool call that failed on a lost claim wrote before: nothing. */
  private static final String NOTHING_WRITTEN = "Nothing was written.";

  private static final String STRINGS = "{\"type\":\"array\",\"items\":{\"type\":\"string\"}}";

  private final Collab collab;
  private final String agent;

  /**
   * @param collab the agent's Collab (its holder is the agent)
   */
  TaskTools(Collab collab) {
    this.collab = collab;
    this.agent = collab.holder();
  }

  List<McpTool> tools() {
    return List.of(
        new McpTool("tasks_ready", "List tasks you can claim now (queued, dependencies done), best first.",
            "{\"type\":\"object\",\"properties\":{\"labels\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},"
                + "\"description\":\"any of these (e.g. your skills)\"},\"limit\":{\"type\":\"integer\"}}}",
            this::ready),
        new McpTool("task_get", "Show one task: status, holder, checklist, dependencies.",
            "{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"string\"}},\"required\":[\"id\"]}", this::get),
        new McpTool("task_create", "Create a queued task; returns its id.",
            "{\"type\":\"object\",\"properties\":{\"title\":{\"type\":\"string\"},\"description\":{\"type\":\"string\"},"
                + "\"priority\":{\"type\":\"integer\",\"description\":\"higher first\"},\"labels\":" + STRINGS + ","
                + "\"depends_on\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"description\":\"task ids to finish first\"},"
                + "\"checklist\":" + STRINGS + ",\"id\":{\"type\":\"string\"}},\"required\":[\"title\"]}",
            this::create),
        new McpTool("task_claim", "Claim the best ready task (or one by id); returns id, fence, ttl. Keep the fence.",
            "{\"type\":\"object\",\"properties\":{\"labels\":" + STRINGS + ",\"id\":{\"type\":\"string\"},"
                + "\"ttl_seconds\":{\"type\":\"number\",\"description\":\"default 300; renew with task_update\"}}}",
            this::claim),
        new McpTool("task_update", "Heartbeat your claim (id, fence); optionally move it (to) or edit fields.",
            "{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"string\"},\"fence\":{\"type\":\"integer\"},"
                + "\"to\":{\"type\":\"string\",\"description\":\"status, e.g. in_progress, review\"},"
                + "\"ttl_seconds\":{\"type\":\"number\"},\"check\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"},"
                + "\"description\":\"checklist items done (from 0)\"},\"title\":{\"type\":\"string\"},"
                + "\"description\":{\"type\":\"string\"},\"priority\":{\"type\":\"integer\"},\"labels\":" + STRINGS + ","
                + "\"depends_on\":" + STRINGS + "},\"required\":[\"id\",\"fence\"]}",
            this::update),
        new McpTool("task_finish", "End your claim: done, failed (retried later) or released (back to the queue).",
            "{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"string\"},\"fence\":{\"type\":\"integer\"},"
                + "\"outcome\":{\"enum\":[\"done\",\"failed\",\"released\"]},\"reason\":{\"type\":\"string\"}},"
                + "\"required\":[\"id\",\"fence\",\"outcome\"]}",
            this::finish));
  }

  private Object ready(McpArgs args) {
    Set<String> labels = args.stringSet("labels");
    int limit = (int) args.integer("limit", 20, 1, 500);
    // one more than asked: whether there are more, without reading them all
    List<Task> ready = collab.tasks().ready(labels, limit + 1);
    ObjectNode out = Json.object();
    ArrayNode list = out.putArray("tasks");
    ready.stream().limit(limit).forEach(t -> list.add(brief(t)));
    if (ready.size() > limit) {
      out.put("more", true);
    }
    return out;
  }

  private Object get(McpArgs args) {
    String id = args.string("id");
    Task t = collab.tasks().get(id).orElseThrow(() -> new NotFoundException("task " + id));
    return compact(Json.task(t));
  }

  private Object create(McpArgs args) {
    NewTask spec = NewTask.of(args.string("title"));
    if (args.has("id")) {
      spec = spec.withId(args.string("id"));
    }
    if (args.has("description")) {
      spec = spec.withDescription(args.string("description"));
    }
    spec = spec.withPriority((int) args.integer("priority", 0, Integer.MIN_VALUE, Integer.MAX_VALUE))
        .withLabels(args.stringSet("labels").toArray(String[]::new))
        .withDependsOn(args.strings("depends_on").toArray(String[]::new))
        .withChecklist(args.strings("checklist").toArray(String[]::new));
    try {
      return brief(collab.tasks().create(spec));
    } catch (PreconditionFailedException e) { // core's way of saying the id exists: a retry cannot succeed
      if (spec.id() == null) {
        throw e;
      }
      throw new ToolError(TasksRoutes.idTaken(spec.id(), collab.tasks().get(spec.id()))
          + ". Nothing was written.");
    }
  }

  private Object claim(McpArgs args) {
    Duration ttl = args.seconds("ttl_seconds", DEFAULT_TTL, MAX_TTL);
    Set<String> labels = args.stringSet("labels");
    Optional<TaskClaim> claim;
    if (args.has("id")) {
      String id = args.string("id");
      if (!labels.isEmpty()) {
        throw new ToolError("give either id or labels to task_claim, not both. Nothing was written.");
      }
      claim = collab.tasks().claim(id, agent, ttl);
      if (claim.isEmpty()) {
        Task t = collab.tasks().get(id).orElseThrow(() -> new NotFoundException("task " + id));
        throw new ToolError("cannot claim: " + WhyNotClaimable.of(collab.tasks(), t, collab.now())
            + ". Nothing was written; tasks_ready lists what you can claim now.");
      }
    } else {
      claim = collab.tasks().claimNext(agent, ttl, labels);
      if (claim.isEmpty()) {
        ObjectNode none = Json.object();
        none.putNull("task");
        none.put("hint", "no ready task" + (labels.isEmpty() ? "" : " with labels " + labels)
            + "; wait for one with events {types:[\"task_created\",\"task_released\",\"task_completed\"], "
            + "wait_seconds:30}");
        return none;
      }
    }
    Task t = claim.get().task();
    Lease l = claim.get().lease();
    ObjectNode out = Json.object();
    out.put("id", t.id()).put("title", t.title()).put("status", t.status()).put("fence", l.fence())
        .put("ttl_seconds", Json.seconds(l.ttl())).put("expires_at", Json.instant(l.expiresAt()));
    if (!t.description().isEmpty()) {
      out.put("description", t.description());
    }
    if (!t.checklist().isEmpty()) {
      out.set("checklist", Json.task(t).get("checklist"));
    }
    if (!t.labels().isEmpty()) {
      out.set("labels", Json.strings(t.labels()));
    }
    return out;
  }

  private Object update(McpArgs args) {
    String id = args.string("id");
    long fence = args.integer("fence");
    String to = args.optString("to");
    Duration ttl = args.has("ttl_seconds") ? args.seconds("ttl_seconds", null, MAX_TTL) : null;
    List<Integer> check = args.integers("check");
    TaskClaim claim = requireClaim(id, fence);
    Workflow workflow = collab.tasks().workflow();
    if (to != null) {
      workflow.requireState(to);
      if (to.equals(workflow.claimed())) {
        throw new ToolError("task " + id + " is already claimed; 'to' must be a later status: "
            + workflow.allowedFrom(claim.task().status()) + ". Nothing was written.");
      }
      workflow.checkTransition(claim.task().status(), to);
    }
    TaskPatch patch = patch(args, claim.task(), check);
    // the renewal checks the fence in a commit before the fields are written: a claim lost after requireClaim read
    // it fails here with nothing written, and once renewed it holds for its ttl while the patch commits
    Lease lease = throughClaim(claim, c -> ttl == null ? collab.leases().renew(c.lease())
        : collab.leases().renew(c.lease(), ttl));
    Task task = claim.task();
    if (patch != null) {
      try {
        task = collab.tasks().update(id, task.etag(), patch);
      } catch (CollabException | IllegalArgumentException e) {
        if (e instanceof ToolError) {
          throw e;
        }
        // the renewal was written before: say so where the refusal alone would say "Nothing was written"
        throw new ToolError(ToolErrors.message("task_update", e, "The fields were not changed")
            + " (The claim's lease was renewed first: fence " + lease.fence() + ", expires at "
            + Json.instant(lease.expiresAt()) + ".)");
      }
    }
    if (to != null) {
      String written = patch == null ? NOTHING_WRITTEN : "The field changes were written (ETag " + task.etag()
          + ") before the claim was lost; the status was not changed.";
      task = throughClaim(claim.withLease(lease), c -> collab.tasks().transition(c, to).task(), written);
    }
    ObjectNode out = Json.object();
    out.put("id", id).put("status", task.status());
    if (workflow.initial().equals(task.status()) || workflow.isTerminal(task.status())) {
      out.put("claim", "ended");
    } else {
      out.put("fence", lease.fence()).put("expires_at", Json.instant(lease.expiresAt()));
    }
    return out;
  }

  private Object finish(McpArgs args) {
    String id = args.string("id");
    long fence = args.integer("fence");
    String outcome = args.choice("outcome", List.of("done", "failed", "released"));
    String reason = args.optString("reason");
    TaskClaim claim = requireClaim(id, fence);
    Task task;
    switch (outcome) {
      case "done":
        collab.tasks().workflow().checkTransition(claim.task().status(), collab.tasks().workflow().done());
        task = throughClaim(claim, c -> collab.tasks().complete(c));
        break;
      case "failed":
        task = throughClaim(claim, c -> collab.tasks().fail(c, reason == null ? "failed (no reason given)" : reason));
        break;
      default:
        task = throughClaim(claim, c -> collab.tasks().release(c));
        break;
    }
    ObjectNode out = Json.object();
    out.put("id", id).put("status", task.status()).put("attempts", task.attempts());
    if (task.notBefore() != null) {
      out.put("retry_after", Json.instant(task.notBefore()));
    }
    return out;
  }

  /** The task's current claim if {@code fence} is its fence and this agent holds it; else a tool error saying whose it is. */
  private TaskClaim requireClaim(String id, long fence) {
    Optional<TaskClaim> current = collab.tasks().currentClaim(id);
    if (current.isEmpty()) {
      Task t = collab.tasks().get(id).orElseThrow(() -> new NotFoundException("task " + id));
      throw new ToolError("stale fence " + fence + " for task " + id + ": nobody holds it now (status " + t.status()
          + "); your claim expired or ended. Nothing was written; do not finish it: claim it again (task_claim {id})"
          + " if it is queued, or pick other work.");
    }
    Lease held = current.get().lease();
    if (held.fence() != fence) {
      throw staleFence(id, fence, held, current.get().task().status(), NOTHING_WRITTEN);
    }
    if (!held.holder().equals(agent)) {
      throw new ToolError("task " + id + " (fence " + fence + ") is claimed by " + held.holder() + ", not by you ("
          + agent + "). Nothing was written; claim your own work with task_claim.");
    }
    return current.get();
  }

  /** Runs a claim operation; a claim lost meanwhile becomes the stale-fence tool error. */
  private <T> T throughClaim(TaskClaim claim, Function<TaskClaim, T> op) {
    return throughClaim(claim, op, NOTHING_WRITTEN);
  }

  /** As above; {@code written} says what an earlier step of the call wrote, for the error. */
  private <T> T throughClaim(TaskClaim claim, Function<TaskClaim, T> op, String written) {
    try {
      return op.apply(claim);
    } catch (LeaseLostException e) {
      String id = claim.task().id();
      Optional<TaskClaim> now = collab.tasks().currentClaim(id);
      if (now.isPresent()) {
        throw staleFence(id, claim.lease().fence(), now.get().lease(), now.get().task().status(), written);
      }
      throw new ToolError("stale fence " + claim.lease().fence() + " for task " + id + ": " + e.getMessage()
          + ". " + written + " Do not finish it: claim it again (task_claim {id}) if it is queued, or pick other"
          + " work.");
    }
  }

  private static ToolError staleFence(String id, long fence, Lease held, String status, String written) {
    return new ToolError("stale fence " + fence + " for task " + id + ": it is now claimed by " + held.holder()
        + " with fence " + held.fence() + " (status " + status + "). " + written + " Do not finish it,"
        + " call task_claim for other work.");
  }

  /** The field changes asked for, null if none; checked before anything is written. */
  private static TaskPatch patch(McpArgs args, Task task, List<Integer> check) {
    TaskPatch patch = TaskPatch.none();
    boolean any = false;
    if (args.has("title")) {
      patch = patch.title(args.string("title"));
      any = true;
    }
    if (args.has("description")) {
      patch = patch.description(args.string("description"));
      any = true;
    }
    if (args.has("priority")) {
      patch = patch.priority((int) args.integer("priority", 0, Integer.MIN_VALUE, Integer.MAX_VALUE));
      any = true;
    }
    if (args.has("labels")) {
      patch = patch.labels(args.stringSet("labels").toArray(String[]::new));
      any = true;
    }
    if (args.has("depends_on")) {
      patch = patch.dependsOn(args.strings("depends_on").toArray(String[]::new));
      any = true;
    }
    if (!check.isEmpty()) {
      List<ChecklistItem> items = new ArrayList<>(task.checklist());
      for (int i : check) {
        if (i < 0 || i >= items.size()) {
          throw new ToolError("checklist item " + i + " does not exist: task " + task.id() + " has "
              + items.size() + " item(s), numbered from 0. Nothing was written.");
        }
        items.set(i, new ChecklistItem(items.get(i).text(), true));
      }
      patch = patch.checklist(items);
      any = true;
    }
    return any ? patch : null;
  }

  /** The fields an agent scans a list by. */
  static ObjectNode brief(Task t) {
    ObjectNode o = Json.object();
    o.put("id", t.id()).put("title", t.title()).put("status", t.status()).put("priority", t.priority());
    if (!t.labels().isEmpty()) {
      o.set("labels", Json.strings(t.labels()));
    }
    if (!t.dependsOn().isEmpty()) {
      o.set("depends_on", Json.strings(t.dependsOn()));
    }
    if (t.assignee() != null) {
      o.put("assignee", t.assignee());
    }
    return o;
  }

  /** A JSON object without its null members and empty arrays and strings (fewer tokens for the agent). */
  static ObjectNode compact(ObjectNode o) {
    List<String> drop = new ArrayList<>();
    o.properties().forEach(e -> {
      var v = e.getValue();
      if (v.isNull() || (v.isContainerNode() && v.isEmpty()) || (v.isTextual() && v.asText().isEmpty())) {
        drop.add(e.getKey());
      }
    });
    o.remove(drop);
    return o;
  }
}
