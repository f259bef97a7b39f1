package io.kyros.collab;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.IndexQuery;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.StoredRecord;
import io.kyros.collab.spi.Write;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeSet;

/**
 * The registry of agents: who they are (role, skills, metadata), whether they are present, enabled and busy.
 *
 * <ul>
 *   <li>{@link #register} records an agent ({@code agent_registered} the first time and whenever its role, skills or
 *       metadata change; nothing when they are the same).</li>
 *   <li>Presence is a heartbeat lease on the resource {@code agents/<id>}: {@link #join} takes it (a
 *       {@link WorkerPool} keeps it alive), {@link #leave} gives it up. An agent whose lease is absent or stale by the
 *       storage's clock is {@code offline}; going stale records nothing (nothing commits when a heartbeat stops), so
 *       the status is judged when read.</li>
 *   <li>{@link #setEnabled} switches an agent on or off ({@code agent_status_changed}); a disabled agent's worker
 *       pools stop claiming until it is enabled again.</li>
 *   <li>{@code busy} or {@code available} is judged from the task claims the agent holds when read; claims record
 *       their own events, so this records none.</li>
 * </ul>
 *
 * <p>Thread-safe.
 */
public final class Agents {
  private static final String RESOURCE_PREFIX = "agents/";

  private final Core core;
  private final Leases leases;
  private final LeaseCommits leaseCommits;

  Agents(Core core, Leases leases, LeaseCommits leaseCommits) {
    this.core = core;
    this.leases = leases;
    this.leaseCommits = leaseCommits;
  }

  /**
   * Registers an agent, or updates its role, skills and metadata (keeping whether it is enabled).
   *
   * @param spec the agent
   * @return the agent as registered
   * @throws NullPointerException if spec is null
   * @throws StorageException if the storage fails
   */
  public Agent register(AgentSpec spec) {
    Objects.requireNonNull(spec, "spec");
    Retry backoff = core.retry("agent " + spec.id());
    for (;; backoff.pause()) {
      Optional<StoredRecord> current = core.storage().read(AgentRecord.key(spec.id()));
      ObjectNode json = current.map(r -> core.parse(r).deepCopy()).orElseGet(() -> core.object()
          .put(AgentRecord.ENABLED, true).put(AgentRecord.REGISTERED_AT, core.storage().now().toString())
          .putNull(AgentRecord.LAST_SEEN));
      AgentRecord.describe(json, spec, core.mapper());
      if (current.isPresent() && core.parse(current.get()).equals(json)) {
        return toAgent(current.get(), tasksHeld().getOrDefault(spec.id(), List.of()));
      }
      ObjectNode details = core.object().put("id", spec.id()).put("role", spec.role());
      new TreeSet<>(spec.skills()).forEach(details.putArray("skills")::add);
      details.put("status", AgentRecord.enabled(json) ? AgentStatus.OFFLINE.wireName()
          : AgentStatus.DISABLED.wireName());
      Optional<StoredRecord> written = write(current, json, core.event(EventType.AGENT_REGISTERED, target(spec.id()),
          details));
      if (written.isPresent()) {
        return toAgent(written.get(), tasksHeld().getOrDefault(spec.id(), List.of()));
      }
    }
  }

  /**
   * Brings a registered agent online: takes its presence lease {@code agents/<id>} and records
   * {@code agent_status_changed} from {@code offline}. Keep the lease alive ({@link Leases#keepAlive(Lease)}) for as
   * long as the agent is present.
   *
   * @param id the agent's id
   * @param ttl the presence lease's ttl: the agent shows offline this long after its last heartbeat
   * @return the presence lease
   * @throws NotFoundException if the agent is not registered
   * @throws IllegalStateException if another process holds the agent's presence lease (the same agent is online)
   */
  public Lease join(String id, Duration ttl) {
    Names.requireName("agent id", id);
    Names.requireBounded("ttl", ttl);
    require(id);
    Lease lease = leases.tryAcquire(resource(id), ttl).orElseThrow(() -> new IllegalStateException("agent " + id
        + " is already online: another holder has its presence lease " + resource(id)));
    String now = lease.heartbeatAt().toString();
    changeRecord(id, json -> json.put(AgentRecord.LAST_SEEN, now),
        current -> new StatusChange(AgentStatus.OFFLINE, enabledStatus(current)), "joined");
    return lease;
  }

