package io.kyros.collab.app;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.CanonicalJson;
import io.kyros.collab.CollectionSnapshot;
import io.kyros.collab.Document;
import io.kyros.collab.ETag;
import io.kyros.collab.LeaseStatus;
import io.kyros.collab.Task;
import io.kyros.collab.TaskFilter;
import java.util.List;
import java.util.Map;

/**
 * {@code GET /collab/state/{kind}}: a whole kind of state in one read, {@code {data, etag}} with an
 * {@code ETag} header, and 304 when {@code If-None-Match} still matches:
 *
 * <pre>
 * tasks         every task (creation order); ETag = hash of their (id, ETag) list
 * leases        every held lease, stale ones included (without the time left, which changes every instant;
 *               {@code now} is given beside the data); ETag = hash of the data
 * agents        every registered agent (id order); ETag = hash of their (id, ETag, status, tasks held): the
 *               status is judged when read, so it is part of the tag
 * batches       every batch (id order); ETag = hash of their (id, ETag) list (a batch's ETag changes with
 *               its progress)
 * COLLECTION    every document of a user collection (id order); ETag = the collection's ETag
 * </pre>
 *
 * <p>A collection named like a kind ({@code tasks}, ...) is read at {@code GET /collab/docs/{collection}}, which
 * answers the same for any collection.
 *
 * <p>Stateless and thread-safe.
 */
final class StateRoutes {
  private final OpenStore store;

  private StateRoutes(OpenStore store) {
    this.store = store;
  }

  static List<Route> routes(OpenStore store) {
    StateRoutes s = new StateRoutes(store);
    return List.of(new Route("GET", "/collab/state/{kind}",
        "All state of a kind: tasks, leases, agents, batches, or a document collection", false, List.of(), null,
        Map.of(200, "{data, etag} + ETag", 304, "If-None-Match matched", 404, "unknown kind"), s::state),
        new Route("GET", "/collab/docs/{collection}",
            "Every document of a collection, whatever its name (one named tasks, leases, agents or batches too)",
            false, List.of(), null, Map.of(200, "{data, etag} + ETag", 304, "If-None-Match matched",
                404, "a reserved name (_...)"), s::collection));
  }

  private void collection(Exchange x) {
    answer(x, Json.object(), x.param("collection"), true);
  }

  private void state(Exchange x) {
    answer(x, Json.object(), x.param("kind"), false);
  }

  /** Answers with a kind of state, or with the collection of that name if {@code collection} or no kind has it. */
  private void answer(Exchange x, ObjectNode out, String kind, boolean collection) {
    ETag etag;
    switch (collection ? "" : kind) {
      case "tasks" -> {
        ArrayNode data = out.putArray("data");
        StringBuilder ids = new StringBuilder();
        for (Task t : store.collab().tasks().list(TaskFilter.all())) {
          data.add(Json.task(t));
          ids.append(t.id()).append('\n').append(t.etag().tag()).append('\n');
        }
        etag = ETag.strong("tasks-" + CanonicalJson.hash(Json.NODES.textNode(ids.toString())));
      }
      case "leases" -> {
        ArrayNode data = out.putArray("data");
        for (LeaseStatus s : store.collab().leases().list()) {
          data.add(Json.lease(s.lease()).put("stale", s.stale()));
        }
        etag = ETag.strong("leases-" + CanonicalJson.hash(data));
        out.put("now", store.collab().now().toString());
      }
      case "agents" -> {
        ArrayNode data = out.putArray("data");
        StringBuilder tags = new StringBuilder();
        for (io.kyros.collab.Agent a : store.collab().agents().list()) {
          data.add(Json.agent(a));
          // the status is judged when read (presence, claims), so it is part of the tag with the record's ETag
          tags.append(a.id()).append('\n').append(a.etag().tag()).append('\n').append(a.status()).append('\n')
              .append(a.currentTasks()).append('\n');
        }
        etag = ETag.strong("agents-" + CanonicalJson.hash(Json.NODES.textNode(tags.toString())));
      }
      case "batches" -> {
        ArrayNode data = out.putArray("data");
        StringBuilder tags = new StringBuilder();
        for (io.kyros.collab.Batch b : store.collab().batches().list()) {
          data.add(Json.batch(b));
          tags.append(b.id()).append('\n').append(b.etag().tag()).append('\n');
        }
        etag = ETag.strong("batches-" + CanonicalJson.hash(Json.NODES.textNode(tags.toString())));
      }
      default -> {
        if (kind.startsWith("_")) {
          throw ApiException.notFound(collection ? "collection " + kind + " is reserved: it is Collab's own"
              : "no state kind " + kind);
        }
        CollectionSnapshot snap = store.collab().documents().list(kind);
        ArrayNode data = out.putArray("data");
        for (Document d : snap.documents()) {
          data.add(Json.document(d));
        }
        etag = snap.etag();
      }
    }
    if (Conditions.notModified(x, etag)) {
      x.notModified(etag);
      return;
    }
    out.put("etag", etag.headerValue());
    x.json(200, out, etag);
  }
}
