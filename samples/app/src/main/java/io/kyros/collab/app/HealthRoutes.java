package io.kyros.collab.app;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.spi.Storage;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * {@code GET /healthz}: the process is up and answering. {@code GET /readyz}: the store answers a
 * round trip (the last event id, a read, and the storage's clock); 503 naming the failure otherwise.
 * Neither needs an API key, so probes can call them.
 *
 * <p>Stateless and thread-safe.
 */
final class HealthRoutes {
  private HealthRoutes() {}

  static List<Route> routes(OpenStore store) {
    return List.of(
        new Route("GET", "/healthz", "Liveness: the process is up", false, List.of(), null,
            Map.of(200, "{status: up}"), x -> x.json(200, Json.object().put("status", "up"))),
        new Route("GET", "/readyz", "Readiness: a storage round trip (a read and the clock)", false, List.of(), null,
            Map.of(200, "{status: ready, now, last_event_id}", 503, "the storage does not answer (problem+json)"),
            x -> ready(x, store.storage())));
  }

  private static void ready(Exchange x, Storage storage) {
    long last;
    Instant now;
    try {
      last = storage.lastEventId();
      now = storage.now();
    } catch (RuntimeException e) {
      throw new ApiException(503, "Service Unavailable", "the storage does not answer: " + e.getMessage())
          .header("Retry-After", "1");
    }
    ObjectNode o = Json.object().put("status", "ready").put("now", now.toString()).put("last_event_id", last);
    x.json(200, o);
  }
}
