package io.kyros.collab.app;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A {@code collab mcp} server process spoken to with raw lines on its stdin: for what the SDK's
 * client never sends (lines that are not JSON-RPC messages) and for closing stdin on purpose. Every
 * line the server writes on stdout is kept ({@link #stdout}) and must be a JSON-RPC 2.0 message.
 * Waits are bounded: a line that does not come within the timeout fails the test.
 */
final class McpWire implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String END = "\u0000end of stdout";

  final Process process;
  /** every stdout line read so far, in order */
  final List<String> stdout = new CopyOnWriteArrayList<>();
  private final OutputStream in;
  private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();

  private McpWire(Process process) {
    this.process = process;
    this.in = process.getOutputStream();
    Thread reader = new Thread(() -> {
      try (BufferedReader out = new BufferedReader(
          new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line = out.readLine(); line != null; line = out.readLine()) {
          stdout.add(line);
          lines.add(line);
        }
      } catch (IOException e) {
        // the process is gone: the end of stdout
      } finally {
        lines.add(END);
      }
    }, "mcp-wire-stdout");
    reader.setDaemon(true);
    reader.start();
  }

  /** Starts {@code collab mcp} on a file store, its stderr to a file. */
  static McpWire start(Path store, String agent, Path stderr) throws IOException {
    return new McpWire(new ProcessBuilder(McpAgent.command(store, agent)).redirectError(stderr.toFile()).start());
  }

  /** The initialize handshake. */
  void initialize(int id) throws IOException {
    send("{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
        + "\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":\"wire-test\",\"version\":\"1\"}}}");
    assertThat(answer(id, Duration.ofMinutes(2)).has("result")).isTrue();
    send("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
  }

  /** Calls a tool; returns the JSON-RPC answer. */
  JsonNode callTool(int id, String tool, String argumentsJson, Duration timeout) throws IOException {
    send("{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/call\",\"params\":{\"name\":\"" + tool
        + "\",\"arguments\":" + argumentsJson + "}}");
    return answer(id, timeout);
  }

  void send(String line) throws IOException {
    sendRaw((line + "\n").getBytes(StandardCharsets.UTF_8));
  }

  void sendRaw(byte[] bytes) throws IOException {
    in.write(bytes);
    in.flush();
  }

  /** Reads stdout until the message with this id; the lines before it stay in {@link #stdout}. */
  JsonNode answer(int id, Duration timeout) {
    while (true) {
      JsonNode m = next(timeout, "the answer to id " + id);
      if (m.path("id").isInt() && m.get("id").asInt() == id) {
        return m;
      }
    }
  }

  /** @return the next message on stdout, parsed; fails if none comes within the timeout */
  JsonNode next(Duration timeout, String waitingFor) {
    String line;
    try {
      line = lines.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted waiting for " + waitingFor, e);
    }
    assertThat(line).as("%s within %s", waitingFor, timeout).isNotNull();
    assertThat(line).as("stdout ended before %s", waitingFor).isNotEqualTo(END);
    return message(line);
  }

  /** @return the line parsed, asserting it is a JSON-RPC 2.0 message */
  static JsonNode message(String line) {
    JsonNode node;
    try {
      node = JSON.readTree(line);
    } catch (IOException e) {
      throw new AssertionError("not JSON on stdout: " + line, e);
    }
    assertThat(node.path("jsonrpc").asText()).as("a JSON-RPC 2.0 message: %s", line).isEqualTo("2.0");
    return node;
  }

  /** Closes stdin, as a client that is done does; returns whether the process exited within the timeout. */
  boolean closeStdinAndWait(Duration timeout) throws IOException, InterruptedException {
    in.close();
    return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  @Override
  public void close() {
    process.destroyForcibly();
  }
}
