package io.kyros.collab.app;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.kyros.collab.Collab;
import io.kyros.collab.Event;
import io.kyros.collab.EventFilter;
import io.kyros.collab.file.FileStorage;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Found in review of the MCP tools: a number beyond a double's range ({@code 1e400}, read as infinite) and a ttl
 * under a nanosecond (rounded to none) failed with messages naming neither the argument nor what was sent;
 * {@code task_update} said "Nothing was written" after renewing the claim's lease when its field change was refused;
 * and the {@code lease} tool could take another agent's presence lease ({@code agents/<name>}), locking it out of
 * its name.
 */
class McpArgumentEdgesTest {
  @TempDir Path tmp;
  private static final Duration T = Duration.ofMinutes(2);

  private static String text(JsonNode answer) {
    return answer.path("result").path("content").path(0).path("text").asText();
  }

  private static boolean isError(JsonNode answer) {
    return answer.path("result").path("isError").asBoolean(false);
  }

  /** A number beyond double range (Jackson reads it as Infinity) is a tool error naming the argument. */
  @Test
  void anOverflowingNumberIsAToolErrorNamingTheArgument() throws Exception {
    try (McpWire wire = McpWire.start(tmp.resolve("store"), "alice", tmp.resolve("err.txt"))) {
      wire.initialize(1);
      JsonNode a = wire.callTool(2, "lease", "{\"action\":\"acquire\",\"resource\":\"r1\",\"ttl_seconds\":1e400}", T);
      JsonNode b = wire.callTool(3, "task_create", "{\"title\":\"x\",\"priority\":1e400}", T);
      assertThat(isError(a)).isTrue();
      assertThat(text(a)).contains("ttl_seconds");
      assertThat(isError(b)).isTrue();
      assertThat(text(b)).contains("priority");
    }
  }

  /** A positive ttl below a nanosecond becomes a zero Duration: the refusal must name ttl_seconds. */
  @Test
  void aTtlBelowOneNanosecondIsRefusedNamingTheArgument() throws Exception {
    try (McpWire wire = McpWire.start(tmp.resolve("store"), "alice", tmp.resolve("err.txt"))) {
      wire.initialize(1);
      JsonNode a = wire.callTool(2, "lease", "{\"action\":\"acquire\",\"resource\":\"r1\",\"ttl_seconds\":1e-10}", T);
      assertThat(isError(a)).isTrue();
      assertThat(text(a)).contains("ttl_seconds");
    }
  }

  /** task_update with ttl_seconds and a missing dependency: the error says nothing was written, but lease_renewed was. */
  @Test
  void aRefusedUpdateSaysNothingWasWrittenOnlyWhenTrue() throws Exception {
    Path store = tmp.resolve("store");
    try (McpWire wire = McpWire.start(store, "alice", tmp.resolve("err.txt"))) {
      wire.initialize(1);
      String id = McpWire.message(Json.write(wire.callTool(2, "task_create", "{\"title\":\"x\"}", T))).path("result")
          .path("content").path(0).path("text").asText();
      String taskId = Json.MAPPER.readTree(id).get("id").asText();
      JsonNode claim = wire.callTool(3, "task_claim", "{\"id\":\"" + taskId + "\"}", T);
      long fence = Json.MAPPER.readTree(text(claim)).get("fence").asLong();
      long before;
      try (Collab observer = Collab.builder().storage(FileStorage.open(store)).holder("observer").build()) {
        before = observer.events().lastId();
      }
      JsonNode u = wire.callTool(4, "task_update", "{\"id\":\"" + taskId + "\",\"fence\":" + fence
          + ",\"ttl_seconds\":600,\"depends_on\":[\"t-missing\"]}", T);
      assertThat(isError(u)).isTrue();
      try (Collab observer = Collab.builder().storage(FileStorage.open(store)).holder("observer").build()) {
        List<Event> written = observer.events().read(before, EventFilter.all(), 100);
        assertThat(written).extracting(Event::type).as("written by the refused update").containsExactly("lease_renewed");
        assertThat(text(u)).doesNotContain("Nothing was written").contains("The fields were not changed")
            .contains("The claim's lease was renewed first");
      }
    }
  }

  /** One agent's lease tool can take another agent's presence resource and lock it out of registering. */
  @Test
  void anotherAgentsPresenceResourceCannotBeLeased() throws Exception {
    Path store = tmp.resolve("store");
    try (McpWire alice = McpWire.start(store, "alice", tmp.resolve("a.txt"));
        McpWire bob = McpWire.start(store, "bob", tmp.resolve("b.txt"))) {
      alice.initialize(1);
      bob.initialize(1);
      JsonNode squat = alice.callTool(2, "lease", "{\"action\":\"acquire\",\"resource\":\"agents/bob\",\"ttl_seconds\":86400}", T);
      assertThat(isError(squat)).isTrue();
      assertThat(text(squat)).contains("agents/bob is an agent's presence lease");
      JsonNode reg = bob.callTool(2, "agent", "{\"action\":\"register\",\"role\":\"r\"}", T);
      assertThat(isError(reg)).as("bob registers under his own name: %s", text(reg)).isFalse();
    }
  }
}
