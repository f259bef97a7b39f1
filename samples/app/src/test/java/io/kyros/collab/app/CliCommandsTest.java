package io.kyros.collab.app;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

/**
 * The commands for people and scripts ({@code tasks}, {@code leases}, {@code events tail},
 * {@code log}) and their exit codes, each run twice: on a file store directly, and with
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
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = CollabCommand.commandLine();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    List<String> all = new ArrayList<>(Arrays.asList(args));
    all.addAll(Arrays.asList(where));
    int code = cl.execute(all.toArray(String[]::new));
    return new Run(code, out.toString().trim(), err.toString());
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
