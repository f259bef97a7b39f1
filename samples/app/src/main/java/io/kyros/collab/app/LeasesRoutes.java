package io.kyros.collab.app;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.Lease;
import io.kyros.collab.LeaseLostException;
import io.kyros.collab.LeaseStatus;
import io.kyros.collab.Task;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The lease routes, with the seed's field names ({@code lock_id} is the lease id):
 *
 * <pre>
 * GET  /collab/leases                      {data: [lease + remaining_seconds, stale], now}
 * POST /collab/leases/acquire              {resource, holder, ttl_seconds} → {lock_id, fence, expires_at, lease};
 *                                          409 while another holds it (naming the holder and its expiry)
 * POST /collab/leases/{lock_id}/renew      {resource?, fence?, ttl_seconds?} → the renewed lease
 * POST /collab/leases/{lock_id}/release    {resource?, fence?} → {released}
 * POST /collab/leases/reclaim              → {leases: [reclaimed lease], tasks: [requeued or failed task]}
 * </pre>
 *
 * A lease is found by its {@code lock_id} among the held leases (or directly by {@code resource}
 * when the body names it); one that is no longer current answers 409 naming the current holder, or
 * 404 when nobody holds anything under that id. Renewals and releases act as the lease's holder.
 *
 * <p>Stateless and thread-safe.
 */
final class LeasesRoutes {
  private final OpenStore store;

  private LeasesRoutes(OpenStore store) {
    this.store = store;
  }

  static List<Route> routes(OpenStore store) {
    LeasesRoutes l = new LeasesRoutes(store);
    return List.of(
        new Route("GET", "/collab/leases", "List held leases with their time left", false, List.of(), null,
            Map.of(200, "{data: [lease], now}"), l::list),
        new Route("POST", "/collab/leases/acquire", "Acquire a lease on a resource", true, List.of(),
            "{\"resource\": \"src/Main.java\", \"holder\": \"agent-1\", \"ttl_seconds\": 60}",
            Map.of(200, "{lock_id, fence, expires_at, lease}", 409, "held by another (names the holder)"),
            l::acquire),
        new Route("POST", "/collab/leases/{lock_id}/renew", "Renew a lease (optionally with a new ttl)", true,
            List.of(), "{\"resource\": \"src/Main.java\", \"ttl_seconds\": 60}",
            Map.of(200, "the renewed lease", 404, "no lease with this lock_id", 409, "lease lost (names the holder)"),
            l::renew),
        new Route("POST", "/collab/leases/{lock_id}/release", "Release a lease", true, List.of(),
            "{\"resource\": \"src/Main.java\"}",
            Map.of(200, "{released: true}", 404, "no lease with this lock_id", 409, "lease lost"), l::release),
        new Route("POST", "/collab/leases/reclaim", "Reclaim stale leases and task claims", true, List.of(), null,
            Map.of(200, "{leases: [lease], tasks: [task]}"), l::reclaim));
  }

  private void list(Exchange x) {
    ObjectNode out = Json.object();
    ArrayNode data = out.putArray("data");
    for (LeaseStatus s : store.collab().leases().list()) {
      data.add(Json.leaseStatus(s));
    }
    out.put("now", store.collab().now().toString());
    x.json(200, out);
  }

  private void acquire(Exchange x) {
    Body b = new Body(x.jsonBody()).only("resource", "holder", "ttl_seconds");
    String resource = b.string("resource");
    String holder = b.optActor("holder");
    if (holder == null) {
      holder = x.key() != null ? x.key().name() : store.collab().holder();
    }
    Duration ttl = b.seconds("ttl_seconds", null);
    Optional<Lease> got = store.as(holder).leases().tryAcquire(resource, ttl);
    if (got.isEmpty()) {
      Optional<Lease> held = store.collab().leases().get(resource);
      ApiException e = ApiException.conflict("resource '" + resource + "' is held by "
          + held.map(Lease::holder).orElse("another holder") + held.map(h -> " until " + h.expiresAt()).orElse(""));
      held.ifPresent(h -> e.with("current_holder", Json.NODES.textNode(h.holder()))
          .with("expires_at", Json.NODES.textNode(h.expiresAt().toString())));
      throw e;
    }
    Lease l = got.get();
    ObjectNode out = Json.object().put("lock_id", l.leaseId()).put("fence", l.fence())
        .put("expires_at", l.expiresAt().toString());
    out.set("lease", Json.lease(l));
    x.json(200, out);
  }

  private void renew(Exchange x) {
    Body b = new Body(x.optionalJsonBody()).only("resource", "fence", "ttl_seconds");
    Lease lease = find(x.param("lock_id"), b);
    Duration ttl = b.has("ttl_seconds") ? b.seconds("ttl_seconds", null) : null;
    Lease renewed = lost(lease, () -> ttl == null ? store.as(lease.holder()).leases().renew(lease)
        : store.as(lease.holder()).leases().renew(lease, ttl));
    x.json(200, Json.lease(renewed));
  }

  private void release(Exchange x) {
    Body b = new Body(x.optionalJsonBody()).only("resource", "fence");
    Lease lease = find(x.param("lock_id"), b);
    boolean released = lost(lease, () -> store.as(lease.holder()).leases().release(lease));
    if (!released) {
      throw conflict(lease, "it was released or reclaimed meanwhile");
    }
    x.json(200, Json.object().put("released", true).put("lock_id", lease.leaseId()));
  }

  private void reclaim(Exchange x) {
    String actor = x.key() == null ? null : x.key().name();
    List<Lease> leases = store.as(actor).leases().reclaimStale();
    List<Task> tasks = store.as(actor).tasks().reclaimStale();
    ObjectNode out = Json.object();
    ArrayNode l = out.putArray("leases");
    leases.forEach(lease -> l.add(Json.lease(lease)));
    ArrayNode t = out.putArray("tasks");
    tasks.forEach(task -> t.add(Json.task(task)));
    x.json(200, out);
  }

  /** The held lease with this id (checked against {@code fence} when given). */
  private Lease find(String lockId, Body b) {
    String resource = b.optString("resource");
    Lease found = null;
    if (resource != null) {
      found = store.collab().leases().get(resource).orElse(null);
      if (found == null || !found.leaseId().equals(lockId)) {
        throw conflictOn(resource, lockId, found);
      }
    } else {
      for (LeaseStatus s : store.collab().leases().list()) {
        if (s.lease().leaseId().equals(lockId)) {
          found = s.lease();
          break;
        }
      }
      if (found == null) {
        throw ApiException.notFound("no held lease has lock_id " + lockId + " (released, reclaimed or never taken)");
      }
    }
    if (b.has("fence") && b.longValue("fence") != found.fence()) {
      throw conflictOn(found.resource(), lockId + " with fence " + b.longValue("fence"), found);
    }
    return found;
  }

  private static ApiException conflictOn(String resource, String what, Lease current) {
    ApiException e = ApiException.conflict("lease " + what + " on '" + resource + "' is not current; "
        + (current == null ? "nobody holds it now" : "it is held by " + current.holder() + " with fence "
            + current.fence()));
    e.with("current_holder", current == null ? Json.NODES.nullNode() : Json.NODES.textNode(current.holder()));
    return e;
  }

  private ApiException conflict(Lease lease, String why) {
    Optional<Lease> now = store.collab().leases().get(lease.resource());
    return conflictOn(lease.resource(), lease.leaseId() + " (" + why + ")", now.orElse(null));
  }

  private <T> T lost(Lease lease, java.util.function.Supplier<T> op) {
    try {
      return op.get();
    } catch (LeaseLostException e) {
      throw conflict(lease, e.getMessage());
    }
  }
}
