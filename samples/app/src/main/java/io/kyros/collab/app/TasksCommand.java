package io.kyros.collab.app;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.NotFoundException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code collab tasks ls|ready|add|show|claim|done|fail|move}, on a store or through the HTTP API
 * ({@link CliOptions}). Exit codes as {@link ExitCodes}: {@code claim} exits 3 when nothing is
 * claimable; {@code done}/{@code fail} with a stale fence exit 1.
 *
 * <p>Not thread-safe: picocli fills it once per command line.
 */
@Command(name = "tasks", mixinStandardHelpOptions = true, description = "List, add, claim and finish tasks.")
final class TasksCommand {
  @Spec
  CommandSpec spec;

  @Command(name = "ls", description = "List tasks (creation order).")
  int ls(@Mixin StoreOptions store, @Mixin CliOptions cli,
      @Option(names = "--status", paramLabel = "S[,S...]", description = "Only these statuses.") String status,
      @Option(names = "--label", paramLabel = "L[,L...]", description = "Only tasks with one of these labels.") String label) {
    notEmpty("--status", status); // an empty filter is a mistake (an unset variable), on a store as through a server
    notEmpty("--label", label);
    try (CliBackend b = cli.backend(store)) {
      JsonNode page = b.listTasks(status, label);
      if (cli.json) {
        page.get("data").forEach(t -> cli.print(out(), t, null));
      } else {
        page.get("data").forEach(t -> out().printf("%-16s %-12s %4d  %-12s %s%n", safe(t.get("id").asText()),
            safe(t.get("status").asText()), t.get("priority").asInt(), safe(t.path("assignee").asText("-")),
            safe(t.get("title").asText())));
        out().flush();
      }
      return ExitCodes.OK;
    }
  }

  @Command(name = "ready", description = "List the tasks claims would take now, best first (nothing is claimed).")
  int ready(@Mixin StoreOptions store, @Mixin CliOptions cli,
      @Option(names = "--label", paramLabel = "L", description = "Only tasks with one of these labels (repeatable).")
      List<String> labels,
      @Option(names = "--limit", defaultValue = "20", description = "At most this many, 1..1000 (default: 20).")
      int limit) {
    if (limit < 1 || limit > 1000) {
      throw new IllegalArgumentException("--limit must be between 1 and 1000: " + limit);
    }
    for (String l : orEmpty(labels)) { // the server takes a comma list: one label each, on a store as through it
      if (l.isEmpty() || l.contains(",")) {
        throw new IllegalArgumentException("--label takes one label, not empty, without commas: \"" + l + "\"");
      }
    }
    try (CliBackend b = cli.backend(store)) {
      JsonNode page = b.claimable(orEmpty(labels), limit);
      if (cli.json) {
        page.get("data").forEach(t -> cli.print(out(), t, null));
      } else {
        page.get("data").forEach(t -> out().printf("%-16s %4d  %-16s %s%n", safe(t.get("id").asText()),
            t.get("priority").asInt(), safe(labels(t.get("labels"))), safe(t.get("title").asText())));
        out().flush();
      }
      if (page.get("more").asBoolean()) { // on stderr, so that --json stays one task per line
        spec.commandLine().getErr().println("(more are claimable: raise --limit)");
        spec.commandLine().getErr().flush();
      }
      return ExitCodes.OK;
    }
  }

  /** @return a task's labels as {@code a,b}, or {@code -} for none */
  private static String labels(JsonNode labels) {
    List<String> out = new ArrayList<>();
    labels.forEach(l -> out.add(l.asText()));
    return out.isEmpty() ? "-" : String.join(",", out);
  }

  @Command(name = "add", description = "Create a task; prints its id.")
  int add(@Mixin StoreOptions store, @Mixin CliOptions cli,
      @Parameters(paramLabel = "TITLE", description = "The title.") String title,
      @Option(names = "--id", description = "The id (default: generated).") String id,
      @Option(names = "--description", description = "Longer text.") String description,
      @Option(names = "--priority", defaultValue = "0", description = "Higher first (default: 0).") int priority,
      @Option(names = "--label", paramLabel = "L", description = "A label (repeatable).") List<String> labels,
      @Option(names = "--depends-on", paramLabel = "ID", description = "A task to finish first (repeatable).") List<String> deps,
      @Option(names = "--check", paramLabel = "ITEM", description = "A checklist item (repeatable).") List<String> checklist) {
    ObjectNode spec = Json.object().put("title", title).put("priority", priority);
    if (id != null) {
      spec.put("id", id);
    }
    if (description != null) {
      spec.put("description", description);
    }
    spec.set("labels", Json.strings(orEmpty(labels)));
    spec.set("depends_on", Json.strings(orEmpty(deps)));
    spec.set("checklist", Json.strings(orEmpty(checklist)));
    try (CliBackend b = cli.backend(store)) {
      JsonNode created = b.createTask(spec);
      cli.print(out(), created, safe(created.get("id").asText()));
      return ExitCodes.OK;
    }
  }

