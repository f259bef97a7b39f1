package io.kyros.collab.app;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.Batch;
import io.kyros.collab.Collab;
import io.kyros.collab.Event;
import io.kyros.collab.EventFilter;
import io.kyros.collab.Lease;
import io.kyros.collab.LeaseStatus;
import io.kyros.collab.NewTask;
import io.kyros.collab.NotFoundException;
import io.kyros.collab.Task;
import io.kyros.collab.TaskClaim;
import io.kyros.collab.TaskFilter;
import io.kyros.collab.TransitionResult;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;

/**
 * The commands' operations on a store opened in this process ({@code --store}): the same JSON as
 * the HTTP API, core's exceptions on failure, a stale claim or a held lease as
 * {@link ConflictException}. Writes are made as the command's actor ({@code --as}, default the
 * process's own holder), claim operations as the claim's holder.
 *
 * <p>Not thread-safe; one per command.
 */
final class StoreBackend implements CliBackend {
  private final OpenStore store;
  private final Collab collab;

  StoreBackend(OpenStore store, String actor) {
    this.store = store;
    this.collab = store.as(actor);
  }

  @Override
  public JsonNode listTasks(String status, String label) {
    TaskFilter filter = TaskFilter.all();
    if (status != null) {
      filter = filter.statuses(status.split(",", -1)); // as the server: an empty name is refused
    }
    if (label != null) {
      filter = filter.labels(label.split(",", -1));
    }
    ObjectNode out = Json.object();
    ArrayNode data = out.putArray("data");
    collab.tasks().list(filter).forEach(t -> data.add(Json.task(t)));
    out.putNull("next_after");
    return out;
  }

  @Override
  public JsonNode claimable(List<String> labels, int limit) {
    return TasksRoutes.claimablePage(collab.tasks(), new HashSet<>(labels), limit);
  }

  @Override
  public JsonNode createTask(ObjectNode spec) {
    NewTask t = NewTask.of(spec.get("title").asText()).withPriority(spec.path("priority").asInt(0));
    if (spec.hasNonNull("id")) {
      t = t.withId(spec.get("id").asText());
    }
    if (spec.hasNonNull("description")) {
      t = t.withDescription(spec.get("description").asText());
    }
    // a label given twice counts once, as POST /collab/tasks takes it
    t = t.withLabels(Arrays.stream(strings(spec, "labels")).distinct().toArray(String[]::new))
        .withDependsOn(strings(spec, "depends_on"))
        .withChecklist(strings(spec, "checklist"));
    Task task = collab.tasks().create(t);
    return Json.object().put("id", task.id()).put("etag", task.etag().headerValue());
  }

  @Override
  public JsonNode getTask(String id) {
    return Json.task(task(id));
  }

  @Override
  public JsonNode claimNext(String worker, Duration ttl, List<String> labels) {
    Optional<TaskClaim> claim = store.as(worker).tasks().claimNext(worker, ttl, new HashSet<>(labels));
    if (claim.isEmpty()) {
      return null;
    }
    Lease l = claim.get().lease();
    ObjectNode out = Json.object();
    out.set("task", Json.task(claim.get().task()));
    out.put("lock_id", l.leaseId()).put("fence", l.fence()).put("ttl_seconds", Json.seconds(l.ttl()))
        .put("expires_at", Json.instant(l.expiresAt()));
    return out;
  }

  @Override
  public JsonNode complete(String id, String lockId, long fence) {
    TaskClaim c = claim(id, lockId, fence);
    return Json.task(store.as(c.lease().holder()).tasks().complete(c));
  }

  @Override
  public JsonNode fail(String id, String lockId, long fence, String error) {
    TaskClaim c = claim(id, lockId, fence);
    return Json.task(store.as(c.lease().holder()).tasks().fail(c, error));
  }

  @Override
  public JsonNode move(String id, String to) {
    TransitionResult r = collab.tasks().transition(id, to, task(id).etag());
    return Json.object().put("old_status", r.oldStatus()).put("new_status", r.newStatus())
        .put("etag", r.task().etag().headerValue());
  }

  @Override
  public JsonNode listLeases() {
    ObjectNode out = Json.object();
    ArrayNode data = out.putArray("data");
    for (LeaseStatus s : collab.leases().list()) {
      data.add(Json.leaseStatus(s));
    }
    out.put("now", collab.now().toString());
    return out;
  }

