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

  @Option(names = "--limit", defaultValue = "100", description = "At most this many events (default: 100).")
  int limit;

  @Override
  public Integer call() {
    try (CliBackend b = cli.backend(store)) {
      String md = b.log(after, limit);
      cli.print(spec.commandLine().getOut(), Json.object().put("markdown", md), md.stripTrailing());
      return ExitCodes.OK;
    }
  }
}
