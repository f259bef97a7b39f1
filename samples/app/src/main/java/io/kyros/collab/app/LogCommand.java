package io.kyros.collab.app;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code collab log [--after ID] [--limit N]}: the human log (Markdown) of events after an id.
 * {@code --json} prints {@code {"markdown": "..."}}.
 *
 * <p>Not thread-safe: picocli fills it once per command line.
 */
@Command(name = "log", mixinStandardHelpOptions = true, description = "Print the human log (Markdown).")
final class LogCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Mixin
  StoreOptions store;

  @Mixin
  CliOptions cli;

  @Option(names = "--after", defaultValue = "0", paramLabel = "ID", description = "After this event id (default: 0).")
  long after;

  @Option(names = "--limit", defaultValue = "100", description = "At most this many events, 1..10000 (default: 100).")
  int limit;

  /** The most events the server renders at once ({@code GET /collab/log.md}'s {@code limit}). */
  static final int MAX_LIMIT = 10_000;

  @Override
  public Integer call() {
    if (limit < 1 || limit > MAX_LIMIT) { // checked here, so a store and a server agree (exit 2)
      throw new IllegalArgumentException("--limit must be between 1 and " + MAX_LIMIT + ": " + limit);
    }
    if (after < 0) {
      throw new IllegalArgumentException("--after must be at least 0: " + after);
    }
    try (CliBackend b = cli.backend(store)) {
      String md = b.log(after, limit);
      // the Markdown's lines are its own; anything else stored (an ESC in a title) is shown escaped
      cli.print(spec.commandLine().getOut(), Json.object().put("markdown", md), TerminalText.safeLines(md.stripTrailing()));
      return ExitCodes.OK;
    }
  }
}
