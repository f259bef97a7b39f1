package io.kyros.collab.app;

import static io.kyros.collab.app.ProblemAssert.problem;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
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
        String head = "POST /collab/events HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
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

  /**
   * Bug: the answers Jetty writes itself, before or instead of the API's handler, were not problem+json: an
   * ambiguous path separator was a text/html page, a PUT with a dot-dot segment an empty 400, a request line or header
   * fields over the server's limit an empty 414 or 431.
   */
  @Test
  void answersJettyWritesItselfAreProblemJson() {
    JsonNode ambiguous = RawHttp.send(server.uri(), "GET /collab/docs/orders/a%2Fb HTTP/1.1", null)
        .problem(400, "Ambiguous URI path separator");
    assertThat(ambiguous.path("instance").asText()).isEqualTo("/collab/docs/orders/a%2Fb");
    RawHttp.send(server.uri(), "PUT /collab/docs/orders/%2e%2e HTTP/1.1", "{\"a\": 1}", "If-None-Match: *",
        "Content-Type: application/json").problem(400, "the server cannot read this request");
    RawHttp.Answer longUri = RawHttp.send(server.uri(), "GET /collab/tasks?label=" + "a".repeat(9 * 1024)
        + " HTTP/1.1", null);
    JsonNode tooLong = longUri.problem(414, "request line");
    assertThat(longUri.body()).doesNotContain("aaaaaaaaaa");
    assertThat(tooLong.has("instance")).as("not Jetty's placeholder /badMessage").isFalse();
    RawHttp.Answer bigHeader = RawHttp.send(server.uri(), "GET /collab/tasks HTTP/1.1", null,
        "X-Big: " + "b".repeat(9 * 1024));
    bigHeader.problem(431, "header fields");
    assertThat(bigHeader.body()).doesNotContain("bbbbbbbbbb");
    // what a refused request holds comes back as JSON text only, never as markup
    RawHttp.Answer markup = RawHttp.send(server.uri(), "GET /collab/docs/%3Cscript%3E/a%2Fb HTTP/1.1", null);
    markup.problem(400, "Ambiguous");
    assertThat(markup.body()).doesNotContain("<");
    assertThat(markup.header("X-Content-Type-Options")).isEqualTo("nosniff");
    // and nothing was written
    assertThat(http.get("/collab/state/orders").body()).contains("\"data\":[]");
  }

  /**
   * Bug: a request body's Content-Encoding was ignored: a gzip body was refused 400 "not valid UTF-8", and a plain
   * body labelled gzip was accepted against its label. Both are 415 now, and nothing is written.
   */
  @Test
  void aContentEncodingOtherThanIdentityIs415() throws Exception {
    java.io.ByteArrayOutputStream zipped = new java.io.ByteArrayOutputStream();
    try (java.util.zip.GZIPOutputStream gz = new java.util.zip.GZIPOutputStream(zipped)) {
      gz.write("{\"title\": \"zipped\"}".getBytes(StandardCharsets.UTF_8));
    }
    java.net.http.HttpResponse<String> gzip = http.client.send(java.net.http.HttpRequest.newBuilder(
        server.uri("/collab/tasks")).header("Content-Type", "application/json").header("Content-Encoding", "gzip")
        .POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(zipped.toByteArray())).build(),
        java.net.http.HttpResponse.BodyHandlers.ofString());
    problem(gzip, 415, "Content-Encoding 'gzip' is not supported");
    assertThat(gzip.headers().firstValue("Accept-Encoding")).hasValue("identity");
    problem(http.post("/collab/tasks", "{\"title\": \"labelled\"}", "Content-Encoding", "gzip"), 415, "gzip");
    problem(http.post("/collab/tasks", "{\"title\": \"labelled\"}", "Content-Encoding", "identity, br"), 415, "'br'");
    assertThat(Http.json(http.get("/collab/tasks")).get("data")).isEmpty();
    assertThat(http.post("/collab/tasks", "{\"title\": \"plain\"}", "Content-Encoding", "identity").statusCode())
        .isEqualTo(201);
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