  /**
   * Takes an agent offline on purpose: releases its presence lease and records {@code agent_status_changed} to
   * {@code offline}.
   *
   * <p>If the presence was lost meanwhile and another holder has taken the agent online since, nothing is released
   * and nothing is recorded: the agent is not offline. Nor is anything recorded when the presence lease is free
   * already (this lease was released before, or another holder's came and went): the agent left before.
   *
   * @param id the agent's id
   * @param presence the presence lease {@link #join} returned (or its renewal)
   * @throws NotFoundException if the agent is not registered
   * @throws IllegalArgumentException if {@code presence} is not a presence lease of this agent
   */
  public void leave(String id, Lease presence) {
    Names.requireName("agent id", id);
    Objects.requireNonNull(presence, "presence");
    if (!presence.resource().equals(resource(id))) {
      throw new IllegalArgumentException("presence must be agent " + id + "'s presence lease " + resource(id)
          + ", not a lease of " + presence.resource());
    }
    require(id);
    if (!leases.release(presence)) {
      Optional<Lease> held = presence(id);
      if (held.isEmpty()) {
        return; // released already: the agent left before (a second leave, a pool shut down twice)
      }
      if (!held.get().isStaleAt(core.storage().now())) {
        return; // lost, and another holder has the agent online now
      }
    }
    String now = core.storage().now().toString();
    changeRecord(id, json -> json.put(AgentRecord.LAST_SEEN, now),
        current -> new StatusChange(enabledStatus(current), AgentStatus.OFFLINE), "left");
  }

  /**
   * Enables or disables an agent, recording {@code agent_status_changed} (nothing if it is already so). A disabled
   * agent's worker pools finish what they hold and claim nothing more until it is enabled again.
   *
   * @param id the agent's id
   * @param enabled whether it may take work
   * @return the agent after the change
   * @throws NotFoundException if no agent has this id
   * @throws IllegalArgumentException if the id is not a name
   */
  public Agent setEnabled(String id, boolean enabled) {
    return setEnabled(id, enabled, Preconditions.none());
  }

  /**
   * Enables or disables an agent as {@link #setEnabled(String, boolean)} does, only if the preconditions hold for the
   * agent's record as the commit finds it (If-Match against the agent's ETag, checked in the same commit; also when
   * the agent is already so).
   *
   * @param id the agent's id
   * @param enabled whether it may take work
   * @param preconditions what must hold of the agent's ETag
   * @return the agent after the change
   * @throws NotFoundException if no agent has this id
   * @throws PreconditionFailedException if the preconditions do not hold, with the agent's record as it is
   * @throws IllegalArgumentException if the id is not a name
   */
  public Agent setEnabled(String id, boolean enabled, Preconditions preconditions) {
    Names.requireName("agent id", id);
    Objects.requireNonNull(preconditions, "preconditions");
    changeRecord(id, preconditions, json -> json.put(AgentRecord.ENABLED, enabled), current -> {
      if (AgentRecord.enabled(current) == enabled) {
        return null; // already so: nothing to record
      }
      AgentStatus online = online(id) ? AgentStatus.AVAILABLE : AgentStatus.OFFLINE;
      return enabled ? new StatusChange(AgentStatus.DISABLED, online) : new StatusChange(online, AgentStatus.DISABLED);
    }, enabled ? "enabled" : "disabled");
    return get(id).orElseThrow(() -> unknown(id));
  }

  /**
   * @param id the agent's id
   * @return the agent with its status judged now, or empty if not registered
   */
  public Optional<Agent> get(String id) {
    Names.requireName("agent id", id);
    return core.storage().read(AgentRecord.key(id)).map(r -> toAgent(r, tasksHeld().getOrDefault(id, List.of())));
  }

  /**
   * Whether an agent may take work, from its record alone (a worker pool asks on every status change of its agent).
   *
   * @param id the agent's id
   * @return false if it is registered and disabled
   */
  boolean enabled(String id) {
    return core.storage().read(AgentRecord.key(id)).map(r -> AgentRecord.enabled(core.parse(r))).orElse(true);
  }

  /** @return every registered agent, by id, with its status judged now */
  public List<Agent> list() {
    Map<String, List<String>> held = tasksHeld();
    List<Agent> out = new ArrayList<>();
    for (StoredRecord r : core.scan(AgentRecord.COLLECTION)) {
      out.add(toAgent(r, held.getOrDefault(r.key().id(), List.of())));
    }
    return out;
  }

  /** The event target of an agent. */
  static String target(String id) {
    return RESOURCE_PREFIX + id;
  }

  /** An agent id made of a holder identity: characters a name cannot hold become {@code -}. */
  static String agentIdOf(String holder) {
    String s = holder.replaceAll("[^A-Za-z0-9._-]", "-").replaceAll("^[^A-Za-z0-9]+", "");
    s = s.isEmpty() ? "agent" : s;
    return s.length() > 128 ? s.substring(s.length() - 128).replaceAll("^[^A-Za-z0-9]+", "a") : s;
  }

  private static String resource(String id) {
    return RESOURCE_PREFIX + id;
  }

  private StoredRecord require(String id) {
    return core.storage().read(AgentRecord.key(id)).orElseThrow(() -> unknown(id));
  }

  private static NotFoundException unknown(String id) {
    return new NotFoundException("agent " + id + " (not registered)");
  }

  /** @return whether the agent's presence lease is held and not stale now */
  private boolean online(String id) {
    Instant now = core.storage().now();
    return presence(id).filter(l -> !l.isStaleAt(now)).isPresent();
  }

  /** The presence lease, stale or not. */
  private Optional<Lease> presence(String id) {
    return core.storage().read(RecordKeys.lease(resource(id))).map(leaseCommits::held);
  }

