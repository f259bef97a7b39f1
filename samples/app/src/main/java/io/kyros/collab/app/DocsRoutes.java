package io.kyros.collab.app;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.Document;
import io.kyros.collab.Documents;
import io.kyros.collab.ETagList;
import io.kyros.collab.GetResult;
import io.kyros.collab.PreconditionFailedException;
import io.kyros.collab.Preconditions;
import java.util.List;
import java.util.Map;

/**
 * The document routes, RFC 9110 conditional requests over Collab's ETag store:
 *
 * <pre>
 * GET    /collab/docs/{collection}/{id}   {collection, id, data, etag} + ETag; If-None-Match → 304, If-Match → 412
 * PUT    /collab/docs/{collection}/{id}   body = the JSON object; If-Match: "etag" to replace, If-None-Match: * to
 *                                         create (201) → the document + ETag; 412 with the current state
 * DELETE /collab/docs/{collection}/{id}   If-Match → 204; 412 with the current state; 404 if absent
 * </pre>
 *
 * A write without If-Match or {@code If-None-Match: *} is 428 unless the server runs with {@code
 * --allow-unconditional} ({@link Conditions#forWrite}). A PUT that creates the document answers 201 whatever
 * precondition allowed it, one that replaces it 200.
 *
 * <p>Stateless and thread-safe.
 */
final class DocsRoutes {
  /** How often a PUT pinned to the state it read is tried when that state keeps changing under it. */
  private static final int PINNED_ATTEMPTS = 10;
  private final OpenStore store;

  private DocsRoutes(OpenStore store) {
    this.store = store;
  }

  static List<Route> routes(OpenStore store) {
    DocsRoutes d = new DocsRoutes(store);
    String path = "/collab/docs/{collection}/{id}";
    return List.of(
        new Route("GET", path, "Read a document (conditional)", false, List.of(), null,
            Map.of(200, "{collection, id, data, etag}", 304, "If-None-Match matched", 404, "absent",
                412, "If-Match failed"), d::get),
        new Route("PUT", path, "Create (If-None-Match: *) or replace (If-Match) a document", true, List.of(),
            "{\"state\": \"paid\"}",
            Map.of(200, "replaced", 201, "created (whatever precondition allowed it)",
                412, "precondition failed (current state in body)",
                428, "neither If-Match nor If-None-Match: *"), d::put),
        new Route("DELETE", path, "Delete a document (If-Match)", true, List.of(), null,
            Map.of(204, "deleted", 404, "absent", 412, "precondition failed",
                428, "neither If-Match nor If-None-Match: *"), d::delete));
  }

  private void get(Exchange x) {
    Preconditions p;
    try {
      p = Preconditions.fromHeaders(x.header("If-Match"), x.header("If-None-Match"));
    } catch (IllegalArgumentException e) {
      throw ApiException.badRequest(e.getMessage());
    }
    String c = x.param("collection");
    String id = x.param("id");
    GetResult r = store.collab().documents().get(c, id, p);
    switch (r.status()) {
      case OK -> x.json(200, Json.document(r.document()), r.etag());
      case NOT_MODIFIED -> x.notModified(r.etag());
      case NOT_FOUND -> throw ApiException.notFound("no document " + c + "/" + id);
      case PRECONDITION_FAILED -> {
        ApiException e = new ApiException(412, "Precondition Failed", "If-Match does not match document "
            + c + "/" + id + (r.etag() == null ? " (it does not exist)" : " (current ETag " + r.etag() + ")"));
        e.with("current", r.document() == null ? Json.NODES.nullNode() : Json.documentState(r.document()));
        if (r.etag() != null) {
          e.header("ETag", r.etag().headerValue());
        }
        throw e;
      }
      default -> throw new IllegalStateException("unknown read status " + r.status());
    }
  }

  private void put(Exchange x) {
    Preconditions asked = Conditions.forWrite(x);
    ObjectNode value = x.jsonBody();
    String c = x.param("collection");
    String id = x.param("id");
    Documents docs = actor(x).documents();
    if (asked.ifMatch() != null || asked.ifNoneMatch() != null && asked.ifNoneMatch().isAny()) {
      // If-Match holds only for a document that exists, If-None-Match: * only for one that does not
      Document d = docs.put(c, id, value, asked);
      x.json(asked.ifMatch() == null ? 201 : 200, Json.document(d), d.etag());
      return;
    }
    // If-None-Match with entity tags (or no precondition, when allowed) holds for a create and for a replace: the
    // write is pinned to the state read just before it, which tells which of the two it is
    for (int attempt = 1; ; attempt++) {
      GetResult now = docs.get(c, id, Preconditions.none());
      Document current = now.status() == GetResult.Status.OK ? now.document() : null;
      if (current != null && asked.evaluate(current.etag(), false) != Preconditions.Outcome.PROCEED) {
        throw new PreconditionFailedException(c, id, "If-None-Match " + asked.ifNoneMatch(), current);
      }
      Preconditions pinned = current == null ? Preconditions.ifAbsent()
          : new Preconditions(ETagList.of(current.etag()), asked.ifNoneMatch());
      try {
        Document d = docs.put(c, id, value, pinned);
        x.json(current == null ? 201 : 200, Json.document(d), d.etag());
        return;
      } catch (PreconditionFailedException changed) {
        // written by someone else between the read and the write: read again, unless that keeps happening
        if (attempt == PINNED_ATTEMPTS) {
          throw ApiException.conflict("document " + c + "/" + id + " changed " + attempt + " times while this PUT "
              + "was writing it; try again");
        }
      }
    }
  }

  private void delete(Exchange x) {
    Preconditions p = Conditions.forWrite(x);
    if (!actor(x).documents().delete(x.param("collection"), x.param("id"), p)) {
      throw ApiException.notFound("no document " + x.param("collection") + "/" + x.param("id"));
    }
    x.empty(204);
  }

  private io.kyros.collab.Collab actor(Exchange x) {
    return store.as(x.key() == null ? null : x.key().name());
  }
}
