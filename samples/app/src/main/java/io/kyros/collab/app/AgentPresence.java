package io.kyros.collab.app;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.Collab;
import io.kyros.collab.Lease;
import io.kyros.collab.LeaseLostException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The {@code agent} tool: the calling agent registers itself and heartbeats its presence.
 *
 * <p>Core has no agent registry yet (it comes with the workers issue), so this keeps an agent the
 * way that registry will, with what exists:
 *
 * <pre>
 * document  agents/&lt;agent&gt;           {"role": "...", "skills": ["..."]}   (document_created / _replaced)
 * lease     agents/&lt;agent&gt;           the presence, ttl_seconds (default 300): live while heartbeaten
 *                                      (lease_acquired; a heartbeat records nothing)
 * </pre>
 *
 * A second live session under the same agent name is refused (the presence lease is held). When the
 * registry lands, {@code register} becomes its register + join and {@code heartbeat} a renewal of the
 * presence lease it returns; the tool's arguments stay the same.
 *
 * <p>Thread-safe: the presence lease is kept in an atomic reference.
 */
final class AgentPresence {
  static final String COLLECTION = "agents";

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
      return register(args.optString("role"), args.strings("skills"), ttl == null ? TaskTools.DEFAULT_TTL : ttl);
    }
    return heartbeat(ttl);
  }

  private ObjectNode register(String role, List<String> skills, Duration ttl) {
    Lease live = join(ttl);
    collab.documents().update(COLLECTION, agent, current -> {
      ObjectNode next = Json.object();
      next.put("role", role == null ? current.path("role").asText("") : role);
      next.set("skills", Json.strings(skills));
      return next;
    });
    ObjectNode out = Json.object().put("agent", agent).put("role", role == null ? "" : role);
    out.set("skills", Json.strings(skills));
    out.put("fence", live.fence()).put("expires_at", Json.instant(live.expiresAt()));
    return out;
  }

  /** Takes the presence lease, or renews it with {@code ttl} if this session holds it already. */
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
    Optional<Lease> got = collab.leases().tryAcquire(resource(), ttl);
    if (got.isEmpty()) {
      Optional<Lease> other = collab.leases().get(resource());
      throw new ToolError("agent name " + agent + " is in use by another live session"
          + other.map(l -> " (its presence lease has fence " + l.fence() + " until " + l.expiresAt() + ")").orElse("")
          + ". Nothing was written; start this server with another --agent NAME, or register after that expiry.");
    }
    presence.set(got.get());
    return got.get();
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
    } catch (LeaseLostException e) {
      live = join(ttl == null ? mine.ttl() : ttl);
      out.put("note", "your presence had expired; it was taken again with a new fence");
    }
    presence.set(live);
    out.put("fence", live.fence()).put("expires_at", Json.instant(live.expiresAt()));
    return out;
  }

  private String resource() {
    return COLLECTION + "/" + agent;
  }
}
