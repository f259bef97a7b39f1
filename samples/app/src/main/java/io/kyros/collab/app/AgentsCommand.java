package io.kyros.collab.app;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code collab agents ls}: the agent registry (core's {@link io.kyros.collab.Agents}) on a store or
 * through the HTTP API ({@link CliOptions}), each agent's status judged when read.
 *
 * <p>Not thread-safe: picocli fills it once per command line.
 */
@Command(name = "agents", mixinStandardHelpOptions = true, description = "List the registered agents.")
final class AgentsCommand {
  @Spec
  CommandSpec spec;

  @Command(name = "ls", description = "List the registered agents with their status and the tasks they hold.")
  int ls(@Mixin StoreOptions store, @Mixin CliOptions cli) {
    try (CliBackend b = cli.backend(store)) {
      JsonNode page = b.listAgents();
      if (cli.json) {
        page.get("data").forEach(a -> cli.print(out(), a, null));
      } else {
        page.get("data").forEach(a -> out().printf("%-24s %-10s %-16s %-24s %s%n", TerminalText.safe(a.get("id").asText()),
            TerminalText.safe(a.get("status").asText()), TerminalText.safe(a.get("role").asText()),
            TerminalText.safe(a.path("last_seen").asText("-")),
            a.get("current_tasks").isEmpty() ? "-" : TerminalText.safe(Json.write(a.get("current_tasks")))));
        out().flush();
      }
      return ExitCodes.OK;
    }
  }

  private java.io.PrintWriter out() {
    return spec.commandLine().getOut();
  }
}
