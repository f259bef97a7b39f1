package io.kyros.collab.app;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.McpSyncClient;
import io.modelcontextprotocol.client.transport.ServerParameters;
import io.modelcontextprotocol.client.transport.StdioClientTransport;
import io.modelcontextprotocol.json.jackson2.JacksonMcpJsonMapper;
import io.modelcontextprotocol.spec.McpSchema;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * One agent for the MCP tests: a {@code collab mcp} server process (this JVM's java, the test
 * classpath, {@link Main}) on a file store, driven over stdio by the MCP SDK's own client. Close it
 * after the test (the client stops the process).
 */
final class McpAgent implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  final String name;
  final McpSyncClient client;
  /** the server process's stderr lines, as they arrive */
  final List<String> stderr;

  private McpAgent(String name, McpSyncClient client, List<String> stderr) {
    this.name = name;
    this.client = client;
    this.stderr = stderr;
  }

  /** @return the command line that starts {@code collab mcp} in a new JVM on the test classpath */
  static List<String> command(Path store, String agent) {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    return List.of(java, "-XX:TieredStopAtLevel=1", "-cp", cp, Main.class.getName(), "mcp",
        "--store", "file:" + store, "--agent", agent);
  }

  /**
   * Starts the server process and initializes the session.
   *
   * @param store the file store's directory
   * @param agent the agent's name
   * @return the connected agent
   */
  static McpAgent start(Path store, String agent) {
    List<String> cmd = command(store, agent);
    ServerParameters params = ServerParameters.builder(cmd.get(0)).args(cmd.subList(1, cmd.size())).build();
    StdioClientTransport transport = new StdioClientTransport(params, new JacksonMcpJsonMapper(new ObjectMapper()));
    List<String> err = new CopyOnWriteArrayList<>();
    transport.setStdErrorHandler(err::add);
    // generous: two JVMs start on a shared, busy machine, and events may wait up to 60 s
    McpSyncClient client = McpClient.sync(transport).requestTimeout(Duration.ofSeconds(180))
        .initializationTimeout(Duration.ofSeconds(180)).build();
    client.initialize();
    return new McpAgent(agent, client, err);
  }

  /** Calls a tool that must succeed; returns its JSON answer. */
  JsonNode call(String tool, Map<String, Object> args) {
    McpSchema.CallToolResult r = raw(tool, args);
    assertThat(r.isError()).as("%s %s answered an error: %s", tool, args, text(r)).isNotEqualTo(Boolean.TRUE);
    try {
      return JSON.readTree(text(r));
    } catch (java.io.IOException e) {
      throw new AssertionError(tool + " did not answer JSON: " + text(r), e);
    }
  }

  /** Calls a tool that must fail with a tool error; returns its message. */
  String error(String tool, Map<String, Object> args) {
    McpSchema.CallToolResult r = raw(tool, args);
    assertThat(r.isError()).as("%s %s should fail but answered %s", tool, args, text(r)).isTrue();
    return text(r);
  }

  /** Calls a tool whose answer is text (the log). */
  String text(String tool, Map<String, Object> args) {
    McpSchema.CallToolResult r = raw(tool, args);
    assertThat(r.isError()).as("%s answered an error: %s", tool, text(r)).isNotEqualTo(Boolean.TRUE);
    return text(r);
  }

  McpSchema.CallToolResult raw(String tool, Map<String, Object> args) {
    return client.callTool(new McpSchema.CallToolRequest(tool, args));
  }

  static String text(McpSchema.CallToolResult r) {
    assertThat(r.content()).hasSize(1);
    return ((McpSchema.TextContent) r.content().get(0)).text();
  }

  @Override
  public void close() {
    client.closeGracefully();
  }
}