  @Override
  public JsonNode acquire(String resource, String holder, Duration ttl) {
    Collab as = holder == null ? collab : store.as(holder);
    Optional<Lease> got = as.leases().tryAcquire(resource, ttl);
    if (got.isEmpty()) {
      Optional<Lease> held = collab.leases().get(resource);
      throw new ConflictException("resource '" + resource + "' is held by "
          + held.map(l -> l.holder() + " until " + l.expiresAt()).orElse("another holder"));
    }
    Lease l = got.get();
    ObjectNode out = Json.object().put("lock_id", l.leaseId()).put("fence", l.fence())
        .put("expires_at", Json.instant(l.expiresAt()));
    out.set("lease", Json.lease(l));
    return out;
  }

  @Override
  public JsonNode release(String lockId) {
    Lease lease = collab.leases().list().stream().map(LeaseStatus::lease).filter(l -> l.leaseId().equals(lockId))
        .findFirst().orElseThrow(() -> new NotFoundException("lease " + lockId));
    if (!store.as(lease.holder()).leases().release(lease)) {
      throw new ConflictException("lease " + lockId + " on " + lease.resource() + " was released or reclaimed meanwhile");
    }
    return Json.object().put("released", true).put("lock_id", lockId);
  }

  @Override
  public JsonNode reclaim() {
    ObjectNode out = Json.object();
    ArrayNode leases = out.putArray("leases");
    collab.leases().reclaimStale().forEach(l -> leases.add(Json.lease(l)));
    ArrayNode tasks = out.putArray("tasks");
    collab.tasks().reclaimStale().forEach(t -> tasks.add(Json.task(t)));
    return out;
  }

  @Override
  public JsonNode listAgents() {
    ObjectNode out = Json.object();
    ArrayNode data = out.putArray("data");
    collab.agents().list().forEach(a -> data.add(Json.agent(a)));
    return out;
  }

  @Override
  public JsonNode listBatches() {
    ObjectNode out = Json.object();
    ArrayNode data = out.putArray("data");
    collab.batches().list().forEach(b -> data.add(Json.batch(b)));
    return out;
  }

  @Override
  public JsonNode getBatch(String id) {
    long position = collab.events().lastId(); // before the read, as GET /collab/batches/{id} does
    Batch batch = collab.batches().get(id).orElseThrow(() -> new NotFoundException("batch " + id));
    return Json.batch(batch).put("last_event_id", position);
  }

  @Override
  public long lastEventId() {
    return collab.events().lastId();
  }

  @Override
  public JsonNode events(long after, List<String> types, int limit, long waitSeconds) throws InterruptedException {
    if (store.lastIdCoversEverySeenId()) { // as GET /collab/events answers 409: waiting there would skip events
      long last = collab.events().lastId();
      if (after > last) {
        throw new ConflictException(OpenStore.pastTheEnd("after=", after, last) + "; resume after " + last
            + " or earlier");
      }
    }
    EventFilter filter = types.isEmpty() ? EventFilter.all() : EventFilter.all().types(types.toArray(String[]::new));
    List<Event> events = waitSeconds > 0 ? collab.events().awaitAfter(after, filter, limit, Duration.ofSeconds(waitSeconds))
        : collab.events().read(after, filter, limit);
    ObjectNode out = Json.object();
    ArrayNode data = out.putArray("data");
    events.forEach(e -> data.add(Json.event(e)));
    out.put("last_id", events.isEmpty() ? after : events.get(events.size() - 1).id());
    return out;
  }

  @Override
  public String log(long after, int limit) {
    return collab.events().renderMarkdown(after, limit);
  }

  @Override
  public void close() {
    store.close();
  }

  private Task task(String id) {
    return collab.tasks().get(id).orElseThrow(() -> new NotFoundException("task " + id));
  }

  /** The task's current claim if it has this fence (and lock id, when given); else a conflict naming the holder. */
  private TaskClaim claim(String id, String lockId, long fence) {
    Optional<TaskClaim> now = collab.tasks().currentClaim(id);
    if (now.isEmpty()) {
      throw new ConflictException("stale fence " + fence + " for task " + id + ": the task is not claimed now (status "
          + task(id).status() + ")");
    }
    Lease l = now.get().lease();
    if (l.fence() != fence || (lockId != null && !lockId.equals(l.leaseId()))) {
      throw new ConflictException("stale fence " + fence + " for task " + id + ": current holder " + l.holder()
          + " with fence " + l.fence());
    }
    return now.get();
  }

  private static String[] strings(JsonNode spec, String field) {
    JsonNode a = spec.path(field);
    String[] out = new String[a.size()];
    for (int i = 0; i < a.size(); i++) {
      out[i] = a.get(i).asText();
    }
    return out;
  }
}
