package io.kyros.collab.app;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.kyros.collab.Agent;
import io.kyros.collab.AgentStatus;
import io.kyros.collab.Collab;
import io.kyros.collab.Event;
import io.kyros.collab.file.FileStorage;
import io.modelcontextprotocol.spec.McpSchema;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * Two AI agents coordinate through one file store, each through its own {@code collab mcp} process
 * driven over stdio by the MCP SDK's client. The test JVM reads the same store directly to check
 * what was (or was not) written. Each test works on tasks with its own label, so the tests share the
 * two processes without seeing each other's tasks.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class McpTwoAgentsTest {
  private Path dir;
  private McpAgent alice;
  private McpAgent bob;
  private Collab observer;

  @BeforeAll
  void startTwoAgents() throws Exception {
    dir = Files.createTempDirectory("collab-mcp-");
    CompletableFuture<McpAgent> a = CompletableFuture.supplyAsync(() -> McpAgent.start(dir, "alice"));
    CompletableFuture<McpAgent> b = CompletableFuture.supplyAsync(() -> McpAgent.start(dir, "bob"));
    alice = a.join();
    bob = b.join();
    observer = Collab.builder().storage(FileStorage.open(dir)).holder("observer").build();
  }

  @AfterAll
  void stop() {
    if (alice != null) {
      alice.close();
    }
    if (bob != null) {
      bob.close();
    }
    if (observer != null) {
      observer.close();
    }
  }

  @Test
  void bothAgentsSeeTheSameReadyListBestFirst() {
    String low = alice.call("task_create", Map.of("title", "low", "priority", 1, "labels", List.of("ready")))
        .get("id").asText();
    String high = alice.call("task_create", Map.of("title", "high", "priority", 9, "labels", List.of("ready")))
        .get("id").asText();
    String blocked = bob.call("task_create", Map.of("title", "after high", "priority", 20,
        "labels", List.of("ready"), "depends_on", List.of(high))).get("id").asText();

    JsonNode seenByAlice = alice.call("tasks_ready", Map.of("labels", List.of("ready")));
    JsonNode seenByBob = bob.call("tasks_ready", Map.of("labels", List.of("ready")));
    assertThat(ids(seenByAlice)).containsExactly(high, low).doesNotContain(blocked);
    assertThat(seenByBob).isEqualTo(seenByAlice);
    assertThat(seenByAlice.has("more")).as("no more than the limit").isFalse();
    JsonNode best = bob.call("tasks_ready", Map.of("labels", List.of("ready"), "limit", 1));
    assertThat(ids(best)).containsExactly(high);
    assertThat(best.get("more").asBoolean()).as("one more is claimable").isTrue();
  }

  @Test
  void whenBothClaimEachTaskHasOneWinnerAndTheOtherGetsTheNext() {
    Set<String> created = new HashSet<>();
    for (int i = 0; i < 4; i++) {
      created.add(alice.call("task_create", Map.of("title", "race " + i, "labels", List.of("race"))).get("id").asText());
    }
    List<CompletableFuture<JsonNode>> claims = new ArrayList<>();
    for (McpAgent agent : List.of(alice, bob, alice, bob)) {
      claims.add(CompletableFuture.supplyAsync(() -> agent.call("task_claim", Map.of("labels", List.of("race")))));
    }
    Set<String> won = new HashSet<>();
    Set<Long> fences = new HashSet<>();
    for (CompletableFuture<JsonNode> c : claims) {
      JsonNode claim = c.join();
      assertThat(claim.get("id")).as("every claim got a task while tasks were left").isNotNull();
      assertThat(won.add(claim.get("id").asText())).as("task %s claimed twice", claim.get("id")).isTrue();
      fences.add(claim.get("fence").asLong());
    }
    assertThat(won).isEqualTo(created);
    assertThat(alice.call("task_claim", Map.of("labels", List.of("race"))).get("task").isNull()).isTrue();
    // each claim's events name the agent that made it
    Map<String, String> claimedBy = new java.util.HashMap<>();
    for (Event e : observer.events().read(0, 10_000)) {
      if (e.type().equals("task_claimed") && created.contains(e.details().get("id").asText())) {
        assertThat(e.actor()).isIn("alice", "bob");
        assertThat(claimedBy.put(e.details().get("id").asText(), e.actor())).isNull();
      }
    }
    assertThat(claimedBy.keySet()).isEqualTo(created);
  }

  @Test
  void aStaleFenceIsAToolErrorNamingTheCurrentHolder() {
    String id = alice.call("task_create", Map.of("title", "contested", "labels", List.of("stale"))).get("id").asText();
    JsonNode first = alice.call("task_claim", Map.of("labels", List.of("stale")));
    assertThat(alice.call("task_finish", Map.of("id", id, "fence", first.get("fence").asLong(), "outcome", "released"))
        .get("status").asText()).isEqualTo("queued");
    JsonNode second = bob.call("task_claim", Map.of("id", id));
    assertThat(second.get("fence").asLong()).isGreaterThan(first.get("fence").asLong());
    long before = observer.events().lastId();

    String error = alice.error("task_finish", Map.of("id", id, "fence", first.get("fence").asLong(), "outcome", "done"));
    assertThat(error).contains("stale fence " + first.get("fence").asLong(), "claimed by bob",
        "fence " + second.get("fence").asLong(), "task_claim");
    String heartbeat = alice.error("task_update", Map.of("id", id, "fence", first.get("fence").asLong()));
    assertThat(heartbeat).contains("stale fence", "bob");
    assertThat(observer.events().lastId()).isEqualTo(before);
    assertThat(observer.tasks().get(id).orElseThrow().assignee()).isEqualTo("bob");

    JsonNode done = bob.call("task_finish", Map.of("id", id, "fence", second.get("fence").asLong(), "outcome", "done"));
    assertThat(done.get("status").asText()).isEqualTo("done");
  }

  @Test
  void aWaitReturnsWhenTheOtherAgentAppendsAnEvent() {
    long after = observer.events().lastId();
    CompletableFuture<JsonNode> waiting = CompletableFuture.supplyAsync(() -> bob.call("events",
        Map.of("after", after, "types", List.of("task_created"), "wait_seconds", 60)));
    String id = alice.call("task_create", Map.of("title", "wake bob", "labels", List.of("wake"))).get("id").asText();

    JsonNode got = waiting.join();
    // a wait that timed out answers no events: getting alice's event proves the wait ended on it
    assertThat(got.get("events")).hasSize(1);
    JsonNode event = got.get("events").get(0);
    assertThat(event.get("event").asText()).isEqualTo("task_created");
    assertThat(event.get("actor").asText()).isEqualTo("alice");
    assertThat(event.get("target").asText()).isEqualTo("tasks/" + id);
    assertThat(got.get("next_after").asLong()).isEqualTo(event.get("id").asLong());
  }

  @Test
  void aLeaseHeldByOneBlocksTheOtherUntilReleased() {
    JsonNode held = alice.call("lease", Map.of("action", "acquire", "resource", "src/Main.java", "ttl_seconds", 300));
    String refused = bob.error("lease", Map.of("action", "acquire", "resource", "src/Main.java"));
    assertThat(refused).contains("held by alice", "fence " + held.get("fence").asLong(), "wait_seconds");
    assertThat(bob.call("lease", Map.of("action", "inspect", "resource", "src/Main.java")).get("holder").asText())
        .isEqualTo("alice");

    assertThat(alice.call("lease", Map.of("action", "release", "resource", "src/Main.java",
        "fence", held.get("fence").asLong())).get("released").asBoolean()).isTrue();
    JsonNode bobs = bob.call("lease", Map.of("action", "acquire", "resource", "src/Main.java"));
    assertThat(bobs.get("holder").asText()).isEqualTo("bob");
    assertThat(bobs.get("fence").asLong()).isGreaterThan(held.get("fence").asLong());
    assertThat(bob.call("lease", Map.of("action", "renew", "resource", "src/Main.java", "fence",
        bobs.get("fence").asLong(), "ttl_seconds", 600)).get("ttl_seconds").asDouble()).isEqualTo(600.0);
    assertThat(alice.error("lease", Map.of("action", "release", "resource", "src/Main.java",
        "fence", held.get("fence").asLong()))).contains("stale fence", "held by bob");
  }

  @Test
  void aLeaseHeldByOneBlocksTheOtherUntilItExpires() {
    JsonNode held = alice.call("lease", Map.of("action", "acquire", "resource", "docs/", "ttl_seconds", 2));
    assertThat(bob.error("lease", Map.of("action", "acquire", "resource", "docs/"))).contains("held by alice");
    // alice never renews: bob's acquire waits (in the server, up to 60 s) until the lease expires, then takes it
    JsonNode bobs = bob.call("lease", Map.of("action", "acquire", "resource", "docs/", "wait_seconds", 60));
    assertThat(bobs.get("holder").asText()).isEqualTo("bob");
    assertThat(bobs.get("fence").asLong()).isGreaterThan(held.get("fence").asLong());
    assertThat(observer.events().read(0, 10_000)).anySatisfy(e -> {
      assertThat(e.type()).isEqualTo("lease_reclaimed");
      assertThat(e.actor()).isEqualTo("bob");
      assertThat(e.details().get("previousHolder").asText()).isEqualTo("alice");
    });
  }

  @Test
  void malformedArgumentsAreToolErrorsAndWriteNothing() {
    String id = alice.call("task_create", Map.of("title", "target", "labels", List.of("malformed"),
        "checklist", List.of("one"))).get("id").asText();
    long fence = alice.call("task_claim", Map.of("id", id)).get("fence").asLong();
    long before = observer.events().lastId();

    // missing fields
    assertThat(alice.error("task_finish", Map.of("id", id))).contains("fence");
    assertThat(alice.error("task_create", Map.of())).contains("title");
    // wrong types
    assertThat(alice.error("task_finish", Map.of("id", id, "fence", "seven", "outcome", "done"))).contains("fence");
    assertThat(alice.error("task_create", Map.of("title", 42))).contains("title");
    assertThat(alice.error("task_claim", Map.of("ttl_seconds", "long"))).contains("ttl_seconds");
    assertThat(alice.error("lease", Map.of("action", "grab", "resource", "x"))).contains("action");
    // unknown task, unknown argument, unknown dependency
    assertThat(alice.error("task_finish", Map.of("id", "ghost", "fence", 1, "outcome", "done")))
        .contains("task ghost does not exist", "Nothing was written");
    assertThat(alice.error("task_get", Map.of("id", "ghost"))).contains("does not exist");
    assertThat(alice.error("task_update", Map.of("id", id, "fence", fence, "colour", "red")))
        .contains("unknown argument 'colour'");
    assertThat(alice.error("task_create", Map.of("title", "orphan", "depends_on", List.of("ghost"))))
        .contains("missing task ghost");
    // invalid transitions, bad checklist item, bad ttl
    assertThat(alice.error("task_update", Map.of("id", id, "fence", fence, "to", "approved")))
        .contains("claimed -> approved is not allowed", "allowed from claimed");
    assertThat(alice.error("task_update", Map.of("id", id, "fence", fence, "to", "nonsense"))).contains("nonsense");
    assertThat(alice.error("task_update", Map.of("id", id, "fence", fence, "check", List.of(3))))
        .contains("checklist item 3 does not exist");
    assertThat(alice.error("task_update", Map.of("id", id, "fence", fence, "ttl_seconds", -5))).contains("ttl_seconds");

    assertThat(observer.events().lastId()).as("events written by refused calls").isEqualTo(before);
    assertThat(observer.tasks().get(id).orElseThrow().status()).isEqualTo("claimed");

    // the same claim still works, and every step is recorded with alice as actor
    JsonNode moved = alice.call("task_update", Map.of("id", id, "fence", fence, "to", "in_progress", "check", List.of(0)));
    assertThat(moved.get("status").asText()).isEqualTo("in_progress");
    assertThat(observer.events().read(before, 100)).isNotEmpty().allSatisfy(e -> assertThat(e.actor()).isEqualTo("alice"));
  }

  @Test
  void agentsRegisterAndHeartbeatAndTheResourcesShowBoardAndLog() {
    assertThat(bob.error("agent", Map.of("action", "heartbeat"))).contains("register");
    JsonNode reg = bob.call("agent", Map.of("action", "register", "role", "reviewer", "skills", List.of("java", "docs")));
    assertThat(reg.get("agent").asText()).isEqualTo("bob");
    JsonNode beat = bob.call("agent", Map.of("action", "heartbeat"));
    assertThat(beat.get("fence").asLong()).isEqualTo(reg.get("fence").asLong());
    // bob is in core's agent registry, online through the presence lease the tool took
    Agent registered = observer.agents().get("bob").orElseThrow();
    assertThat(registered.role()).isEqualTo("reviewer");
    assertThat(registered.skills()).containsExactly("docs", "java");
    // online: available, or busy if bob still holds a claim from another test of this class
    assertThat(registered.status()).isIn(AgentStatus.AVAILABLE, AgentStatus.BUSY);
    assertThat(reg.get("status").asText()).isEqualTo(registered.status().wireName());
    // registering again keeps the role when none is given and renews the same presence
    JsonNode again = bob.call("agent", Map.of("action", "register", "skills", List.of("java")));
    assertThat(again.get("role").asText()).isEqualTo("reviewer");
    assertThat(again.get("fence").asLong()).isEqualTo(reg.get("fence").asLong());
    assertThat(observer.agents().get("bob").orElseThrow().skills()).containsExactly("java");
    assertThat(alice.error("agent", Map.of("action", "register"))).contains("role is required");
    assertThat(observer.agents().get("alice")).isEmpty();

    String id = bob.call("task_create", Map.of("title", "on the board", "labels", List.of("board"))).get("id").asText();
    McpSchema.ReadResourceResult board = bob.client.readResource(new McpSchema.ReadResourceRequest("collab://board"));
    String md = ((McpSchema.TextResourceContents) board.contents().get(0)).text();
    assertThat(md).contains("## queued", "`" + id + "` on the board");
    McpSchema.ReadResourceResult log = alice.client.readResource(new McpSchema.ReadResourceRequest("collab://log"));
    assertThat(((McpSchema.TextResourceContents) log.contents().get(0)).text()).contains("bob");
    assertThat(alice.text("log", Map.of("limit", 5))).contains("bob");
    assertThat(alice.client.listResources().resources()).extracting(McpSchema.Resource::uri)
        .containsExactlyInAnyOrder("collab://board", "collab://log");
  }

  /**
   * Bug: events {after} past the log's end answered an empty page whose next_after skipped the events that then took
   * those ids; the HTTP API answers 409 there. On this directory store it is a tool error naming both ids, at once
   * even with wait_seconds, and writes nothing.
   */
  @Test
  void eventsAfterThePastTheEndOfTheLogIsAToolErrorNamingTheLastId() {
    long last = observer.events().lastId();
    String error = alice.error("events", Map.of("after", last + 5, "wait_seconds", 60));
    assertThat(error).contains("after " + (last + 5) + " is past the end of the event log",
        "the last event id is " + last);
    assertThat(observer.events().lastId()).isEqualTo(last);
    // the last id itself is a position in the log: an empty page that stays there
    JsonNode atEnd = alice.call("events", Map.of("after", last));
    assertThat(atEnd.get("events")).isEmpty();
    assertThat(atEnd.get("next_after").asLong()).isEqualTo(last);
  }

  /**
   * Bug: events without {@code after} started {@code limit} events before the log's end counted over every type, then
   * filtered: {@code types: [task_created], limit: 2} answered nothing while the log held task_created events.
   */
  @Test
  void theLatestEventsOfATypeAreTheNewestOfThatType() {
    List<io.kyros.collab.EventDraft> noise = new java.util.ArrayList<>();
    for (int i = 0; i < 1_500; i++) {
      noise.add(io.kyros.collab.EventDraft.of("noise", "things/" + i, Map.of()));
    }
    String first = alice.call("task_create", Map.of("title", "first")).get("id").asText();
    observer.events().appendAll(noise);
    String second = alice.call("task_create", Map.of("title", "second")).get("id").asText();
    observer.events().appendAll(noise);
    JsonNode latest = alice.call("events", Map.of("types", List.of("task_created"), "limit", 2));
    assertThat(latest.get("events")).extracting(e -> e.get("target").asText())
        .containsExactly("tasks/" + first, "tasks/" + second);
    assertThat(latest.get("next_after").asLong()).as("the log's end was read").isEqualTo(observer.events().lastId());
    assertThat(alice.call("events", Map.of("types", List.of("task_created"), "limit", 1)).get("events"))
        .extracting(e -> e.get("target").asText()).containsExactly("tasks/" + second);
    assertThat(alice.call("events", Map.of("limit", 3)).get("events")).extracting(e -> e.get("event").asText())
        .containsExactly("noise", "noise", "noise");
  }

  /** Bug: a label given twice failed the call ("duplicate element"); the HTTP API takes it once, and so do the tools now. */
  @Test
  void aLabelGivenTwiceCountsOnceInCreateAndUpdate() {
    JsonNode created = alice.call("task_create", Map.of("title", "twice", "labels", List.of("dup", "dup")));
    String id = created.get("id").asText();
    assertThat(created.get("labels")).extracting(JsonNode::asText).containsExactly("dup");
    long fence = alice.call("task_claim", Map.of("id", id)).get("fence").asLong();
    alice.call("task_update", Map.of("id", id, "fence", fence, "labels", List.of("dup", "more", "dup", "more")));
    assertThat(observer.tasks().get(id).orElseThrow().labels()).containsExactlyInAnyOrder("dup", "more");
    alice.call("task_finish", Map.of("id", id, "fence", fence, "outcome", "done"));
  }

  /** Bug: a taken id was "precondition failed ... read it again and retry", which can never succeed. */
  @Test
  void aTakenIdIsAToolErrorSayingToChooseAnother() {
    String id = alice.call("task_create", Map.of("title", "first", "id", "taken-id", "labels", List.of("taken")))
        .get("id").asText();
    long before = observer.events().lastId();
    String error = bob.error("task_create", Map.of("title", "second", "id", id));
    assertThat(error).contains("task id taken", id, "status queued", "choose another id", "leave it out",
        "Nothing was written").doesNotContainIgnoringCase("retry");
    assertThat(observer.events().lastId()).isEqualTo(before);
    assertThat(observer.tasks().get(id).orElseThrow().title()).isEqualTo("first");
  }

  private static List<String> ids(JsonNode ready) {
    List<String> out = new ArrayList<>();
    ready.get("tasks").forEach(t -> out.add(t.get("id").asText()));
    return out;
  }
}
