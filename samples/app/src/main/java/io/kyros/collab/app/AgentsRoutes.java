package io.kyros.collab.app;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.Agent;
import io.kyros.collab.AgentSpec;
import io.kyros.collab.Collab;
import io.kyros.collab.Lease;
import io.kyros.collab.PreconditionFailedException;
import io.kyros.collab.Preconditions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The agent registry's routes (core's {@link io.kyros.collab.Agents}):
 *
 * <pre>
 * GET  /collab/agents                      {data: [agent]}
 * GET  /collab/agents/{id}                 the agent + ETag; 304; 404
 * POST /collab/agents                      {id, role, skills?, metadata?} → 201 the agent (200 if it was registered)
 * POST /collab/agents/{id}/heartbeat       {ttl_seconds? (60)} → {agent, lock_id, fence, expires_at}: takes the
 *                                          agent's presence lease agents/{id} (it comes online) or renews it;
 *                                          409 while another holder has it
 * POST /collab/agents/{id}/availability    {available} → the agent (enabled or disabled); If-Match, when sent,
 *                                          must hold: 412 with the current agent otherwise
 * </pre>
 *
 * An agent is {@code {id, role, skills, status, available, last_seen, current_tasks, metadata, etag}};
 * {@code status} is {@code available}, {@code busy}, {@code offline} or {@code disabled}, judged when
 * read. The presence lease's holder is the agent's id, so the events name the agent, and concurrent heartbeats of
 * one agent (a client retrying) all answer 200: one comes online, the others renew what it took.
 *
 * <p>Thread-safe. Registrations of one id run one at a time within this server, so that of concurrent first
 * registrations exactly one answers 201 (servers sharing a store may each answer 201 once).
 */
final class AgentsRoutes {
  private static final Duration DEFAULT_PRESENCE_TTL = Duration.ofSeconds(60);
  private final OpenStore store;
  /** Stripes ordering registrations of one id within this server (see {@link #register}). */
  private final Object[] registering = new Object[64];

  private AgentsRoutes(OpenStore store) {
    java.util.Arrays.setAll(registering, i -> new Object());
    this.store = store;
  }

  static List<Route> routes(OpenStore store) {
    AgentsRoutes a = new AgentsRoutes(store);
    return List.of(
        new Route("GET", "/collab/agents", "List the registered agents", false, List.of(), null,
            Map.of(200, "{data: [agent]}"), a::list),
        new Route("GET", "/collab/agents/{id}", "Read an agent", false, List.of(), null,
            Map.of(200, "the agent, with ETag", 304, "If-None-Match matched", 404, "not registered"), a::get),
        new Route("POST", "/collab/agents", "Register an agent (or update its role, skills, metadata)", true,
            List.of(), "{\"id\": \"agent-1\", \"role\": \"builder\", \"skills\": [\"java\"], \"metadata\": {}}",
            Map.of(201, "registered", 200, "already registered (updated)"), a::register),
        new Route("POST", "/collab/agents/{id}/heartbeat", "Bring an agent online or keep it online", true,
            List.of(), "{\"ttl_seconds\": 60}",
            Map.of(200, "{agent, lock_id, fence, expires_at}", 404, "not registered",
                409, "another holder has its presence lease"), a::heartbeat),
        new Route("POST", "/collab/agents/{id}/availability", "Enable or disable an agent", true, List.of(),
            "{\"available\": false}", Map.of(200, "the agent", 400, "invalid body or malformed If-Match",
                404, "not registered", 412, "stale If-Match (current agent in body)"), a::availability));
  }

  private void list(Exchange x) {
    ObjectNode out = Json.object();
    ArrayNode data = out.putArray("data");
    store.collab().agents().list().forEach(ag -> data.add(Json.agent(ag)));
    x.json(200, out);
  }

  private Agent existing(String id) {
    return store.collab().agents().get(id).orElseThrow(() -> ApiException.notFound("no agent " + id));
  }

  private void get(Exchange x) {
    Agent ag = existing(x.param("id"));
    if (Conditions.notModified(x, ag.etag())) {
      x.notModified(ag.etag());
      return;
    }
    x.json(200, Json.agent(ag), ag.etag());
  }

  private void register(Exchange x) {
    Body b = new Body(x.jsonBody()).only("id", "role", "skills", "metadata");
    String id = b.string("id");
    Set<String> skills = Optional.ofNullable(b.stringSet("skills")).orElse(Set.of());
    ObjectNode metadata = b.object("metadata");
    @SuppressWarnings("unchecked")
    Map<String, Object> meta = metadata == null ? Map.of() : Json.MAPPER.convertValue(metadata, Map.class);
    AgentSpec spec = new AgentSpec(id, b.string("role"), skills, meta);
    boolean known;
    Agent ag;
    // one registration of an id at a time in this server, so that of concurrent first registrations one answers 201
    synchronized (registering[Math.floorMod(id.hashCode(), registering.length)]) {
      known = store.collab().agents().get(id).isPresent();
      ag = store.as(id).agents().register(spec);
    }
    x.json(known ? 200 : 201, Json.agent(ag), ag.etag());
  }

  private void heartbeat(Exchange x) {
    String id = x.param("id");
    Body b = new Body(x.optionalJsonBody()).only("ttl_seconds");
    Duration ttl = b.seconds("ttl_seconds", DEFAULT_PRESENCE_TTL);
    existing(id);
    Collab agent = store.as(id);
    Optional<Lease> held = ownPresence(agent, id);
    Lease presence;
    if (held.isPresent()) {
      presence = agent.leases().renew(held.get(), ttl);
    } else {
      try {
        presence = agent.agents().join(id, ttl);
      } catch (IllegalStateException online) {
        // a heartbeat of the same agent sent at the same time joined first: renew that presence, it is this agent's
        presence = ownPresence(agent, id).map(l -> agent.leases().renew(l, ttl)).orElseThrow(() -> online);
      }
    }
    ObjectNode out = Json.object();
    out.set("agent", Json.agent(existing(id)));
    out.put("lock_id", presence.leaseId()).put("fence", presence.fence())
        .put("expires_at", presence.expiresAt().toString());
    x.json(200, out);
  }

  /** @return the agent's presence lease if it holds it (as its own holder) and it is current */
  private static Optional<Lease> ownPresence(Collab agent, String id) {
    return agent.leases().get("agents/" + id)
        .filter(l -> l.holder().equals(agent.holder()) && agent.leases().isCurrent(l));
  }

  /**
   * Enables or disables an agent. An If-Match is handed to core's {@code setEnabled}, which checks it in the commit
   * that makes the change.
   */
  private void availability(Exchange x) {
    String id = x.param("id");
    Preconditions ifMatch = Conditions.optionalIfMatch(x);
    Body b = new Body(x.jsonBody()).only("available");
    if (!b.has("available") || !b.node().get("available").isBoolean()) {
      throw ApiException.badRequest("'available' (a boolean) is required");
    }
    Agent ag;
    try {
      // the If-Match is checked in the commit that changes the agent (core's preconditions), not by a read before it
      ag = actor(x).agents().setEnabled(id, b.node().get("available").asBoolean(), ifMatch);
    } catch (PreconditionFailedException e) {
      Agent now = existing(id);
      throw Conditions.ifMatchFailed("agent " + id, ifMatch, now.etag(), Json.agent(now));
    }
    x.json(200, Json.agent(ag), ag.etag());
  }

  private Collab actor(Exchange x) {
    return store.as(x.key() == null ? null : x.key().name());
  }
}
