package io.kyros.collab.app;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.Agent;
import io.kyros.collab.AgentSpec;
import io.kyros.collab.Collab;
import io.kyros.collab.Lease;
import io.kyros.collab.LeaseLostException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code agent} tool: the calling agent registers itself in core's agent registry
 * ({@link io.kyros.collab.Agents}) and heartbeats its presence, so an agent working through MCP is
 * listed with the others ({@code collab agents ls}, {@code GET /collab/agents}, the console):
 *
 * <pre>
 * register   Agents.register(id = the agent's name, role, skills)   (agent_registered when new or changed)
 *            then Agents.join: the presence lease agents/&lt;agent&gt;, ttl_seconds (default 300)
 *            (lease_acquired, agent_status_changed offline → available); a register while this session
 *            is present renews that lease instead
 * heartbeat  renews the presence lease (records nothing); if it expired, joins again with a new fence
 * </pre>
 *
 * The role and the skills may be left out once the agent is registered (its registered role, or
 * skills, are kept). A second live session under the same agent name is refused before anything is
 * written (the presence lease is held). When the session ends ({@link #leave()}) the presence lease
 * is given back, so the agent shows offline at once and a new session may register under its name.
 *
 * <p>Thread-safe: the presence lease is kept in an atomic reference.
 */
final class AgentPresence {
  private static final Logger LOG = LoggerFactory.getLogger(AgentPresence.class);
  private final Collab collab;
  private final String agent;
  private final AtomicReference<Lease> presence = new AtomicReference<>();

  /**
   * @param collab the agent's Collab (its holder is the agent)
   */
  AgentPresence(Collab collab) {
    this.collab = collab;
    this.agent = collab.holder();
  }

  /** The {@code agent} tool. */
  Object call(McpArgs args) {
    String action = args.choice("action", List.of("register", "heartbeat"));
    Duration ttl = args.has("ttl_seconds") ? args.seconds("ttl_seconds", null, TaskTools.MAX_TTL) : null;
    if (action.equals("register")) {
      return register(args.optString("role"), args.has("skills") ? args.stringSet("skills") : null,
          ttl == null ? TaskTools.DEFAULT_TTL : ttl);
    }
    return heartbeat(ttl);
  }

  /** @param skills the skills, or null to keep the registered ones (none for a new agent) */
  private ObjectNode register(String role, Set<String> skills, Duration ttl) {
    Optional<Agent> registered = collab.agents().get(agent);
    String registeredRole = role != null ? role : registered.map(Agent::role).orElseThrow(
        () -> new ToolError("agent " + agent + " is not registered yet, so a role is required. Nothing was written; "
            + "call agent {action: \"register\", role, skills}."));
    Set<String> registeredSkills = skills != null ? skills : registered.map(Agent::skills).orElse(Set.of());
    Lease mine = presence.get();
    Optional<Lease> held = collab.leases().get(resource());
    if (held.isPresent() && (mine == null || !held.get().leaseId().equals(mine.leaseId()))) {
      throw inUse(held);
    }
    collab.agents().register(new AgentSpec(agent, registeredRole, registeredSkills, Map.of()));
    Lease live = join(ttl);
    Agent now = collab.agents().get(agent).orElseThrow();
    ObjectNode out = Json.object().put("agent", agent).put("role", now.role());
    out.set("skills", Json.strings(now.skills()));
    out.put("status", now.status().wireName());
    out.put("fence", live.fence()).put("expires_at", Json.instant(live.expiresAt()));
    return out;
  }

  /** Takes the presence lease (the agent joins), or renews it with {@code ttl} if this session holds it already. */
  private Lease join(Duration ttl) {
    Lease mine = presence.get();
    if (mine != null) {
      try {
        Lease renewed = collab.leases().renew(mine, ttl);
        presence.set(renewed);
        return renewed;
      } catch (LeaseLostException e) {
        presence.compareAndSet(mine, null);
      }
    }
    Lease got;
    try {
      got = collab.agents().join(agent, ttl);
    } catch (IllegalStateException e) {
      throw inUse(collab.leases().get(resource()));
    }
    presence.set(got);
    return got;
  }

  private ObjectNode heartbeat(Duration ttl) {
    Lease mine = presence.get();
    if (mine == null) {
      throw new ToolError("agent " + agent + " is not registered in this session. Nothing was written; call agent "
          + "{action: \"register\", role, skills} first.");
    }
    ObjectNode out = Json.object().put("agent", agent);
    Lease live;
    try {
      live = ttl == null ? collab.leases().renew(mine) : collab.leases().renew(mine, ttl);
      presence.set(live);
    } catch (LeaseLostException e) {
      live = join(ttl == null ? mine.ttl() : ttl);
      out.put("note", "your presence had expired; you joined again with a new fence");
    }
    out.put("fence", live.fence()).put("expires_at", Json.instant(live.expiresAt()));
    return out;
  }

  /**
   * Gives back the presence lease if this session holds it ({@link io.kyros.collab.Agents#leave}: the agent goes
   * offline, recorded as {@code agent_status_changed}), when the session ends, before its store closes. A failure is
   * logged, not thrown: the lease then expires at its ttl.
   */
  void leave() {
    Lease mine = presence.getAndSet(null);
    if (mine == null) {
      return;
    }
    try {
      collab.agents().leave(agent, mine);
    } catch (RuntimeException e) {
      LOG.warn("cannot give back the presence of agent {} (it stays online until {}): {}", agent, mine.expiresAt(),
          e.toString());
    }
  }

  private ToolError inUse(Optional<Lease> other) {
    return new ToolError("agent name " + agent + " is in use by another live session"
        + other.map(l -> " (its presence lease has fence " + l.fence() + " until " + l.expiresAt() + ")").orElse("")
        + ". Nothing was written; start this server with another --agent NAME, or register after that expiry.");
  }

  private String resource() {
    return "agents/" + agent;
  }
}
