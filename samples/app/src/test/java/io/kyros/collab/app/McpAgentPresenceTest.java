package io.kyros.collab.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import com.fasterxml.jackson.databind.JsonNode;
import io.kyros.collab.AgentStatus;
import io.kyros.collab.Collab;
import io.kyros.collab.Event;
import io.kyros.collab.file.FileStorage;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code agent} tool across sessions of {@code collab mcp} on one file store: what a session
 * gives back when it ends, and what a second {@code register} keeps. The test JVM reads the store
 * directly to see the agent's status.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class McpAgentPresenceTest {
  private static final Duration WAIT = Duration.ofMinutes(2);

  /**
   * Bug: a session that ended kept the agent's presence lease until its ttl, so the agent was listed available and a
   * new session under the same name was refused "in use by another live session". Now the session gives it back
   * when the client closes stdin, and when the process is stopped.
   */
  @Test
  void anEndedSessionGivesThePresenceBackSoTheSameAgentRegistersAgainAtOnce(@TempDir Path tmp) throws Exception {
    Path store = tmp.resolve("store");
    try (McpWire first = McpWire.start(store, "dora", tmp.resolve("first-stderr.txt"))) {
      first.initialize(1);
      JsonNode reg = first.callTool(2, "agent", "{\"action\":\"register\",\"role\":\"implementer\","
          + "\"skills\":[\"java\"],\"ttl_seconds\":600}", WAIT);
      assertThat(reg.get("result").get("isError").asBoolean()).as(reg.toString()).isFalse();
      assertThat(first.closeStdinAndWait(WAIT)).as("the server exits when stdin closes").isTrue();
      assertThat(first.process.exitValue()).isZero();
    }
    try (Collab observer = Collab.builder().storage(FileStorage.open(store)).holder("observer").build()) {
      // its presence lease had ten minutes left: the session gave it back
      assertThat(observer.agents().get("dora").orElseThrow().status()).isEqualTo(AgentStatus.OFFLINE);
      assertThat(observer.leases().get("agents/dora")).isEmpty();
      assertThat(observer.events().read(0, 1000)).filteredOn(e -> e.type().equals("agent_status_changed"))
          .extracting(Event::actor, e -> e.details().get("newStatus").asText(), e -> e.details().get("reason").asText())
          .containsExactly(tuple("dora", "available", "joined"), tuple("dora", "offline", "left"));

      McpAgent second = McpAgent.start(store, "dora");
      try {
        JsonNode again = second.call("agent", Map.of("action", "register"));
        assertThat(again.get("role").asText()).isEqualTo("implementer");
        assertThat(again.get("status").asText()).isEqualTo("available");
        assertThat(observer.agents().get("dora").orElseThrow().status()).isEqualTo(AgentStatus.AVAILABLE);
      } finally {
        second.close(); // the SDK's client stops the process (SIGTERM)
      }
      Await.until(Duration.ofMinutes(1),
          () -> observer.agents().get("dora").orElseThrow().status() == AgentStatus.OFFLINE);
    }
  }

  /** Bug: register without skills erased the registered skills; now it keeps them, as it keeps the role. */
  @Test
  void registerWithoutSkillsKeepsTheRegisteredOnes(@TempDir Path tmp) {
    McpAgent erin = McpAgent.start(tmp.resolve("store"), "erin");
    try {
      erin.call("agent", Map.of("action", "register", "role", "reviewer", "skills", List.of("java", "docs")));
      JsonNode again = erin.call("agent", Map.of("action", "register"));
      assertThat(again.get("role").asText()).isEqualTo("reviewer");
      assertThat(again.get("skills")).extracting(JsonNode::asText).containsExactly("docs", "java");
      JsonNode newRole = erin.call("agent", Map.of("action", "register", "role", "implementer"));
      assertThat(newRole.get("role").asText()).isEqualTo("implementer");
      assertThat(newRole.get("skills")).extracting(JsonNode::asText).containsExactly("docs", "java");
      // given, they replace the registered ones; an empty list clears them
      assertThat(erin.call("agent", Map.of("action", "register", "skills", List.of("go", "go"))).get("skills"))
          .extracting(JsonNode::asText).containsExactly("go");
      assertThat(erin.call("agent", Map.of("action", "register", "skills", List.of())).get("skills")).isEmpty();
    } finally {
      erin.close();
    }
  }
}
