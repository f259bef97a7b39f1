package io.kyros.collab.app;

import static io.kyros.collab.app.ProblemAssert.problem;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Clients that misbehave on purpose (found by an adversarial review of the server): uploads that
 * stall mid-body, bodies that are not UTF-8, floods of unknown paths, guessed API keys. Each test
 * names the bug it pins.
 */
class HostileClientsTest extends ApiTestBase {
  @Override
  java.util.function.UnaryOperator<ServerConfig.Builder> config() {
    // a long keep-alive makes the idle timeout long, so a stalled upload stays stalled for the whole test
    return b -> b.keepAlive(Duration.ofMinutes(10));
  }

  /**
   * Bug: the body was read with a blocking wait on a pool thread, so uploads that stall mid-body
   * (more of them than the pool's threads) left no thread for anybody else until the idle timeout.
   */
  @Test
  void uploadsStalledMidBodyHoldNoThread() throws Exception {
    List<Socket> stalled = new ArrayList<>();
    try {
      for (int i = 0; i < CollabServer.MAX_THREADS + 8; i++) {
        Socket s = new Socket(server.uri().getHost(), server.uri().getPort());
        stalled.add(s);
        String body = "{\"event\": \"stalled\", \"target\": \"uploads/" + i + "\"}";
        String head = "POST /collab/events HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            + "Content-Length: " + body.length() + "\r\n\r\n";
        OutputStream out = s.getOutputStream();
        out.write((head + body.substring(0, 1)).getBytes(StandardCharsets.US_ASCII));
        out.flush();
      }
      // the server still answers others while every upload is stalled
      assertThat(http.get("/healthz").statusCode()).isEqualTo(200);
      assertThat(http.post("/collab/events", "{\"event\": \"prompt\", \"target\": \"x\"}").statusCode())
          .isEqualTo(201);
      // and each stalled upload is handled once its body arrives
      for (int i = 0; i < stalled.size(); i++) {
        String body = "{\"event\": \"stalled\", \"target\": \"uploads/" + i + "\"}";
        OutputStream out = stalled.get(i).getOutputStream();
        out.write(body.substring(1).getBytes(StandardCharsets.US_ASCII));
        out.flush();
      }
      for (Socket s : stalled) {
        assertThat(statusLine(s.getInputStream())).isEqualTo("HTTP/1.1 201 Created");
      }
    } finally {
      for (Socket s : stalled) {
        s.close();
      }
    }
  }

  /**
   * Bug: a body that is not UTF-8 was decoded with replacement characters and stored, so the
   * client's bytes were silently changed; it is 400 and nothing is written.
   */
  @Test
  void aBodyThatIsNotUtf8IsRefusedAndNothingIsWritten() throws Exception {
    byte[] body = {'{', '"', 's', '"', ':', '"', (byte) 0xC3, '(', '"', '}'};
    java.net.http.HttpResponse<String> r = http.client.send(java.net.http.HttpRequest.newBuilder(
        server.uri("/collab/docs/notes/1")).header("Content-Type", "application/json").header("If-None-Match", "*")
        .PUT(java.net.http.HttpRequest.BodyPublishers.ofByteArray(body)).build(),
        java.net.http.HttpResponse.BodyHandlers.ofString());
    problem(r, 400, "not valid UTF-8");
    assertThat(http.get("/collab/docs/notes/1").statusCode()).isEqualTo(404);
    // valid multi-byte UTF-8 is kept as sent
    assertThat(http.send("PUT", "/collab/docs/notes/1", "{\"s\": \"caf\u00e9 \u2713\"}", "If-None-Match", "*")
        .statusCode()).isEqualTo(201);
    assertThat(Http.json(http.get("/collab/docs/notes/1")).get("data").get("s").asText()).isEqualTo("caf\u00e9 \u2713");
  }

  private static String statusLine(InputStream in) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    for (int c = in.read(); c != -1 && c != '\n'; c = in.read()) {
      if (c != '\r') {
        line.write(c);
      }
    }
    return line.toString(StandardCharsets.US_ASCII);
  }
}
