package io.kyros.collab.app;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.Collab;
import io.kyros.collab.file.FileStorage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@link CollabMcpServer#close()} with a tool call running, the server on in-process streams. */
@Timeout(60)
class CollabMcpServerCloseTest {

  /**
   * Bug: close stopped the server and returned at once, so the caller closed the store under the tool calls still
   * running. Now it waits for them (up to {@link CollabMcpServer#CLOSE_GRACE}).
   */
  @Test
  void closeWaitsForTheToolCallsRunning(@TempDir Path dir) throws Exception {
    PipedOutputStream client = new PipedOutputStream();
    PipedInputStream in = new PipedInputStream(client, 1 << 16);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (Collab collab = Collab.builder().storage(FileStorage.open(dir)).holder("closer").build()) {
      CollabMcpServer server = new CollabMcpServer(collab, true, "test", in, out);
      send(client, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
          + "\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":\"close-test\",\"version\":\"1\"}}}");
      send(client, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
      send(client, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"events\","
          + "\"arguments\":{\"types\":[\"no_such_event\"],\"wait_seconds\":1}}}");
      while (server.runningCalls() == 0) {
        if (Thread.interrupted()) { // the class's timeout
          throw new InterruptedException("the tool call never started");
        }
        Thread.yield();
      }
      server.close();
      assertThat(server.runningCalls()).as("tool calls running after close returned").isZero();
      client.close();
    }
  }

  private static void send(PipedOutputStream client, String line) throws IOException {
    client.write((line + "\n").getBytes(StandardCharsets.UTF_8));
    client.flush();
  }
}
