package io.kyros.collab.app;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.kyros.collab.AgentSpec;
import io.kyros.collab.BatchItem;
import io.kyros.collab.BatchSpec;
import io.kyros.collab.Collab;
import io.kyros.collab.EventDraft;
import io.kyros.collab.file.FileStorage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The commands for people and scripts ({@code tasks}, {@code leases}, {@code agents},
 * {@code batches}, {@code events tail}, {@code log}) and their exit codes, each run twice: on a file store directly, and with
 * {@code --server} through a running {@link TestServer}.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class CliCommandsTest {
  @TempDir
  Path dir;
  private TestServer server;
  private String[] where;

  private void use(String mode) throws Exception {
    if (mode.equals("server")) {
      server = TestServer.start(dir.resolve("served"));
      where = new String[] {"--server", server.uri().toString()};
    } else {
      where = new String[] {"--store", "file:" + dir.resolve("store")};
    }
  }

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  /** One command line's exit code and output. */
  record Run(int code, String out, String err) {
    JsonNode json() {
      try {
        return Json.MAPPER.readTree(out);
      } catch (java.io.IOException e) {
        throw new AssertionError("not JSON: " + out, e);
      }
    }

    List<JsonNode> jsonLines() {
      List<JsonNode> out = new ArrayList<>();
      this.out.lines().forEach(l -> {
        try {
          out.add(Json.MAPPER.readTree(l));
        } catch (java.io.IOException e) {
          throw new AssertionError("not a JSON line: " + l, e);
        }
      });
      return out;
    }
  }

  private Run run(String... args) {
    CliRuns.Run r = CliRuns.run(CliRuns.with(where, args));
    return new Run(r.code(), r.out().trim(), r.err());
  }

  @ParameterizedTest
  @ValueSource(strings = {"store", "server"})
  void tasksAddListShowClaimDone(String mode) throws Exception {
    use(mode);
    Run add = run("tasks", "add", "Write the report", "--priority", "5", "--label", "docs", "--check", "draft");
    assertThat(add.code()).as(add.err()).isZero();
    String id = add.out();
    assertThat(run("tasks", "ls", "--json").jsonLines()).extracting(t -> t.get("id").asText()).containsExactly(id);
    Run ls = run("tasks", "ls", "--status", "queued");
    assertThat(ls.out()).contains(id, "queued", "Write the report");
    assertThat(run("tasks", "show", id, "--json").json().get("labels").get(0).asText()).isEqualTo("docs");
    assertThat(run("tasks", "show", id).out()).contains("title", "Write the report");

    Run claim = run("tasks", "claim", "--worker", "w1", "--label", "docs", "--json");
    assertThat(claim.code()).as(claim.err()).isZero();
    JsonNode c = claim.json();
    assertThat(c.get("task").get("id").asText()).isEqualTo(id);
    assertThat(c.get("task").get("assignee").asText()).isEqualTo("w1");
    String lockId = c.get("lock_id").asText();
    long fence = c.get("fence").asLong();

    Run nothing = run("tasks", "claim", "--worker", "w2");
    assertThat(nothing.code()).isEqualTo(ExitCodes.NOT_FOUND);
    Run stale = run("tasks", "done", id, "--fence", Long.toString(fence + 1), "--lock-id", lockId);
    assertThat(stale.code()).isEqualTo(ExitCodes.CONFLICT);
    assertThat(stale.err()).contains("stale fence");
    Run done = run("tasks", "done", id, "--fence", Long.toString(fence), "--lock-id", lockId, "--json");
    assertThat(done.code()).as(done.err()).isZero();
    assertThat(done.json().get("status").asText()).isEqualTo("done");
    assertThat(run("tasks", "done", id, "--fence", Long.toString(fence), "--lock-id", lockId).code())
        .isEqualTo(ExitCodes.CONFLICT);
  }

  /**
   * Bug: {@code tasks ls --server} read one page of 1000 tasks and exited 0, while {@code --store} listed every task.
   * Both list all of them now, the same, in creation order.
   */
  @Test
  void tasksLsListsEveryTaskThroughTheServerAsOnTheStore() throws Exception {
    use("server");
    int n = HttpBackend.PAGE + 5;
    for (int i = 0; i < n; i++) {
      server.store.collab().tasks().create(io.kyros.collab.NewTask.of("task " + i).withId(String.format("t%05d", i)));
    }
    Run served = run("tasks", "ls", "--json");
    assertThat(served.code()).as(served.err()).isZero();
    List<JsonNode> tasks = served.jsonLines();
    assertThat(tasks).hasSize(n);
    assertThat(tasks.get(n - 1).get("id").asText()).isEqualTo(String.format("t%05d", n - 1));
    assertThat(tasks).extracting(t -> t.get("id").asText()).doesNotHaveDuplicates().isSorted();
    Run text = run("tasks", "ls");
    where = new String[] {"--store", "file:" + dir.resolve("served")};
    Run direct = run("tasks", "ls");
    assertThat(direct.code()).as(direct.err()).isZero();
    assertThat(text.out()).isEqualTo(direct.out());
    assertThat(text.out().lines()).hasSize(n);
  }

  @ParameterizedTest
  @ValueSource(strings = {"store", "server"})
  void tasksReadyListsWhatClaimsWouldTakeBestFirst(String mode) throws Exception {
    use(mode);
    String low = run("tasks", "add", "Low", "--priority", "1").out();
    String high = run("tasks", "add", "High", "--priority", "5", "--label", "gpu").out();
    run("tasks", "add", "Blocked", "--priority", "9", "--depends-on", low);
    Run ready = run("tasks", "ready", "--json");
    assertThat(ready.code()).as(ready.err()).isZero();
    assertThat(ready.jsonLines()).extracting(t -> t.get("id").asText()).containsExactly(high, low);
    assertThat(run("tasks", "ready", "--label", "gpu", "--json").jsonLines()).extracting(t -> t.get("id").asText())
        .containsExactly(high);
    Run text = run("tasks", "ready", "--limit", "1");
    assertThat(text.code()).as(text.err()).isZero();
    assertThat(text.out().lines()).singleElement()
        .satisfies(l -> assertThat(l).startsWith(high).contains("gpu", "High"));
    assertThat(text.err()).contains("more are claimable: raise --limit");
    Run json = run("tasks", "ready", "--limit", "1", "--json");
    assertThat(json.jsonLines()).extracting(t -> t.get("id").asText()).containsExactly(high);
    assertThat(json.err()).contains("more are claimable");
    assertThat(run("tasks", "ready", "--limit", "2").err()).doesNotContain("more");
    assertThat(run("tasks", "ready", "--limit", "0").code()).isEqualTo(ExitCodes.USAGE);
    assertThat(run("tasks", "ready", "--label", "no spaces").code()).isEqualTo(ExitCodes.USAGE);
    Run comma = run("tasks", "ready", "--label", "gpu,cpu");
    assertThat(comma.code()).isEqualTo(ExitCodes.USAGE);
    assertThat(comma.err()).contains("--label takes one label");
    assertThat(run("tasks", "ready", "--label", "").code()).isEqualTo(ExitCodes.USAGE);
    JsonNode c = run("tasks", "claim", "--worker", "w1", "--json").json();
    assertThat(c.get("task").get("id").asText()).as("nothing was claimed by ready").isEqualTo(high);
  }

  @ParameterizedTest
  @ValueSource(strings = {"store", "server"})
  void tasksFailMoveAndTheirExitCodes(String mode) throws Exception {
    use(mode);
    String id = run("tasks", "add", "Flaky").out();
    JsonNode c = run("tasks", "claim", "--worker", "w1", "--json").json();
    Run fail = run("tasks", "fail", id, "--fence", c.get("fence").asText(), "--lock-id", c.get("lock_id").asText(),
        "--error", "tests fail", "--json");
    assertThat(fail.code()).as(fail.err()).isZero();
    assertThat(fail.json().get("attempts").asInt()).isEqualTo(1);
    assertThat(fail.json().get("last_error").asText()).isEqualTo("tests fail");

    Run invalid = run("tasks", "move", id, "review");
    assertThat(invalid.code()).isEqualTo(ExitCodes.CONFLICT);
    assertThat(invalid.err()).contains("not allowed");
    Run moved = run("tasks", "move", id, "failed");
    assertThat(moved.code()).as(moved.err()).isZero();
    assertThat(moved.out()).isEqualTo(id + " queued -> failed");

    assertThat(run("tasks", "show", "ghost").code()).isEqualTo(ExitCodes.NOT_FOUND);
    assertThat(run("tasks", "move", "ghost", "done").code()).isEqualTo(ExitCodes.NOT_FOUND);
    assertThat(run("tasks", "add").code()).isEqualTo(ExitCodes.USAGE);
    assertThat(run("tasks", "add", "x", "--priority", "high").code()).isEqualTo(ExitCodes.USAGE);
    assertThat(run("tasks", "claim", "--worker", "w", "--ttl", "-1").code()).isEqualTo(ExitCodes.USAGE);
    assertThat(run("tasks", "add", "x", "--depends-on", "ghost").code()).isEqualTo(ExitCodes.CONFLICT);
  }

  @ParameterizedTest
  @ValueSource(strings = {"store", "server"})
  void leasesAcquireListReleaseReclaim(String mode) throws Exception {
    use(mode);
    Run got = run("leases", "acquire", "reports/daily", "--holder", "alice", "--ttl", "60", "--json");
    assertThat(got.code()).as(got.err()).isZero();
    String lockId = got.json().get("lock_id").asText();
    Run held = run("leases", "acquire", "reports/daily", "--holder", "bob");
    assertThat(held.code()).isEqualTo(ExitCodes.CONFLICT);
    assertThat(held.err()).contains("alice");
    assertThat(run("leases", "ls", "--json").jsonLines()).singleElement()
        .satisfies(l -> assertThat(l.get("holder").asText()).isEqualTo("alice"));
    assertThat(run("leases", "ls").out()).contains(lockId, "alice", "reports/daily");

    assertThat(run("leases", "release", lockId).code()).isZero();
    assertThat(run("leases", "release", lockId).code()).isEqualTo(ExitCodes.NOT_FOUND);
    assertThat(run("leases", "ls", "--json").out()).isEmpty();
    Run reclaim = run("leases", "reclaim", "--json");
    assertThat(reclaim.code()).isZero();
    assertThat(reclaim.json().get("leases")).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(strings = {"store", "server"})
  void eventsTailAndLog(String mode) throws Exception {
    use(mode);
    String id = run("tasks", "add", "Logged").out();
    run("leases", "acquire", "x", "--holder", "carol");
    Run tail = run("events", "tail", "--json", "--type", "task_created");
    assertThat(tail.jsonLines()).singleElement().satisfies(e -> {
      assertThat(e.get("event").asText()).isEqualTo("task_created");
      assertThat(e.get("target").asText()).isEqualTo("tasks/" + id);
    });
    assertThat(run("events", "tail").out().lines()).hasSize(2);
    long last = run("events", "tail", "--json").jsonLines().get(1).get("id").asLong();

    // -f follows: it prints the next event, appended after it started waiting (or before: it starts after `last`)
    CompletableFuture<Run> follow = CompletableFuture.supplyAsync(
        () -> run("events", "tail", "-f", "--after", Long.toString(last), "--count", "1", "--json"));
    String next = run("tasks", "add", "Followed").out();
    Run followed = follow.join();
    assertThat(followed.code()).isZero();
    assertThat(followed.jsonLines()).singleElement()
        .satisfies(e -> assertThat(e.get("target").asText()).isEqualTo("tasks/" + next));

    Run log = run("log");
    assertThat(log.code()).isZero();
    assertThat(log.out()).contains("created task", id, "carol");
    assertThat(run("log", "--json").json().get("markdown").asText()).contains(next);
  }

  /**
   * Appends {@code count} events to the store the commands use (the server's, or the directory), 500 per commit:
   * {@code noise} ones, and a {@code rare} one at each position in {@code rareAt}.
   */
  private void appendEvents(int count, List<Integer> rareAt) throws Exception {
    List<EventDraft> drafts = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      drafts.add(EventDraft.of(rareAt.contains(i) ? "rare" : "noise", "things/" + i, java.util.Map.of("i", i)));
    }
    if (server != null) {
      for (int i = 0; i < count; i += 500) {
        server.store.collab().events().appendAll(drafts.subList(i, Math.min(count, i + 500)));
      }
      return;
    }
    try (FileStorage storage = FileStorage.open(dir.resolve("store"));
        Collab collab = Collab.builder().storage(storage).holder("seed").build()) {
      for (int i = 0; i < count; i += 500) {
        collab.events().appendAll(drafts.subList(i, Math.min(count, i + 500)));
      }
    }
  }

  /**
   * Bug: {@code events tail --type T} (no {@code --after}) started {@code --limit} events before the log's end
   * counted over every type, then filtered, so older events of the type were never shown: it printed one of the
   * seven {@code task_created} events of a store, and nothing here.
   */
  @ParameterizedTest
  @ValueSource(strings = {"store", "server"})
  void theLatestEventsOfATypeAreTheNewestOfThatTypeHoweverFarBack(String mode) throws Exception {
    use(mode);
    appendEvents(4_500, List.of(100, 1_500, 3_000, 4_400));
    Run tail = run("events", "tail", "--json", "--type", "rare", "--limit", "3");
    assertThat(tail.code()).as(tail.err()).isZero();
    assertThat(tail.jsonLines()).extracting(e -> e.at("/details/i").asInt()).containsExactly(1_500, 3_000, 4_400);
    assertThat(run("events", "tail", "--json", "--type", "rare", "--limit", "10").jsonLines()).hasSize(4);
    assertThat(run("events", "tail", "--json", "--type", "none,rare", "--limit", "3").jsonLines())
        .extracting(e -> e.at("/details/i").asInt()).as("a comma list, as the server reads it")
        .containsExactly(1_500, 3_000, 4_400);
    assertThat(run("events", "tail", "--json", "--type", "none").out()).isEmpty();
    assertThat(run("events", "tail", "--json", "--limit", "2").jsonLines())
        .extracting(e -> e.at("/details/i").asInt()).containsExactly(4_498, 4_499);
  }

  /**
   * Bug: {@code events tail} without {@code --after} found the log's end by reading the whole log from its start,
   * 1,000 events a request: eight requests here, refused by a server allowing a burst of four, and on any
   * server a cost that grew with the log. It now asks for the last id, reads back one window, and reads the events
   * from there to the end (a full page, then an empty one): four requests however long the log.
   */
  @Test
  void theLatestEventsCostFourRequestsHoweverLongTheLog() throws Exception {
    server = TestServer.start(dir.resolve("limited"), b -> b.rateLimit(0.01, 4));
    where = new String[] {"--server", server.uri().toString()};
    appendEvents(4_500, List.of());
    Run tail = run("events", "tail", "--json", "--limit", "5");
    assertThat(tail.code()).as(tail.err()).isZero();
    assertThat(tail.jsonLines()).extracting(e -> e.at("/details/i").asInt())
        .containsExactly(4_495, 4_496, 4_497, 4_498, 4_499);
    Run refused = run("events", "tail", "--json", "--limit", "5");
    assertThat(refused.code()).as("the burst is spent: the limit is real").isEqualTo(ExitCodes.RATE_LIMITED);
    assertThat(refused.err()).contains("rate limit").containsPattern("retry in \\d+ s");
  }

  /** Bug: a label given twice failed {@code tasks add} on a store ("duplicate element") but not through the server. */
  @ParameterizedTest
  @ValueSource(strings = {"store", "server"})
  void aLabelGivenTwiceCountsOnce(String mode) throws Exception {
    use(mode);
    Run add = run("tasks", "add", "Twice", "--label", "a", "--label", "b", "--label", "a");
    assertThat(add.code()).as(add.err()).isZero();
    assertThat(run("tasks", "show", add.out(), "--json").json().get("labels"))
        .extracting(JsonNode::asText).containsExactlyInAnyOrder("a", "b");
  }

  /**
   * Bug: {@code events tail -f --after N} past the log's end on a store waited for event N and then skipped the events
   * up to it (the server answers 409 there). Now both refuse it, naming the last id, exit 1.
   */
  @ParameterizedTest
  @ValueSource(strings = {"store", "server"})
  void eventsTailAfterThePastTheEndOfTheLogIsAConflict(String mode) throws Exception {
    use(mode);
    run("tasks", "add", "Logged");
    List<JsonNode> events = run("events", "tail", "--json").jsonLines();
    long last = events.get(events.size() - 1).get("id").asLong();
    String past = Long.toString(last + 3);
    Run read = run("events", "tail", "--after", past);
    assertThat(read.code()).as(read.out()).isEqualTo(ExitCodes.CONFLICT);
    assertThat(read.err()).contains("after=" + past + " is past the end of the event log",
        "the last event id is " + last);
    Run follow = CompletableFuture.supplyAsync(() -> run("events", "tail", "-f", "--after", past, "--count", "1"))
        .get(1, TimeUnit.MINUTES);
    assertThat(follow.code()).as(follow.out()).isEqualTo(ExitCodes.CONFLICT);
    assertThat(follow.err()).contains("is past the end of the event log");
    Run atEnd = run("events", "tail", "--after", Long.toString(last));
    assertThat(atEnd.code()).as(atEnd.err()).isZero();
    assertThat(atEnd.out()).isEmpty();
  }

  /** Registers agent builder-1 and submits batch b1 of two items, on the store or through the server. */
  private void seedAgentAndBatch(String mode) {
    if (mode.equals("server")) {
      Http http = new Http(server.uri());
      assertThat(http.post("/collab/agents", "{\"id\": \"builder-1\", \"role\": \"builder\", \"skills\": [\"java\"]}")
          .statusCode()).isEqualTo(201);
      assertThat(http.post("/collab/batches", "{\"id\": \"b1\", \"label\": \"convert\", \"items\": "
          + "[{\"id\": \"a\"}, {\"id\": \"b\"}], \"concurrency\": 1}").statusCode()).isEqualTo(201);
      return;
    }
    try (OpenStore store = OpenStore.open(StoreSpec.parse("file:" + dir.resolve("store")), null, null)) {
      store.collab().agents().register(AgentSpec.of("builder-1", "builder", "java"));
      store.collab().batches().submit(BatchSpec.builder("convert").id("b1")
          .items(List.of(BatchItem.of("a", ""), BatchItem.of("b", ""))).concurrency(1).build());
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"store", "server"})
  void agentsAndBatchesAreListedAndShown(String mode) throws Exception {
    use(mode);
    assertThat(run("agents", "ls", "--json").out()).isEmpty();
    assertThat(run("batches", "ls", "--json").out()).isEmpty();
    seedAgentAndBatch(mode);

    Run agents = run("agents", "ls", "--json");
    assertThat(agents.code()).as(agents.err()).isZero();
    assertThat(agents.jsonLines()).singleElement().satisfies(a -> {
      assertThat(a.get("id").asText()).isEqualTo("builder-1");
      assertThat(a.get("role").asText()).isEqualTo("builder");
      assertThat(a.get("status").asText()).isEqualTo("offline");
      assertThat(a.get("skills").toString()).isEqualTo("[\"java\"]");
    });
    assertThat(run("agents", "ls").out()).contains("builder-1", "offline", "builder");

    Run batches = run("batches", "ls", "--json");
    assertThat(batches.code()).as(batches.err()).isZero();
    assertThat(batches.jsonLines()).singleElement().satisfies(b -> {
      assertThat(b.get("id").asText()).isEqualTo("b1");
      assertThat(b.get("label").asText()).isEqualTo("convert");
      assertThat(b.get("progress").get("total").asInt()).isEqualTo(2);
    });
    String state = batches.jsonLines().get(0).get("state").asText();
    assertThat(run("batches", "ls").out()).contains("b1", state, "0/2", "convert");

    Run show = run("batches", "show", "b1", "--json");
    assertThat(show.code()).as(show.err()).isZero();
    assertThat(show.json().get("progress").get("queued").asInt()).isEqualTo(2);
    assertThat(show.json().get("concurrency").asInt()).isEqualTo(1);
    assertThat(show.json().get("last_event_id").asLong()).isPositive();
    assertThat(run("batches", "show", "b1").out()).contains("label", "convert", "state", state);
    Run ghost = run("batches", "show", "ghost");
    assertThat(ghost.code()).isEqualTo(ExitCodes.NOT_FOUND);
    assertThat(ghost.err()).contains("ghost");
  }

  @Test
  void anUnreachableServerOrStoreIsAStorageError(@TempDir Path tmp) throws Exception {
    where = new String[] {"--server", "http://127.0.0.1:1"};
    Run down = run("tasks", "ls");
    assertThat(down.code()).isEqualTo(ExitCodes.STORAGE);
    assertThat(down.err()).contains("cannot reach");
    Path file = Files.writeString(tmp.resolve("not-a-directory"), "x");
    where = new String[] {"--store", "file:" + file};
    assertThat(run("tasks", "ls").code()).isEqualTo(ExitCodes.STORAGE);
  }
}
