package io.kyros.collab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Turns a range of events into a readable Markdown log ("generate human log"): a heading per day,
 * one bullet per event with its time, actor and a sentence for the known event types, and the
 * remaining details as {@code key=value} pairs. Unknown types are rendered generically.
 *
 * <pre>
 * ## 2026-11-21 (UTC)
 *
 * - `12:00:01.250` **worker-1** claimed task `t-1` (queued → claimed, fence 3) · #12
 * </pre>
 *
 * <p>Immutable and thread-safe.
 */
public final class MarkdownLogRenderer {
  private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss.SSS");

  private final ZoneId zone;

  private MarkdownLogRenderer(ZoneId zone) {
    this.zone = zone;
  }

  /** @return a renderer that prints times in UTC */
  public static MarkdownLogRenderer create() {
    return new MarkdownLogRenderer(ZoneOffset.UTC);
  }

  /**
   * @param zone the time zone for headings and times
   * @return a renderer using that zone
   */
  public MarkdownLogRenderer withZone(ZoneId zone) {
    return new MarkdownLogRenderer(Objects.requireNonNull(zone, "zone"));
  }

  /**
   * Renders events.
   *
   * @param events the events, normally in id order
   * @return Markdown text; a single line saying so when there are no events
   */
  public String render(List<Event> events) {
    Objects.requireNonNull(events, "events");
    StringBuilder out = new StringBuilder();
    if (events.isEmpty()) {
      return "_No events._\n";
    }
    out.append("# Event log: #").append(events.get(0).id()).append(" to #")
        .append(events.get(events.size() - 1).id()).append("\n");
    LocalDate day = null;
    for (Event e : events) {
      ZonedDateTime t = e.ts().atZone(zone);
      if (!t.toLocalDate().equals(day)) {
        day = t.toLocalDate();
        out.append("\n## ").append(day).append(" (").append(zone).append(")\n\n");
      }
      out.append(renderLine(e)).append('\n');
    }
    return out.toString();
  }

  /**
   * Renders one event as a Markdown bullet, without the day heading: for printing a log as it grows.
   *
   * @param e the event
   * @return one line, without a line terminator
   */
  public String renderLine(Event e) {
    Objects.requireNonNull(e, "e");
    return "- `" + TIME.format(e.ts().atZone(zone)) + "` **" + bold(e.actor()) + "** " + sentence(e) + " · #" + e.id();
  }

  /**
   * Escapes a text shown in bold: as {@link #escape}, and its leading and trailing spaces as character references,
   * since a {@code **} next to a space does not open or close emphasis ({@code ** bob **} shows its asterisks).
   */
  static String bold(String s) {
    String escaped = escape(s);
    int start = 0;
    while (start < escaped.length() && escaped.charAt(start) == ' ') {
      start++;
    }
    int end = escaped.length();
    while (end > start && escaped.charAt(end - 1) == ' ') {
      end--;
    }
    return "&#32;".repeat(start) + escaped.substring(start, end) + "&#32;".repeat(escaped.length() - end);
  }

