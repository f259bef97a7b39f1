package io.kyros.collab.app;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.Event;
import io.kyros.collab.EventFilter;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The event log's routes:
 *
 * <pre>
 * POST /collab/events                 {event, target, details?, actor?} → 201 the event (user types only: not
 *                                     task_, lease_ or document_)
 * GET  /collab/events?after=&amp;limit=&amp;type=&amp;actor=&amp;target=&amp;wait=
 *                                     {data: [event], last_id}; wait=SECONDS long-polls until a match commits
 * GET  /collab/events/tail?after=&amp;since=&amp;type=&amp;actor=&amp;target=
 *                                     text/event-stream; resumes after Last-Event-ID (header), else after=,
 *                                     else since= (an ISO-8601 instant: events at or after it), else from now
 * GET  /collab/log.md?after=&amp;limit=    the human log (Markdown)
 * </pre>
 *
 * {@code type} and {@code actor} take comma-separated lists (or repeat); {@code target} is a prefix. A
 * position ({@code after}, {@code Last-Event-ID}) past the log's last event id, read from the store
 * when the request comes, is 409 on a directory store: no such event was committed, so waiting for it
 * would skip the events that do get those ids (on a database it is taken: {@link #requireInLog}). A HEAD of the tail answers its headers without opening a stream; a
 * HEAD of a long poll does not wait.
 *
 * <p>Stateless and thread-safe.
 */
final class EventsRoutes {
  private static final int DEFAULT_LIMIT = 100;
  private static final int MAX_LIMIT = 1000;

  private final OpenStore store;
  private final EventHub hub;

  private EventsRoutes(OpenStore store, EventHub hub) {
    this.store = store;
    this.hub = hub;
  }

  static List<Route> routes(OpenStore store, EventHub hub) {
    EventsRoutes e = new EventsRoutes(store, hub);
    List<String> filters = List.of("type", "actor", "target");
    List<String> read = new ArrayList<>(List.of("after", "limit", "wait"));
    read.addAll(filters);
    List<String> tail = new ArrayList<>(List.of("after", "since"));
    tail.addAll(filters);
    return List.of(
        new Route("POST", "/collab/events", "Append an event of your own", true, List.of(),
            "{\"event\": \"build_finished\", \"target\": \"builds/42\", \"details\": {\"ok\": true}}",
            Map.of(201, "the event", 400, "invalid or reserved type"), e::append),
        new Route("GET", "/collab/events", "Read events after an id (wait= long-polls)", false, read, null,
            Map.of(200, "{data: [event], last_id}", 409, "after is past the last event id, on a directory store (last_id in body)"),
            e::read),
        new Route("GET", "/collab/events/tail", "Live tail as server-sent events, resumable with Last-Event-ID",
            false, tail, null, Map.of(200, "text/event-stream", 409,
                "Last-Event-ID or after is past the last event id, on a directory store (last_id in body)"), e::tail),
        new Route("GET", "/collab/log.md", "The human log (Markdown)", false, List.of("after", "limit"), null,
            Map.of(200, "text/markdown"), e::log));
  }

  private void append(Exchange x) {
    Body b = new Body(x.jsonBody()).only("event", "target", "details", "actor");
    String type = b.optString("event");
    if (type == null) {
      throw ApiException.badRequest("'event' (the event type) is required");
    }
    String actor = b.optActor("actor");
    if (actor == null && x.key() != null) {
      actor = x.key().name();
    }
    ObjectNode details = b.object("details");
    Event ev = store.as(actor).events().append(type, b.string("target"), details == null ? Json.object() : details);
    x.json(201, Json.event(ev));
  }

  static EventFilter filter(Exchange x) {
    EventFilter f = EventFilter.all();
    List<String> types = x.queryList("type");
    if (!types.isEmpty()) {
      f = f.types(types.toArray(String[]::new));
    }
    List<String> actors = x.queryList("actor");
    if (!actors.isEmpty()) {
      f = f.actors(actors.toArray(String[]::new));
    }
    String target = x.query("target");
    if (target != null && !target.isEmpty()) {
      f = f.targetPrefix(target);
    }
    return f;
  }

  private void read(Exchange x) {
    long after = x.queryLong("after", 0, Long.MAX_VALUE, 0);
    int limit = (int) x.queryLong("limit", 1, MAX_LIMIT, DEFAULT_LIMIT);
    long waitSeconds = x.queryLong("wait", 0, x.config().maxWait().toSeconds(), 0);
    EventFilter filter = filter(x);
    List<Event> events = store.collab().events().read(after, filter, limit);
    if (events.isEmpty()) {
      requireInLog(store, after, "after=");
    }
    if (events.isEmpty() && waitSeconds > 0 && !x.head()) {
      new LongPoll(hub, filter::matches, after, limit, x).start(Duration.ofSeconds(waitSeconds));
      return;
    }
    ObjectNode out = Json.object();
    ArrayNode data = out.putArray("data");
    events.forEach(e -> data.add(Json.event(e)));
    out.put("last_id", events.isEmpty() ? after : events.get(events.size() - 1).id());
    x.json(200, out);
  }

  private void tail(Exchange x) {
    EventFilter filter = filter(x);
    long after = resumePosition(x, store);
    if (after < 0) {
      after = x.query("since") != null ? positionBefore(parseInstant(x.query("since")))
          : store.collab().events().lastId();
    }
    if (x.head()) {
      SseStream.head(x);
      return;
    }
    x.detach();
    new SseStream(hub, filter::matches, after, x.response(), x.callback()).open();
  }

  /**
   * Where a stream resumes: after {@code Last-Event-ID}, else after {@code ?after=}; -1 when the
   * request names neither.
   *
   * @param x the request
   * @param store the store whose log the stream reads
   * @return the exclusive position, or -1
   * @throws ApiException 400 if Last-Event-ID or after is not an event id; 409 if it is past the log's end
   */
  static long resumePosition(Exchange x, OpenStore store) {
    String lastEventId = x.header("Last-Event-ID");
    if (lastEventId != null && !lastEventId.isBlank()) {
      long after;
      try {
        after = Long.parseLong(lastEventId.strip());
      } catch (NumberFormatException e) {
        throw ApiException.badRequest("Last-Event-ID must be an event id: " + lastEventId);
      }
      if (after < 0) {
        throw ApiException.badRequest("Last-Event-ID must not be negative: " + lastEventId);
      }
      return requireInLog(store, after, "Last-Event-ID: ");
    }
    if (x.query("after") != null) {
      return requireInLog(store, x.queryLong("after", 0, Long.MAX_VALUE, 0), "after=");
    }
    return -1;
  }

  /**
   * A position to read after must not be past the log's end: no event with that id was committed, so a
   * stream would wait silently and then skip the events that get the ids up to it. The end is read from
   * the store now, not from {@link EventHub#head()}, which may lag behind a commit the client has seen.
   * Only where that end covers every id a client can have seen ({@link OpenStore#lastIdCoversEverySeenId}: a
   * directory); on a database a position past it waits, as it may be an id just answered that readers do not count
   * yet.
   *
   * @param store the store
   * @param position an exclusive position a request named
   * @param name what named it, as the detail shows it before the number ({@code "after="}, {@code "Last-Event-ID: "})
   * @return the position
   * @throws ApiException 409 naming both ids, with {@code last_id}, if the position is past the last event id of a
   *     store whose last id covers every id a client can have seen
   */
  static long requireInLog(OpenStore store, long position, String name) {
    if (!store.lastIdCoversEverySeenId()) {
      return position;
    }
    long last = store.collab().events().lastId();
    if (position > last) {
      throw ApiException.conflict(OpenStore.pastTheEnd(name, position, last) + "; resume after " + last
          + " or earlier").with("last_id", Json.NODES.numberNode(last));
    }
    return position;
  }

  private static Instant parseInstant(String s) {
    try {
      return Instant.parse(s);
    } catch (DateTimeParseException e) {
      throw ApiException.badRequest("since must be an ISO-8601 instant such as 2025-01-31T12:00:00Z: " + s);
    }
  }

  /**
   * The position after which the first event at or after {@code since} comes: a binary search over
   * ids (each probe one O(log n) read), since timestamps follow ids.
   */
  private long positionBefore(Instant since) {
    long lo = 0;
    long hi = store.collab().events().lastId();
    while (lo < hi) {
      long mid = lo + (hi - lo) / 2;
      List<Event> next = store.collab().events().read(mid, 1);
      if (next.isEmpty() || !next.get(0).ts().isBefore(since)) {
        hi = mid;
      } else {
        lo = next.get(0).id();
      }
    }
    return lo;
  }

  private void log(Exchange x) {
    long after = x.queryLong("after", 0, Long.MAX_VALUE, 0);
    int limit = (int) x.queryLong("limit", 1, MAX_LIMIT * 10, DEFAULT_LIMIT * 10);
    x.text(200, "text/markdown", store.collab().events().renderMarkdown(after, limit));
  }
}
