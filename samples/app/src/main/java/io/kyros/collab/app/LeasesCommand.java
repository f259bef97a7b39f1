package io.kyros.collab.app;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code collab leases ls|acquire|release|reclaim}, on a store or through the HTTP API
 * ({@link CliOptions}). {@code acquire} exits 1 while another holder has the resource;
 * {@code release} of an unknown lock id exits 3.
 *
 * <p>Not thread-safe: picocli fills it once per command line.
 */
@Command(name = "leases", mixinStandardHelpOptions = true, description = "List, acquire, release and reclaim leases.")
final class LeasesCommand {
  @Spec
  CommandSpec spec;

  @Command(name = "ls", description = "List held leases with their time left.")
  int ls(@Mixin StoreOptions store, @Mixin CliOptions cli) {
    try (CliBackend b = cli.backend(store)) {
      JsonNode page = b.listLeases();
      if (cli.json) {
        page.get("data").forEach(l -> cli.print(out(), l, null));
      } else {
        page.get("data").forEach(l -> out().printf("%-36s %-24s fence %-4d %8.1f s left%s  %s%n",
            safe(l.get("lock_id").asText()), safe(l.get("holder").asText()), l.get("fence").asLong(),
            l.get("remaining_seconds").asDouble(), l.get("stale").asBoolean() ? " (stale)" : "",
            safe(l.get("resource").asText())));
        out().flush();
      }
      return ExitCodes.OK;
    }
  }

  @Command(name = "acquire", description = "Acquire a lease; prints lock id and fence (exit 1 if held).")
  int acquire(@Mixin StoreOptions store, @Mixin CliOptions cli, @Parameters(paramLabel = "RESOURCE") String resource,
      @Option(names = "--ttl", defaultValue = "300", paramLabel = "SECONDS", description = "Ttl (default: 300).") double ttl,
      @Option(names = "--holder", description = "The holder (default: --as, or over HTTP the API key's name).")
      String holder) {
    try (CliBackend b = cli.backend(store)) {
      JsonNode got = b.acquire(resource, holder != null ? holder : cli.actor, TasksCommand.seconds(ttl));
      cli.print(out(), got, safe(got.get("lock_id").asText()) + " fence=" + got.get("fence").asLong() + " expires_at="
          + safe(got.get("expires_at").asText()));
      return ExitCodes.OK;
    }
  }

  @Command(name = "release", description = "Release a lease by its lock id.")
  int release(@Mixin StoreOptions store, @Mixin CliOptions cli, @Parameters(paramLabel = "LOCK_ID") String lockId) {
    try (CliBackend b = cli.backend(store)) {
      JsonNode r = b.release(lockId);
      cli.print(out(), r, "released " + safe(lockId));
      return ExitCodes.OK;
    }
  }

  @Command(name = "reclaim", description = "Reclaim stale leases and task claims.")
  int reclaim(@Mixin StoreOptions store, @Mixin CliOptions cli) {
    try (CliBackend b = cli.backend(store)) {
      JsonNode r = b.reclaim();
      cli.print(out(), r, "reclaimed " + r.get("leases").size() + " lease(s), " + r.get("tasks").size() + " task(s)");
      return ExitCodes.OK;
    }
  }

  private static String safe(String s) {
    return TerminalText.safe(s);
  }

  private java.io.PrintWriter out() {
    return spec.commandLine().getOut();
  }
}
