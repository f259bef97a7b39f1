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
 * {@code #id ts actor type target}, or the event's JSON with {@code --json}.
 *
 * <p>Not thread-safe: picocli fills it once per command line.
 */
@Command(name = "events", mixinStandardHelpOptions = true, description = "Read the event log.")
final class EventsCommand {
  private static final long POLL_SECONDS = 30;

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
      while (count == null || printed < count) {
        JsonNode page = b.events(position, only, limit, first || !follow ? 0 : POLL_SECONDS);
        first = false;
        for (JsonNode e : page.get("data")) {
          if (count != null && printed >= count) {
            break;
          }
          cli.print(out(), e, "#" + e.get("id").asLong() + " " + e.get("ts").asText() + " " + e.get("actor").asText()
              + " " + e.get("event").asText() + " " + e.get("target").asText());
          printed++;
        }
        position = page.get("last_id").asLong();
        if (!follow && page.get("data").size() < limit) {
          break;
        }
      }
      return ExitCodes.OK;
    }
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