  private static String sentence(Event e) {
    ObjectNode d = e.details();
    String task = "task `" + text(d, "id", e.target()) + "`";
    String doc = "document `" + text(d, "collection", "?") + "/" + text(d, "id", "?") + "`";
    String lease = "lease on " + code(text(d, "resource", e.target()));
    String statuses = "(" + text(d, "oldStatus", "?") + " → " + text(d, "newStatus", "?");
    String rest;
    EventType type = EventType.fromWireName(e.type()).orElse(null);
    if (type == null) {
      return code(e.type()) + " on " + code(e.target()) + pairs(d);
    }
    switch (type) {
      case TASK_CREATED:
        return "created " + task + " \"" + escape(text(d, "title", "")) + "\" (priority " + text(d, "priority", "0") + ")";
      case TASK_CLAIMED:
        return "claimed " + task + " " + statuses + ", fence " + text(d, "fence", "?") + ")";
      case TASK_TRANSITIONED:
        return "moved " + task + " " + statuses + ")";
      case TASK_COMPLETED:
        return "completed " + task + " " + statuses + ")";
      case TASK_FAILED:
        rest = d.path("retry").asBoolean() ? ", will retry after " + text(d, "notBefore", "?") : ", no retries left";
        return "failed " + task + " " + statuses + ", attempt " + text(d, "attempts", "?") + rest + "): "
            + escape(text(d, "error", ""));
      case TASK_RELEASED:
        return "released " + task + " " + statuses + ")";
      case TASK_RECLAIMED:
        return "reclaimed " + task + " from " + escape(text(d, "previousHolder", "?")) + " " + statuses + ", attempt "
            + text(d, "attempts", "?") + ")";
      case TASK_UPDATED:
        return "updated " + task + " (" + join(d.path("changed")) + ")";
      case LEASE_ACQUIRED:
        return "acquired " + lease + " (fence " + text(d, "fence", "?") + ", ttl " + text(d, "ttl", "?") + ")";
      case LEASE_RELEASED:
        return "released " + lease + " (fence " + text(d, "fence", "?") + ")";
      case LEASE_RENEWED:
        return "renewed " + lease + " with ttl " + text(d, "ttl", "?") + " (was " + text(d, "previousTtl", "?")
            + ", fence " + text(d, "fence", "?") + ", expires " + text(d, "expiresAt", "?") + ")";
      case LEASE_RELEASE_SCHEDULED:
        return "scheduled the release of " + lease + " at " + text(d, "releaseAt", "?") + " (fence "
            + text(d, "fence", "?") + ", was to expire " + text(d, "previousExpiresAt", "?") + ")";
      case LEASE_RECLAIMED:
        return "reclaimed stale " + lease + " from " + escape(text(d, "previousHolder", "?")) + " (last heartbeat "
            + text(d, "lastHeartbeat", "?") + ", fence " + text(d, "oldFence", "?") + " → "
            + text(d, "newFence", "none") + ")";
      case DOCUMENT_CREATED:
        return "created " + doc + " " + text(d, "etag", "");
      case DOCUMENT_REPLACED:
        return "replaced " + doc + " " + text(d, "previousEtag", "?") + " → " + text(d, "etag", "?");
      case DOCUMENT_DELETED:
        return "deleted " + doc + " (was " + text(d, "previousEtag", "?") + ")";
      case EXECUTOR_STARTED:
        return "started " + task + " (handler " + code(text(d, "handler", "?")) + ", attempt " + text(d, "attempt", "?")
            + ")";
      case EXECUTOR_PROGRESS:
        return "progress on " + task + ": " + text(d, "percent", "?") + "% " + escape(text(d, "message", ""));
      case EXECUTOR_SUCCEEDED:
        return "finished " + task + " (" + text(d, "outcome", "?") + " after " + text(d, "duration", "?") + ")";
      case EXECUTOR_FAILED:
        rest = d.path("retry").asBoolean() ? ", will retry at " + text(d, "nextAttemptAt", "now") : ", no retry";
        return "attempt " + text(d, "attempt", "?") + " on " + task + " failed (" + escape(text(d, "errorClass", "?"))
            + rest + "): " + escape(text(d, "error", ""));
      case BATCH_CREATED:
        return "created batch " + code(text(d, "id", "?")) + " (" + text(d, "total", "?") + " items, "
            + text(d, "policy", "?") + ", concurrency " + text(d, "concurrency", "?") + ")";
      case BATCH_ITEMS_ADDED:
        return "added " + text(d, "items", "?") + " items to batch " + code(text(d, "id", "?"));
      case BATCH_STATE_CHANGED:
        return "batch " + code(text(d, "id", "?")) + " " + text(d, "oldState", "?") + " → " + text(d, "newState", "?")
            + " (" + escape(text(d, "reason", "")) + ")";
      case BATCH_PROGRESS:
        return "batch " + code(text(d, "id", "?")) + " at " + text(d, "percent", "?") + "% (" + text(d, "succeeded", "?")
            + " succeeded, " + text(d, "failed", "?") + " failed, " + text(d, "cancelled", "?") + " cancelled, "
            + text(d, "running", "?") + " running)";
      case AGENT_REGISTERED:
        return "registered agent " + code(text(d, "id", "?")) + " (" + escape(text(d, "role", "?")) + ")";
      case AGENT_STATUS_CHANGED:
        return "agent " + code(text(d, "id", "?")) + " " + text(d, "oldStatus", "?") + " → "
            + text(d, "newStatus", "?") + " (" + escape(text(d, "reason", "")) + ")";
      default:
        // types without a sentence of their own yet (agents, batches, executors) render like user types
        return "`" + escape(e.type()) + "` on `" + escape(e.target()) + "`" + pairs(d);
    }
  }

  private static String pairs(ObjectNode d) {
    if (d.isEmpty()) {
      return "";
    }
    StringBuilder b = new StringBuilder(":");
    for (Iterator<Map.Entry<String, JsonNode>> it = d.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> f = it.next();
      JsonNode v = f.getValue();
      b.append(' ').append(escape(f.getKey())).append('=').append(escape(v.isTextual() ? v.asText() : v.toString()));
    }
    return b.toString();
  }

  private static String join(JsonNode array) {
    StringBuilder b = new StringBuilder();
    array.forEach(n -> b.append(b.length() == 0 ? "" : ", ").append(escape(n.asText())));
    return b.toString();
  }

  private static String text(ObjectNode d, String field, String fallback) {
    JsonNode n = d.get(field);
    return n == null || n.isNull() ? fallback : n.asText();
  }

  /**
   * A code span holding {@code s} as it is: fenced by one backtick more than the longest run inside it,
   * newlines flattened, padded with a space on each side when it starts or ends with a backtick, or starts and
   * ends with a space without being all spaces (CommonMark strips one space from each end of such a span, so
   * {@code " job "} would show as {@code job}).
   */
  static String code(String s) {
    String flat = s.replace('\n', ' ').replace('\r', ' ');
    int longest = 0;
    for (int i = 0, run = 0; i < flat.length(); i++) {
      run = flat.charAt(i) == '`' ? run + 1 : 0;
      longest = Math.max(longest, run);
    }
    String fence = "`".repeat(longest + 1);
    boolean spaced = flat.startsWith(" ") && flat.endsWith(" ") && flat.chars().anyMatch(c -> c != ' ');
    String pad = spaced || flat.startsWith("`") || flat.endsWith("`") ? " " : "";
    return fence + pad + flat + pad + fence;
  }

  /**
   * Escapes Markdown emphasis, strikethrough, code and link characters and character references ({@code &amp;}, which
   * would otherwise show {@code a&lt;b} as {@code a<b}), and flattens newlines.
   */
  static String escape(String s) {
    StringBuilder b = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '*', '_', '`', '[', ']', '<', '>', '|', '\\', '~', '&' -> b.append('\\').append(c);
        case '\n', '\r' -> b.append(' ');
        default -> b.append(c);
      }
    }
    return b.toString();
  }
}
