package io.kyros.collab.app;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.spi.Storage;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * {@code GET /healthz}: the process is up and answering. {@code GET /readyz}: the store answers a
 * round trip (the last event id, a read, and the storage's clock) and the {@link EventHub} has a
 * working subscription to the log (SSE streams and long polls get events); 503 naming the failure
 * otherwise.
 * Neither needs an API key, so probes can call them.
 *
 * <p>Stateless and thread-safe.
 */
final class HealthRoutes {
  private HealthRoutes() {}

  static List<Route> routes(OpenStore store, EventHub hub) {
    return List.of(
        new Route("GET", "/healthz", "Liveness: the process is up", false, List.of(), null,
            Map.of(200, "{status: up}"), x -> x.json(200, Json.object().put("status", "up"))),
        new Route("GET", "/readyz", "Readiness: a storage round trip (a read and the clock) and a working event "
            + "subscription", false, List.of(), null,
            Map.of(200, "{status: ready, now, last_event_id}", 503,
                "the storage does not answer, or the event subscription failed (problem+json)"),
            x -> ready(x, store.storage(), hub)));
  }

  private static void ready(Exchange x, Storage storage, EventHub hub) {
    long last;
    Instant now;
    try {
      last = storage.lastEventId();
      now = storage.now();
    } catch (RuntimeException e) {
      throw new ApiException(503, "Service Unavailable", "the storage does not answer: " + e.getMessage())
          .header("Retry-After", "1");
    }
    Throwable failure = hub.failure();
    if (failure != null) {
      throw new ApiException(503, "Service Unavailable", "event subscription failed: "
          + (failure.getMessage() != null ? failure.getMessage() : failure.getClass().getName())
          + " (SSE streams and long polls get no events; the server subscribes again with backoff)")
          .header("Retry-After", "1");
    }
    ObjectNode o = Json.object().put("status", "ready").put("now", now.toString()).put("last_event_id", last);
    x.json(200, o);
  }
}
