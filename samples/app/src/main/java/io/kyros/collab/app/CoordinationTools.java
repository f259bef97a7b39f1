package io.kyros.collab.app;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.Collab;
import io.kyros.collab.Event;
import io.kyros.collab.EventFilter;
import io.kyros.collab.Lease;
import io.kyros.collab.LeaseLostException;
import io.kyros.collab.LeaseStatus;
import io.kyros.collab.MarkdownLogRenderer;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;

/**
 * The coordination tools of {@code collab mcp} besides tasks, acting as one agent:
 *
 * <pre>
 * lease   {action: acquire|renew|release|inspect, resource?, ttl_seconds?, fence?, wait_seconds?}
 *         acquire → {resource, fence, ttl_seconds, expires_at}; held by another → tool error naming the holder
 * events  {after?, types?, target?, wait_seconds?, limit?} → {events: [{id, ts, event, actor, target, details}], next_after}
 * log     {after?, limit?} → the human log (Markdown)
 * agent   {action: register|heartbeat, role?, skills?, ttl_seconds?} (see {@link AgentPresence})
 * </pre>
 *
 * {@code events} with {@code wait_seconds} is a long poll: it returns as soon as a matching event is
 * appended (by any process on the store), or empty when the wait is over, so agents do not poll in
 * loops. An {@code after} past the log's last id is refused on a store where that id covers every id
 * a client can have seen (a directory, as the HTTP API's 409): no such event was committed, and its
 * {@code next_after} would skip the events that do get those ids.
 *
 * <p>Once the session ends ({@link #stopWaiting()}: stdin closed, or the server closing) no call waits any more:
 * an {@code events} long poll running then returns at once, empty, as if its wait were over (the read it started
 * goes on on a daemon thread until its own timeout, its result unused; it writes nothing), and a {@code lease}
 * acquire that waits gives up within about {@link #WAIT_SLICE}, before another attempt, with a tool error (it waits
 * in slices, each one attempt, and gives back at once a lease the slice under way took after the end, whose answer
 * might no longer reach the client, so the agent never keeps a lease it was not told of). So the process answers
 * them and exits well within the grace it gives the calls running.
 *
 * <p>Thread-safe (state lives in the store and in {@link AgentPresence}).
 */
final class CoordinationTools {
  static final Duration MAX_WAIT = Duration.ofSeconds(60);
  /**
   * The longest a waiting lease acquire goes without looking whether the session has ended: the interval at which
   * {@code Leases.acquire} re-checks a lease anyway, so the slices cost about the queries of one long wait.
   */
  static final Duration WAIT_SLICE = Duration.ofSeconds(1);
  private static final String STRINGS = "{\"type\":\"array\",\"items\":{\"type\":\"string\"}}";
  /** The prefix of agents' presence leases ({@code Agents.join}), which only the agent tool takes. */
  private static final String PRESENCE_PREFIX = "agents/";

