package io.kyros.collab.app;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.Workflow;
import java.util.List;
import java.util.Map;

/**
 * {@code GET /collab/workflow}: the task workflow this server's store runs, so a client (the
 * console's Kanban board) can draw a column per state and offer the allowed moves:
 *
 * <pre>
 * {"name": "kanban", "initial": "queued", "claimed": "claimed", "done": "done", "failed": "failed",
 *  "states": ["queued", "claimed", ...],                     (declaration order)
 *  "transitions": {"queued": ["claimed", "failed"], ...}}     (every state; terminal ones map to [])
 * </pre>
 *
 * <p>Stateless and thread-safe.
 */
final class WorkflowRoutes {
  private WorkflowRoutes() {}

  static List<Route> routes(OpenStore store) {
    return List.of(new Route("GET", "/collab/workflow", "The task workflow: states, roles and allowed transitions",
        false, List.of(), null, Map.of(200, "{name, initial, claimed, done, failed, states, transitions}"),
        x -> x.json(200, describe(store.collab().tasks().workflow()))));
  }

  static ObjectNode describe(Workflow w) {
    ObjectNode out = Json.object().put("name", w.name()).put("initial", w.initial()).put("claimed", w.claimed())
        .put("done", w.done()).put("failed", w.failed());
    out.set("states", Json.strings(w.states()));
    ObjectNode transitions = out.putObject("transitions");
    for (String state : w.states()) {
      transitions.set(state, Json.strings(w.allowedFrom(state)));
    }
    return out;
  }
}
