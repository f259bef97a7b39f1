package io.kyros.collab.app;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The route table of the HTTP API: every route the server answers, gathered from the classes that
 * hold each group ({@link HealthRoutes}, {@link StateRoutes}, {@link DocsRoutes},
 * {@link TasksRoutes}, {@link LeasesRoutes}, {@link EventsRoutes}, {@link WorkflowRoutes}), plus
 * {@code GET /openapi.json}, which describes exactly this table ({@link OpenApi}). To add a route,
 * add it to its group's {@code routes} method; to add a group, add it here.
 *
 * <p>Stateless and thread-safe.
 */
final class ApiRoutes {
  private ApiRoutes() {}

  static List<Route> all(OpenStore store, ServerConfig config, EventHub hub) {
    List<Route> routes = new ArrayList<>();
    routes.addAll(HealthRoutes.routes(store, hub));
    routes.addAll(StateRoutes.routes(store));
    routes.addAll(DocsRoutes.routes(store));
    routes.addAll(TasksRoutes.routes(store));
    routes.addAll(LeasesRoutes.routes(store));
    routes.addAll(EventsRoutes.routes(store, hub));
    routes.addAll(WorkflowRoutes.routes(store));
    routes.addAll(AgentsRoutes.routes(store));
    routes.addAll(BatchesRoutes.routes(store, hub));
    List<Route> table = new ArrayList<>(routes);
    table.add(new Route("GET", "/openapi.json", "This API's OpenAPI 3.1 description", false, List.of(), null,
        Map.of(200, "the OpenAPI document"), x -> x.json(200, OpenApi.document(table))));
    return List.copyOf(table);
  }
}