  private final Collab collab;
  private final String agent;
  private final AgentPresence presence;
  private final boolean lastIdCoversEverySeenId;
  /** Completed when the session ends ({@link #stopWaiting()}). */
  private final CompletableFuture<Void> ending = new CompletableFuture<>();
  /** Runs the long polls' reads, so that the calls can return when the session ends; daemon threads. */
  private final ExecutorService polls = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "collab-mcp-events-wait");
    t.setDaemon(true);
    return t;
  });

  /**
   * @param collab the agent's Collab (its holder is the agent)
   * @param lastIdCoversEverySeenId {@link OpenStore#lastIdCoversEverySeenId()} of its store
   */
  CoordinationTools(Collab collab, boolean lastIdCoversEverySeenId) {
    this.collab = collab;
    this.agent = collab.holder();
    this.presence = new AgentPresence(collab);
    this.lastIdCoversEverySeenId = lastIdCoversEverySeenId;
  }

  /**
   * Ends the waits: the long polls running return now and later ones do not wait (see the class comment).
   * Idempotent.
   */
  void stopWaiting() {
    ending.complete(null);
  }

  /** Ends the waits, then gives back the agent's presence lease if this session holds it ({@link AgentPresence#leave()}). */
  void close() {
    stopWaiting();
    polls.shutdown();
    presence.leave();
  }

  List<McpTool> tools() {
    return List.of(
        new McpTool("lease", "Reserve a resource (file, path, anything) for a ttl: acquire, renew, release or inspect.",
            "{\"type\":\"object\",\"properties\":{\"action\":{\"enum\":[\"acquire\",\"renew\",\"release\",\"inspect\"]},"
                + "\"resource\":{\"type\":\"string\"},\"ttl_seconds\":{\"type\":\"number\",\"description\":\"default 300\"},"
                + "\"fence\":{\"type\":\"integer\",\"description\":\"from acquire; for renew, release\"},"
                + "\"wait_seconds\":{\"type\":\"number\",\"description\":\"acquire: wait up to this for it\"}},"
                + "\"required\":[\"action\"]}",
            this::lease),
        new McpTool("events", "Events after an id; wait_seconds long-polls for new ones instead of looping.",
            "{\"type\":\"object\",\"properties\":{\"after\":{\"type\":\"integer\",\"description\":\"event id; "
                + "default: latest (with wait: only new)\"},\"types\":" + STRINGS + ",\"target\":{\"type\":\"string\","
                + "\"description\":\"prefix, e.g. tasks/ID\"},\"wait_seconds\":{\"type\":\"number\",\"description\":"
                + "\"up to 60\"},\"limit\":{\"type\":\"integer\"}}}",
            this::events),
        new McpTool("log", "The event log as a readable Markdown summary.",
            "{\"type\":\"object\",\"properties\":{\"after\":{\"type\":\"integer\"},\"limit\":{\"type\":\"integer\"}}}",
            this::log),
        new McpTool("agent", "Register yourself (role, skills) or heartbeat your presence.",
            "{\"type\":\"object\",\"properties\":{\"action\":{\"enum\":[\"register\",\"heartbeat\"]},"
                + "\"role\":{\"type\":\"string\"},\"skills\":" + STRINGS + ",\"ttl_seconds\":{\"type\":\"number\"}},"
                + "\"required\":[\"action\"]}",
            presence::call));
  }

  private Object lease(McpArgs args) throws InterruptedException {
    String action = args.choice("action", List.of("acquire", "renew", "release", "inspect"));
    if (action.equals("inspect")) {
      return inspect(args.optString("resource"));
    }
    String resource = args.string("resource");
    if (resource.startsWith(PRESENCE_PREFIX)) {
      // an agent's presence is the agent tool's: through this one an agent could take another's name (its register
      // then refused as "in use by another live session"), or end another's presence
      throw new ToolError("resource " + resource + " is an agent's presence lease, kept by the agent tool"
          + " (agent {action: register | heartbeat}); the lease tool does not " + action + " it. Nothing was"
          + " written.");
    }
    if (action.equals("acquire")) {
      Duration ttl = args.seconds("ttl_seconds", TaskTools.DEFAULT_TTL, TaskTools.MAX_TTL);
      Duration wait = args.waitSeconds("wait_seconds", MAX_WAIT);
      Optional<Lease> got = wait.isZero() ? collab.leases().tryAcquire(resource, ttl) : acquire(resource, ttl, wait);
      if (got.isEmpty()) {
        throw held(resource, wait);
      }
      return leaseJson(got.get());
    }
    long fence = args.integer("fence");
    Lease current = mine(resource, fence, action);
    if (action.equals("renew")) {
      Duration ttl = args.seconds("ttl_seconds", null, TaskTools.MAX_TTL);
      try {
        return leaseJson(ttl == null ? collab.leases().renew(current) : collab.leases().renew(current, ttl));
      } catch (LeaseLostException e) {
        throw new ToolError(e.getMessage() + ". Acquire it again (lease {action: acquire}).");
      }
    }
    boolean released = collab.leases().release(current);
    ObjectNode out = Json.object().put("resource", resource).put("released", released);
    if (!released) {
      out.put("note", "it was no longer held by you (released or replaced meanwhile)");
    }
    return out;
  }

  /**
   * {@code Leases.acquire} in slices of at most {@link #WAIT_SLICE}, giving up once the session ends: a lease a slice
   * took after the end is given back at once, since its answer may no longer reach the client (after the server
   * closed, the SDK writes nothing).
   */
  private Optional<Lease> acquire(String resource, Duration ttl, Duration wait) throws InterruptedException {
    long deadline = System.nanoTime() + wait.toNanos();
    while (true) {
      if (ending.isDone()) {
        throw sessionEnding(resource, "the wait was given up. Nothing was written.");
      }
      long left = deadline - System.nanoTime();
      Duration slice = Duration.ofNanos(Math.max(0, Math.min(left, WAIT_SLICE.toNanos())));
      Optional<Lease> got = collab.leases().acquire(resource, ttl, slice);
      if (got.isPresent() && ending.isDone()) {
        collab.leases().release(got.get());
        throw sessionEnding(resource, "the lease taken as it ended (fence " + got.get().fence()
            + ") was released at once.");
      }
      if (got.isPresent() || left <= WAIT_SLICE.toNanos()) {
        return got;
      }
    }
  }

  private static ToolError sessionEnding(String resource, String outcome) {
    return new ToolError("cannot acquire " + resource + ": the session is ending (stdin closed or the server "
        + "stopping); " + outcome);
  }

  /**
   * {@code EventLog.awaitAfter} on a thread of {@link #polls}, returning empty at once when the session ends.
   */
  private List<Event> awaitAfter(long after, EventFilter filter, int limit, Duration wait)
      throws InterruptedException {
    if (ending.isDone()) {
      return List.of();
    }
    CompletableFuture<List<Event>> read;
    try {
      read = CompletableFuture.supplyAsync(() -> {
        try {
          return collab.events().awaitAfter(after, filter, limit, wait);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new CompletionException(e);
        }
      }, polls);
    } catch (RejectedExecutionException closed) {
      return List.of(); // closed meanwhile: the session has ended
    }
    try {
      CompletableFuture.anyOf(read, ending).get();
    } catch (ExecutionException e) {
      // the read failed: reported below
    }
    if (!read.isDone()) {
      return List.of(); // the session ended first
    }
    try {
      return read.get();
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof RuntimeException r) {
        throw r;
      }
      throw new CompletionException(cause);
    }
  }

  /** The lease with this fence on the resource, held by this agent (a stale one too, for release); else a tool error. */
  private Lease mine(String resource, long fence, String action) {
    Optional<LeaseStatus> status = status(resource);
    if (status.isEmpty()) {
      throw new ToolError("no lease on " + resource + " (it was released or never taken). Nothing was written; "
          + "acquire it (lease {action: acquire}).");
    }
    Lease l = status.get().lease();
    if (l.fence() != fence || !l.holder().equals(agent)) {
      throw new ToolError("stale fence " + fence + " for " + resource + ": it is held by " + l.holder()
          + " with fence " + l.fence() + (status.get().stale() ? " (expired)" : " until " + l.expiresAt())
          + ". Nothing was written; acquire it again when it is free.");
    }
    if (action.equals("renew") && status.get().stale()) {
      throw new ToolError("your lease on " + resource + " (fence " + fence + ") expired at " + l.expiresAt()
          + ". Nothing was written; acquire it again (lease {action: acquire}).");
    }
    return l;
  }

  private ToolError held(String resource, Duration waited) {
    Optional<Lease> now = collab.leases().get(resource);
    String state = now.map(l -> "it is held by " + (l.holder().equals(agent) ? "you" : l.holder()) + " with fence "
        + l.fence() + " until " + l.expiresAt()).orElse("it was held and has just been freed");
    String hint = now.isPresent() && now.get().holder().equals(agent) ? "renew it instead (lease {action: renew})"
        : "retry with wait_seconds (up to 60), or wait for events {types:[\"lease_released\"], wait_seconds:30}";
    return new ToolError("cannot acquire " + resource + (waited.isZero() ? "" : " within " + waited.toSeconds() + " s")
        + ": " + state + ". Nothing was written; " + hint + ".");
  }

  private Object inspect(String resource) {
    if (resource != null) {
      io.kyros.collab.Leases.checkResourceName(resource);
      return status(resource).<Object>map(CoordinationTools::statusJson)
          .orElseGet(() -> Json.object().put("resource", resource).put("free", true));
    }
    ObjectNode out = Json.object();
    ArrayNode list = out.putArray("leases");
    collab.leases().list().forEach(s -> list.add(statusJson(s)));
    return out;
  }

  private Optional<LeaseStatus> status(String resource) {
    io.kyros.collab.Leases.checkResourceName(resource);
    return collab.leases().list().stream().filter(s -> s.lease().resource().equals(resource)).findFirst();
  }

  private Object events(McpArgs args) throws InterruptedException {
    int limit = (int) args.integer("limit", 50, 1, 500);
    Duration wait = args.waitSeconds("wait_seconds", MAX_WAIT);
    EventFilter filter = EventFilter.all();
    List<String> types = args.strings("types");
    if (!types.isEmpty()) {
      filter = filter.types(types.stream().distinct().toArray(String[]::new));
    }
    if (args.has("target")) {
      filter = filter.targetPrefix(args.string("target"));
    }
    long after;
    if (args.has("after")) {
      after = args.integer("after", 0, 0, Long.MAX_VALUE);
      if (lastIdCoversEverySeenId) {
        long last = collab.events().lastId();
        if (after > last) {
          throw new ToolError(OpenStore.pastTheEnd("after ", after, last) + ". Call events with after " + last
              + " or less, or leave after out.");
        }
      }
    } else {
      after = collab.events().lastId();
      if (wait.isZero()) { // the latest that pass the filter, found by reading back from the end
        EventFilter passes = filter;
        List<Event> latest = LatestEvents.find(after, limit,
            (from, n) -> collab.events().read(from, EventFilter.all(), n), Event::id, passes::matches);
        return eventsAnswer(latest, after);
      }
    }
    List<Event> events = wait.isZero() ? collab.events().read(after, filter, limit)
        : awaitAfter(after, filter, limit, wait);
    return eventsAnswer(events, after);
  }

  /**
   * {@code {events, next_after}}: next_after is the last event's id, or {@code read} when that is larger (the latest
   * events of a filter: the log's end was read, and what follows the last match up to it did not pass).
   */
  private static ObjectNode eventsAnswer(List<Event> events, long read) {
    ObjectNode out = Json.object();
    ArrayNode list = out.putArray("events");
    events.forEach(e -> list.add(Json.event(e)));
    out.put("next_after", events.isEmpty() ? read : Math.max(read, events.get(events.size() - 1).id()));
    return out;
  }

  private Object log(McpArgs args) {
    int limit = (int) args.integer("limit", 50, 1, 500);
    if (!args.has("after")) { // the latest, read back from the end (ids may have gaps)
      String md = MarkdownLogRenderer.create().render(LatestEvents.of(collab, limit));
      return md.isBlank() ? "(no events yet)" : md;
    }
    long after = args.integer("after", 0, 0, Long.MAX_VALUE);
    String md = collab.events().renderMarkdown(after, limit);
    return md.isBlank() ? "(no events after " + after + ")" : md;
  }

  static ObjectNode leaseJson(Lease l) {
    return Json.object().put("resource", l.resource()).put("holder", l.holder()).put("fence", l.fence())
        .put("ttl_seconds", Json.seconds(l.ttl())).put("expires_at", Json.instant(l.expiresAt()));
  }

  private static ObjectNode statusJson(LeaseStatus s) {
    ObjectNode o = leaseJson(s.lease());
    o.put("remaining_seconds", Json.seconds(s.remaining()));
    if (s.stale()) {
      o.put("stale", true);
    }
    return o;
  }
}
