package io.kyros.collab.app;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code collab events tail [-f] [--type T]... [--after ID] [--limit N] [--count N]}: prints events
 * after an id (default: the latest {@code --limit}), and with {@code -f} keeps following with long
 * polls until stopped, or until {@code --count} events were printed. One line per event:
 * {@code #id ts actor type target} (stored text {@link TerminalText#safe}), or the event's JSON with {@code --json}.
 * Following, a server lost after the first read (a restart: it cannot be reached, or answers 502/503/504) is
 * tried again until it answers, waiting 200 ms doubling to 10 s between tries (a note on stderr each time), and the
 * tail resumes after the last event it printed: nothing skipped, nothing twice.
 *
 * <p>Not thread-safe: picocli fills it once per command line.
 */
@Command(name = "events", mixinStandardHelpOptions = true, description = "Read the event log.")
final class EventsCommand {
  private static final long POLL_SECONDS = 30;
  /** The first wait before following again after the server was lost; it doubles up to {@link #MAX_BACKOFF_MILLIS}. */
  static final long FIRST_BACKOFF_MILLIS = 200;
  static final long MAX_BACKOFF_MILLIS = 10_000;

  @Spec
  CommandSpec spec;

  @Command(name = "tail", description = "Print the latest events; -f follows new ones.")
  int tail(@Mixin StoreOptions store, @Mixin CliOptions cli,
      @Option(names = {"-f", "--follow"}, description = "Keep printing new events until stopped.") boolean follow,
      @Option(names = "--type", paramLabel = "TYPE", description = "Only this type (repeatable).") List<String> types,
      @Option(names = "--after", paramLabel = "ID", description = "Start after this event id (default: the latest --limit).")
      Long after,
      @Option(names = "--limit", defaultValue = "20", description = "Events per read (default: 20).") int limit,
      @Option(names = "--count", paramLabel = "N", description = "Stop after printing N events.") Long count)
      throws InterruptedException {
    if (limit < 1 || limit > 1000) {
      throw new IllegalArgumentException("--limit must be between 1 and 1000: " + limit);
    }
    // a --type value may hold a comma list, as the server reads its type parameter, on a store as through a server
    List<String> only = TasksCommand.orEmpty(types).stream().flatMap(t -> java.util.Arrays.stream(t.split(",")))
        .map(String::strip).filter(t -> !t.isEmpty()).distinct().toList();
    try (CliBackend b = cli.backend(store)) {
      long position = after != null ? after : latest(b, limit, only);
      long printed = 0;
      boolean first = true;
      long backoff = 0; // while following: the wait before the next try after a failed read, 0 when the last one worked
      while (count == null || printed < count) {
        JsonNode page;
        try {
          page = b.events(position, only, limit, first || !follow ? 0 : POLL_SECONDS);
        } catch (RuntimeException e) {
          if (!follow || first || !lostServer(e)) {
            throw e; // a server wrong from the start, or a refusal (409, 401...): not something to wait out
          }
          backoff = backoff == 0 ? FIRST_BACKOFF_MILLIS : Math.min(backoff * 2, MAX_BACKOFF_MILLIS);
          err().println("collab: " + TerminalText.safe(e.getMessage()) + "; retrying in " + backoff
              + " ms, after event #" + position);
          err().flush();
          Thread.sleep(backoff); // interrupted (Ctrl-C): the command ends
          continue;
        }
        if (backoff != 0) {
          err().println("collab: the server answers again; following after event #" + position);
          err().flush();
          backoff = 0;
        }
        first = false;
        for (JsonNode e : page.get("data")) {
          if (count != null && printed >= count) {
            break;
          }
          cli.print(out(), e, "#" + e.get("id").asLong() + " " + safe(e.get("ts").asText()) + " "
              + safe(e.get("actor").asText()) + " " + safe(e.get("event").asText()) + " " + safe(e.get("target").asText()));
          printed++;
        }
        position = page.get("last_id").asLong(); // only after the page is printed: a retry resumes right after it
        if (!follow && page.get("data").size() < limit) {
          break;
        }
      }
      return ExitCodes.OK;
    }
  }

  /**
   * @return whether a failed read while following is one to wait out: the server could not be reached or did not
   *     answer as the API (it is restarting, a proxy in front answers for it), or it answered 502, 503 or 504
   */
  private static boolean lostServer(RuntimeException e) {
    if (e instanceof java.io.UncheckedIOException io) {
      return !(io.getCause() instanceof java.io.InterruptedIOException);
    }
    return e instanceof ApiException api && (api.status() == 502 || api.status() == 503 || api.status() == 504);
  }

  private static String safe(String s) {
    return TerminalText.safe(s);
  }

  private java.io.PrintWriter err() {
    return spec.commandLine().getErr();
  }

  /**
   * The position before the latest {@code limit} events of the types asked for (all types if none): found by reading
   * back from the log's end ({@link LatestEvents}), not by reading the log from its start.
   */
  private static long latest(CliBackend b, int limit, List<String> types) throws InterruptedException {
    long last = b.lastEventId();
    List<JsonNode> newest = LatestEvents.find(last, limit, (after, n) -> {
      List<JsonNode> page = new java.util.ArrayList<>();
      b.events(after, List.of(), n, 0).get("data").forEach(page::add);
      return page;
    }, e -> e.get("id").asLong(), e -> types.isEmpty() || types.contains(e.get("event").asText()));
    return newest.isEmpty() ? last : newest.get(0).get("id").asLong() - 1;
  }

  private java.io.PrintWriter out() {
    return spec.commandLine().getOut();
  }
}
