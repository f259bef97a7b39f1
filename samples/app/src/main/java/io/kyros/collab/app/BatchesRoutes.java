package io.kyros.collab.app;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.Batch;
import io.kyros.collab.BatchItem;
import io.kyros.collab.BatchPolicy;
import io.kyros.collab.BatchSpec;
import io.kyros.collab.Event;
import io.kyros.collab.EventFilter;
import io.kyros.collab.EventType;
import io.kyros.collab.PreconditionFailedException;
import io.kyros.collab.Preconditions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * The batch routes (core's {@link io.kyros.collab.Batches}):
 *
 * <pre>
 * GET  /collab/batches                   {data: [batch]}
 * POST /collab/batches                   {label, items: [{id, title?, payload?}], id?, concurrency? (4),
 *                                        policy? (continue-on-failure | abort-all | retry-failed), retries?,
 *                                        final_step?, priority?} → 201 the running batch + ETag, Location
 * GET  /collab/batches/{id}              the batch + ETag and last_event_id (resume its progress after it); 304; 404
 * POST /collab/batches/{id}/cancel       {reason?} → the batch; 409 if it has ended; If-Match, when sent, must
 *                                        hold: 412 with the current batch otherwise
 * GET  /collab/batches/{id}/progress     text/event-stream of the batch's batch_progress and batch_state_changed
 *                                        events; resumes after Last-Event-ID, else after=, else from now
 * </pre>
 *
 * A batch is {@code {id, label, policy, retries, concurrency, state, progress: {total, queued, running,
 * succeeded, failed, cancelled, percent}, final_step_label, final_step_task_id, reason, created_at,
 * updated_at, etag}}. The progress stream is fed by the server's {@link EventHub} like the events
 * tail, so it holds no thread; a client that reads the batch and then opens the stream with
 * {@code after=<last_event_id>} misses nothing.
 *
 * <p>Stateless and thread-safe.
 */
final class BatchesRoutes {
  private final OpenStore store;
  private final EventHub hub;

  private BatchesRoutes(OpenStore store, EventHub hub) {
    this.store = store;
    this.hub = hub;
  }

  static List<Route> routes(OpenStore store, EventHub hub) {
    BatchesRoutes b = new BatchesRoutes(store, hub);
    return List.of(
        new Route("GET", "/collab/batches", "List the batches", false, List.of(), null,
            Map.of(200, "{data: [batch]}"), b::list),
        new Route("POST", "/collab/batches", "Submit a batch (it starts at once)", true, List.of(),
            "{\"label\": \"convert\", \"items\": [{\"id\": \"a\", \"payload\": \"a.doc\"}], \"concurrency\": 2, "
                + "\"policy\": \"continue-on-failure\"}",
            Map.of(201, "the running batch", 400, "invalid batch", 409, "a batch with this id exists"), b::submit),
        new Route("GET", "/collab/batches/{id}", "Read a batch with its progress", false, List.of(), null,
            Map.of(200, "the batch + ETag, last_event_id", 304, "If-None-Match matched", 404, "no such batch"),
            b::get),
        new Route("POST", "/collab/batches/{id}/cancel", "Cancel a batch", true, List.of(),
            "{\"reason\": \"not needed\"}", Map.of(200, "the batch", 400, "invalid body or malformed If-Match",
                404, "no such batch", 409, "it has ended", 412, "stale If-Match (current batch in body)"),
            b::cancel),
        new Route("GET", "/collab/batches/{id}/progress", "A batch's progress as server-sent events", false,
            List.of("after"), null, Map.of(200, "text/event-stream", 404, "no such batch",
                409, "Last-Event-ID or after is past the last event id (last_id in body)"), b::progress));
  }

  private void list(Exchange x) {
    ObjectNode out = Json.object();
    ArrayNode data = out.putArray("data");
    store.collab().batches().list().forEach(batch -> data.add(Json.batch(batch)));
    x.json(200, out);
  }

  private Batch existing(String id) {
    return store.collab().batches().get(id).orElseThrow(() -> ApiException.notFound("no batch " + id));
  }

  private void submit(Exchange x) {
    Body b = new Body(x.jsonBody()).only("id", "label", "items", "concurrency", "policy", "retries", "final_step",
        "priority");
    BatchSpec.Builder spec = BatchSpec.builder(b.string("label"));
    if (b.has("id")) {
      spec.id(b.string("id"));
    }
    spec.items(items(b.node().get("items")));
    if (b.has("concurrency")) {
      spec.concurrency(b.optInt("concurrency"));
    }
    if (b.has("policy")) {
      Integer retries = b.optInt("retries");
      spec.policy(BatchPolicy.of(b.string("policy"), retries == null ? 0 : retries));
    } else if (b.has("retries")) {
      throw ApiException.badRequest("'retries' needs 'policy': \"retry-failed\"");
    }
    if (b.has("final_step")) {
      spec.finalStep(b.string("final_step"));
    }
    if (b.has("priority")) {
      spec.priority(b.optInt("priority"));
    }
    BatchSpec built = spec.build();
    Batch batch;
    try {
      batch = actor(x).batches().submit(built);
    } catch (PreconditionFailedException e) { // core's way of saying the id is taken: answered as tasks' is
      Optional<Batch> taken = store.collab().batches().get(built.id());
      ApiException api = ApiException.conflict("batch id taken: a batch with id " + built.id() + " exists"
          + taken.map(t -> " (state " + t.state().wireName() + ")").orElse("")
          + "; choose another id, or leave it out to have one generated")
          .with("current", taken.<JsonNode>map(Json::batch).orElse(Json.NODES.nullNode()));
      taken.ifPresent(t -> api.header("ETag", t.etag().headerValue()));
      throw api;
    }
    x.response().getHeaders().put("Location", "/collab/batches/" + batch.id());
    x.json(201, Json.batch(batch), batch.etag());
  }

  private static List<BatchItem> items(JsonNode node) {
    if (node == null || !node.isArray() || node.isEmpty()) {
      throw ApiException.badRequest("'items' must be a non-empty array of {id, title?, payload?} objects");
    }
    List<BatchItem> out = new ArrayList<>();
    for (JsonNode item : node) {
      if (!item.isObject()) {
        throw ApiException.badRequest("'items' must be a non-empty array of {id, title?, payload?} objects");
      }
      Body i = new Body((ObjectNode) item).only("id", "title", "payload");
      String id = i.string("id");
      String title = i.optString("title");
      String payload = i.optString("payload");
      out.add(new BatchItem(id, title == null ? id : title, payload == null ? "" : payload));
    }
    return out;
  }

  private void get(Exchange x) {
    long position = store.collab().events().lastId(); // before the read: resuming after it misses nothing
    Batch batch = existing(x.param("id"));
    if (Conditions.notModified(x, batch.etag())) {
      x.notModified(batch.etag());
      return;
    }
    x.json(200, Json.batch(batch).put("last_event_id", position), batch.etag());
  }

  /**
   * Cancels a batch. An If-Match is handed to core's {@code cancel}, which checks it in the commit that cancels.
   */
  private void cancel(Exchange x) {
    Preconditions ifMatch = Conditions.optionalIfMatch(x);
    Body b = new Body(x.optionalJsonBody()).only("reason");
    String reason = b.optString("reason");
    String id = x.param("id");
    Batch batch;
    try {
      // the If-Match is checked in the commit that cancels (core's preconditions), not by a read before it
      batch = actor(x).batches().cancel(id, reason == null ? "cancelled over the HTTP API" : reason, ifMatch);
    } catch (PreconditionFailedException e) {
      Batch now = existing(id);
      throw Conditions.ifMatchFailed("batch " + id, ifMatch, now.etag(), Json.batch(now));
    }
    x.json(200, Json.batch(batch), batch.etag());
  }

  private void progress(Exchange x) {
    String id = x.param("id");
    existing(id);
    long named = EventsRoutes.resumePosition(x, store);
    long after = named >= 0 ? named : store.collab().events().lastId();
    if (x.head()) {
      SseStream.head(x);
      return;
    }
    String target = "batches/" + id;
    EventFilter types = EventFilter.all().types(EventType.BATCH_PROGRESS.wireName(),
        EventType.BATCH_STATE_CHANGED.wireName());
    Predicate<Event> filter = e -> types.matches(e) && e.target().equals(target);
    x.detach();
    new SseStream(hub, filter, after, x.response(), x.callback()).open();
  }

  private io.kyros.collab.Collab actor(Exchange x) {
    return store.as(x.key() == null ? null : x.key().name());
  }
}
