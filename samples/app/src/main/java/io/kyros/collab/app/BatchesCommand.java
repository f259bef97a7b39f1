package io.kyros.collab.app;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code collab batches ls|show}: batches (core's {@link io.kyros.collab.Batches}) with their
 * progress, on a store or through the HTTP API ({@link CliOptions}). {@code show} of an unknown
 * batch exits 3.
 *
 * <p>Not thread-safe: picocli fills it once per command line.
 */
@Command(name = "batches", mixinStandardHelpOptions = true, description = "List and show batches.")
final class BatchesCommand {
  @Spec
  CommandSpec spec;

  @Command(name = "ls", description = "List batches with their state and progress.")
  int ls(@Mixin StoreOptions store, @Mixin CliOptions cli) {
    try (CliBackend b = cli.backend(store)) {
      JsonNode page = b.listBatches();
      if (cli.json) {
        page.get("data").forEach(batch -> cli.print(out(), batch, null));
      } else {
        page.get("data").forEach(batch -> {
          JsonNode p = batch.get("progress");
          out().printf("%-24s %-10s %3d/%-3d done  %d failed  %d running  %s%n",
              TerminalText.safe(batch.get("id").asText()), TerminalText.safe(batch.get("state").asText()), p.get("succeeded").asInt() + p.get("failed").asInt()
                  + p.get("cancelled").asInt(), p.get("total").asInt(), p.get("failed").asInt(),
              p.get("running").asInt(), TerminalText.safe(batch.get("label").asText()));
        });
        out().flush();
      }
      return ExitCodes.OK;
    }
  }

  @Command(name = "show", description = "Show one batch with its progress (exit 3 if there is none).")
  int show(@Mixin StoreOptions store, @Mixin CliOptions cli, @Parameters(paramLabel = "ID") String id) {
    try (CliBackend b = cli.backend(store)) {
      JsonNode batch = b.getBatch(id);
      cli.print(out(), batch, TasksCommand.fields(batch));
      return ExitCodes.OK;
    }
  }

  private java.io.PrintWriter out() {
    return spec.commandLine().getOut();
  }
}