  @Command(name = "show", description = "Show one task.")
  int show(@Mixin StoreOptions store, @Mixin CliOptions cli, @Parameters(paramLabel = "ID") String id) {
    try (CliBackend b = cli.backend(store)) {
      JsonNode t = b.getTask(id);
      cli.print(out(), t, fields(t));
      return ExitCodes.OK;
    }
  }

  @Command(name = "claim", description = "Claim the best claimable task; prints id, lock id and fence (exit 3 if none).")
  int claim(@Mixin StoreOptions store, @Mixin CliOptions cli,
      @Option(names = "--worker", required = true, description = "Who claims it.") String worker,
      @Option(names = "--ttl", defaultValue = "300", paramLabel = "SECONDS", description = "Claim lease ttl (default: 300).")
      double ttl,
      @Option(names = "--label", paramLabel = "L", description = "Only tasks with one of these labels (repeatable).")
      List<String> labels) {
    try (CliBackend b = cli.backend(store)) {
      JsonNode claim = b.claimNext(worker, seconds(ttl), orEmpty(labels));
      if (claim == null) {
        throw new NotFoundException("a claimable task" + (labels == null ? "" : " with labels " + labels));
      }
      cli.print(out(), claim, safe(claim.get("task").get("id").asText()) + " lock_id=" + safe(claim.get("lock_id").asText())
          + " fence=" + claim.get("fence").asLong() + " expires_at=" + safe(claim.get("expires_at").asText()));
      return ExitCodes.OK;
    }
  }

  @Command(name = "done", description = "Complete a claimed task (exit 1 if the fence is stale).")
  int done(@Mixin StoreOptions store, @Mixin CliOptions cli, @Parameters(paramLabel = "ID") String id,
      @Option(names = "--fence", required = true) long fence,
      @Option(names = "--lock-id", description = "The claim's lock id (required with --server).") String lockId) {
    try (CliBackend b = cli.backend(store)) {
      JsonNode t = b.complete(id, lockId, fence);
      cli.print(out(), t, safe(id) + " " + safe(t.get("status").asText()));
      return ExitCodes.OK;
    }
  }

  @Command(name = "fail", description = "Fail a claimed task's attempt (retried with backoff until max attempts).")
  int fail(@Mixin StoreOptions store, @Mixin CliOptions cli, @Parameters(paramLabel = "ID") String id,
      @Option(names = "--fence", required = true) long fence,
      @Option(names = "--lock-id", description = "The claim's lock id (required with --server).") String lockId,
      @Option(names = "--error", defaultValue = "failed from the command line", description = "Why.") String error) {
    try (CliBackend b = cli.backend(store)) {
      JsonNode t = b.fail(id, lockId, fence, error);
      cli.print(out(), t, safe(id) + " " + safe(t.get("status").asText()) + " (attempts " + t.get("attempts").asInt()
          + ")");
      return ExitCodes.OK;
    }
  }

  @Command(name = "move", description = "Move a task to another status (as it is now, not through a claim).")
  int move(@Mixin StoreOptions store, @Mixin CliOptions cli, @Parameters(paramLabel = "ID") String id,
      @Parameters(paramLabel = "STATUS") String to) {
    try (CliBackend b = cli.backend(store)) {
      JsonNode r = b.move(id, to);
      cli.print(out(), r, safe(id) + " " + safe(r.get("old_status").asText()) + " -> " + safe(r.get("new_status").asText()));
      return ExitCodes.OK;
    }
  }

  private java.io.PrintWriter out() {
    return spec.commandLine().getOut();
  }

  /**
   * @return an object's non-null fields, one {@code name value} line each (values that are not text as JSON), every
   *     name and value {@link TerminalText#safe}: a description's newlines show as {@code \n}, not as lines
   */
  static String fields(JsonNode object) {
    StringBuilder human = new StringBuilder();
    object.properties().forEach(e -> {
      if (!e.getValue().isNull()) {
        human.append(String.format("%-12s %s%n", safe(e.getKey()), safe(e.getValue().isTextual()
            ? e.getValue().asText() : Json.write(e.getValue()))));
      }
    });
    return human.toString().stripTrailing();
  }

  private static String safe(String s) {
    return TerminalText.safe(s);
  }

  /** Refuses an option given empty ({@code --status ""}), naming it; null (not given) passes. */
  static void notEmpty(String option, String value) {
    if (value != null && value.isEmpty()) {
      throw new IllegalArgumentException(option + " must not be empty (leave it out for no filter)");
    }
  }

  /**
   * @param s a {@code --ttl} in seconds
   * @return it as a duration; below 0.001 (one millisecond, NaN included) refused as the server refuses
   *     {@code ttl_seconds}, so a store and a server agree (exit 2)
   */
  static Duration seconds(double s) {
    if (!(s >= 0.001)) {
      throw new IllegalArgumentException("--ttl must be at least 0.001 (one millisecond): " + s);
    }
    return Duration.ofNanos((long) (s * 1e9));
  }

  static <T> List<T> orEmpty(List<T> l) {
    return l == null ? new ArrayList<>() : l;
  }
}