  /** A status change an {@code agent_status_changed} event records. */
  private record StatusChange(AgentStatus from, AgentStatus to) {}

  /** @return the status a present agent has with this record: available, or disabled */
  private static AgentStatus enabledStatus(ObjectNode agent) {
    return AgentRecord.enabled(agent) ? AgentStatus.AVAILABLE : AgentStatus.DISABLED;
  }

  /**
   * Changes the agent's record and records the status change, both judged from the record the commit expects (read
   * again on every attempt), so a concurrent change (such as a disable between a join's first read and its commit)
   * is never recorded over; {@code status} returning null means there is nothing to change.
   */
  private void changeRecord(String id, java.util.function.UnaryOperator<ObjectNode> change,
      java.util.function.Function<ObjectNode, StatusChange> status, String reason) {
    changeRecord(id, Preconditions.none(), change, status, reason);
  }

  /** Changes an agent's record if the preconditions hold for it (its commit expects the revision checked). */
  private void changeRecord(String id, Preconditions preconditions, java.util.function.UnaryOperator<ObjectNode> change,
      java.util.function.Function<ObjectNode, StatusChange> status, String reason) {
    Retry backoff = core.retry("agent " + id);
    for (;; backoff.pause()) {
      StoredRecord current = require(id);
      ObjectNode before = core.parse(current);
      if (preconditions.evaluate(Core.etag(current), false) != Preconditions.Outcome.PROCEED) {
        throw core.preconditionFailed(current, preconditions.toString());
      }
      StatusChange st = status.apply(before);
      if (st == null) {
        return;
      }
      ObjectNode json = change.apply(before.deepCopy());
      if (write(Optional.of(current), json, core.event(EventType.AGENT_STATUS_CHANGED, target(id), core.object()
          .put("id", id).put("oldStatus", st.from().wireName()).put("newStatus", st.to().wireName())
          .put("reason", reason))).isPresent()) {
        return;
      }
    }
  }

  private Optional<StoredRecord> write(Optional<StoredRecord> current, ObjectNode json, NewEvent event) {
    String id = json.path(AgentRecord.ID).asText();
    Core.Encoded encoded = core.encode(json, "agent " + id);
    Expectation expect = current.map(r -> Expectation.revision(r.key(), r.revision()))
        .orElseGet(() -> Expectation.absent(AgentRecord.key(id)));
    CommitResult result = core.commit(Commit.of(List.of(expect),
        List.of(Write.put(AgentRecord.key(id), encoded.json(), encoded.hash())), List.of(event)));
    if (result instanceof CommitResult.Committed c) {
      return Optional.of(new StoredRecord(AgentRecord.key(id), encoded.json(), c.revisions().get(0), encoded.hash()));
    }
    return Optional.empty();
  }

  private Agent toAgent(StoredRecord r, List<String> tasks) {
    ObjectNode json = core.parse(r);
    String id = r.key().id();
    Instant now = core.storage().now();
    Optional<Lease> lease = presence(id);
    boolean online = lease.isPresent() && !lease.get().isStaleAt(now);
    Instant lastSeen = AgentRecord.lastSeen(json);
    if (lease.isPresent() && (lastSeen == null || lease.get().heartbeatAt().isAfter(lastSeen))) {
      lastSeen = lease.get().heartbeatAt();
    }
    AgentStatus status = !AgentRecord.enabled(json) ? AgentStatus.DISABLED : !online ? AgentStatus.OFFLINE
        : tasks.isEmpty() ? AgentStatus.AVAILABLE : AgentStatus.BUSY;
    return new Agent(id, json.path(AgentRecord.ROLE).asText(), AgentRecord.skills(json), status, lastSeen, tasks,
        json.path(AgentRecord.METADATA).isObject() ? (ObjectNode) json.path(AgentRecord.METADATA) : core.object(),
        Core.etag(r));
  }

  /** Ids of the tasks each worker holds a claim on, by worker. */
  private Map<String, List<String>> tasksHeld() {
    Map<String, List<String>> out = new HashMap<>();
    Workflow workflow = core.workflow();
    java.util.function.Consumer<StoredRecord> count = r -> {
      ObjectNode t = core.parse(r);
      String assignee = t.path(TaskRecord.ASSIGNEE).asText(null);
      if (assignee != null && workflow.holdsClaim(TaskRecord.status(t))) {
        out.computeIfAbsent(assignee, k -> new ArrayList<>()).add(r.key().id());
      }
    };
    if (core.indexed()) {
      // only the tasks in a status that holds a claim, through the board's status index: the cost follows the claims
      // held, not every task ever created
      for (String state : new java.util.TreeSet<>(workflow.states())) {
        if (!workflow.holdsClaim(state)) {
          continue;
        }
        core.scanAll(IndexQuery.first(RecordKeys.TASKS, TaskIndexes.status(state), Core.PAGE))
            .forEach(h -> count.accept(h.record()));
      }
    } else {
      core.scan(RecordKeys.TASKS).forEach(count);
    }
    out.values().forEach(l -> l.sort(null));
    return out;
  }
}
