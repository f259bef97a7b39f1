package io.kyros.collab.app;

import static io.kyros.collab.app.ProblemAssert.problem;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SecurityTest {
  static final String RW = "rw-key-0123456789abcdef";
  static final String RO = "ro-key-0123456789abcdef";
  static final ApiKeys KEYS = ApiKeys.parse(List.of("# test keys", "rw " + RW + " writer", "", "ro " + RO + " reader"),
      "keys");

  @TempDir
  Path dir;
  TestServer server;

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  @Test
  void keysAreRequiredAndReadOnlyKeysCannotWrite() throws Exception {
    server = TestServer.start(dir, b -> b.apiKeys(KEYS));
    Http http = new Http(server.uri());
    problem(http.get("/collab/tasks"), 401, "an API key is required");
    assertThat(http.get("/collab/tasks").headers().firstValue("WWW-Authenticate")).isPresent();
    problem(http.get("/collab/tasks", "Authorization", "Bearer wrong-key-0123456789"), 401, "unknown API key");
    assertThat(http.get("/collab/tasks", "Authorization", "Bearer " + RO).statusCode()).isEqualTo(200);
    assertThat(http.get("/collab/tasks", "X-API-Key", RW).statusCode()).isEqualTo(200);
    assertThat(http.get("/collab/tasks?api_key=" + RO).statusCode()).isEqualTo(200);
    problem(http.post("/collab/tasks", "{\"title\": \"a\"}", "X-API-Key", RO), 403, "'reader' is read-only");
    HttpResponse<String> created = http.post("/collab/tasks", "{\"title\": \"a\"}", "X-API-Key", RW);
    assertThat(created.statusCode()).isEqualTo(201);
    // the key's name is the actor of what it writes
    assertThat(Http.json(http.get("/collab/events?type=task_created", "X-API-Key", RO)).get("data").get(0)
        .get("actor").asText()).isEqualTo("writer");
    problem(http.post("/collab/tasks?api_key=" + RW, "{\"title\": \"a\"}"), 401, "an API key is required");
    assertThat(http.get("/healthz").statusCode()).isEqualTo(200);
    assertThat(http.get("/readyz").statusCode()).isEqualTo(200);
    problem(http.get("/openapi.json"), 401, "API key");
  }

  /**
   * A write refused for its key is answered once its body has arrived, so the connection stays open for the next
   * request. Answered as soon as its headers were read, with the body still on its way, the request left content
   * unread: Jetty closed the connection after the 403, and the body arriving after the close could make the server
   * reset the connection, which can drop the 403 before the client reads it (a POST failed in CI with "HTTP/1.1 header
   * parser received no bytes"). Headers and body are sent as two writes here, the body after the headers' flush.
   */
  @Test
  void aRefusedWriteIsAnsweredAfterItsBodyAndKeepsTheConnection() throws Exception {
    server = TestServer.start(dir, b -> b.apiKeys(KEYS));
    refusedThriceOnOneConnection("X-API-Key: " + RO + "\r\n", "{\"title\": \"a\"}", "HTTP/1.1 403 ", "read-only");
  }

  /**
   * The same for a body over the limit. {@link #aBodyOverTheLimitIs413} failed once in CI with "HTTP/1.1 header parser
   * received no bytes": answered at once from its Content-Length, with its bytes unread, the 413 can be reset away by
   * the connection's close when the body arrives after it. A body at most a MiB over the limit is now read and dropped
   * before the 413. (This test pins the answer and the kept connection; it does not reproduce the race, which this
   * machine shows rarely: it passes on the code before the change too.)
   */
  @Test
  void aBodyOverTheLimitIsAnsweredAfterItsBodyAndKeepsTheConnection() throws Exception {
    server = TestServer.start(dir, b -> b.maxBodyBytes(256));
    refusedThriceOnOneConnection("", "{\"title\": \"" + "x".repeat(300) + "\"}", "HTTP/1.1 413 ",
        "larger than 256 bytes");
  }

  // Bodies over --max-body-bytes over a raw socket, found in a review of the change that reads such a body before its
  // 413: the drain counted every byte of the body, not those over the limit; a client expecting 100-continue was asked
  // for a body that would be refused; a refused body that ended early was answered 400, not 413.

  /**
   * A declared body exactly 1 MiB over the (default) limit is admitted to the drain (length - max <= DRAINED_AT_MOST),
   * but the drain counts every byte of it, not those over the limit: it stops after 1 MiB, answers with the other MiB
   * unread, and Jetty closes the connection (the reset race the drain was added against is back).
   */
  @Test
  void aDeclaredBodyAtMostAMebibyteOverIsDrainedAndKeepsTheConnection() throws Exception {
    int max = 1 << 20; // the default --max-body-bytes
    server = TestServer.start(dir, b -> b.maxBodyBytes(max));
    int length = max + (int) RequestBody.DRAINED_AT_MOST; // over by exactly the bound: to be drained
    try (Socket socket = new Socket(server.uri().getHost(), server.uri().getPort())) {
      socket.setSoTimeout(20_000);
      OutputStream out = socket.getOutputStream();
      InputStream in = socket.getInputStream();
      out.write(("POST /collab/tasks HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
          + "Content-Length: " + length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.flush();
      Thread writer = new Thread(() -> {
        try {
          byte[] block = new byte[8192];
          java.util.Arrays.fill(block, (byte) 'x');
          for (int left = length; left > 0; left -= Math.min(left, block.length)) {
            out.write(block, 0, Math.min(left, block.length));
          }
          out.flush();
        } catch (IOException ignored) {
          // the server closed
        }
      });
      writer.start();
      Map<String, String> headers = new LinkedHashMap<>();
      int status = RawHttp.readHead(in, headers);
      assertThat(status).isEqualTo(413);
      in.readNBytes(Integer.parseInt(headers.get("content-length")));
      writer.join(20_000);
      assertThat(headers.get("connection")).as("the 413's Connection header").isNull();
      int next;
      try {
        out.write("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        next = RawHttp.readHead(in, new LinkedHashMap<>());
      } catch (IOException e) {
        next = -1; // closed by the server
      }
      assertThat(next).as("the next request on the kept connection (-1: the server closed it)").isEqualTo(200);
    }
  }

  /**
   * A client that asks {@code Expect: 100-continue} for a body whose declared length is over the limit should get the
   * 413 at once, without being told to send the body (RFC 9110, section 10.1.1: the point of the expectation). The
   * drain reads it, so Jetty answers 100 Continue first and the client uploads a body that is then refused. curl
   * sends this expectation for bodies over 1 MiB: exactly the ones over the default limit.
   */
  @Test
  void aDeclaredBodyOverTheLimitWithExpect100IsRefusedWithoutAskingForIt() throws Exception {
    server = TestServer.start(dir, b -> b.maxBodyBytes(256));
    try (Socket socket = new Socket(server.uri().getHost(), server.uri().getPort())) {
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      out.write(("POST /collab/tasks HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
          + "Expect: 100-continue\r\nContent-Length: 1000\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.flush();
      assertThat(RawHttp.line(socket.getInputStream())).as("the first answer").startsWith("HTTP/1.1 413 ");
    }
  }

  /**
   * A body whose declared length is over the limit is 413 whatever then happens to its bytes (docs/app.md): while it
   * was drained, one that ended early (the client closed its side) was answered 400 "cannot read the request body".
   */
  @Test
  void aDeclaredBodyOverTheLimitThatEndsEarlyIsStill413() throws Exception {
    server = TestServer.start(dir, b -> b.maxBodyBytes(256));
    try (Socket socket = new Socket(server.uri().getHost(), server.uri().getPort())) {
      socket.setSoTimeout(30_000);
      OutputStream out = socket.getOutputStream();
      out.write(("POST /collab/tasks HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
          + "Content-Length: 1000\r\n\r\n{\"title\": ").getBytes(StandardCharsets.US_ASCII));
      out.flush();
      socket.shutdownOutput(); // and nothing more
      assertThat(RawHttp.readHead(socket.getInputStream(), new LinkedHashMap<>())).isEqualTo(413);
    }
  }

  /**
   * Sends a write three times on one connection, its headers and body as two writes (the body after the headers'
   * flush), and expects each refused with {@code status} and a problem holding {@code detail}, the connection kept.
   */
  private void refusedThriceOnOneConnection(String headers, String body, String status, String detail)
      throws Exception {
    try (Socket socket = new Socket(server.uri().getHost(), server.uri().getPort())) {
      socket.setSoTimeout(60_000);
      OutputStream out = socket.getOutputStream();
      BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
      for (int i = 0; i < 3; i++) {
        out.write(("POST /collab/tasks HTTP/1.1\r\nHost: localhost\r\n" + headers
            + "Content-Type: application/json\r\nContent-Length: " + body.length() + "\r\n\r\n")
            .getBytes(StandardCharsets.US_ASCII));
        out.flush();
        out.write(body.getBytes(StandardCharsets.US_ASCII));
        out.flush();
        assertThat(in.readLine()).as("status line of refused write %d", i).startsWith(status);
        int length = -1;
        String line;
        while (!(line = in.readLine()).isEmpty()) {
          assertThat(line).as("the connection is kept").doesNotContainIgnoringCase("connection: close");
          if (line.regionMatches(true, 0, "Content-Length:", 0, 15)) {
            length = Integer.parseInt(line.substring(15).strip());
          }
        }
        assertThat(length).as("a problem+json body of known length").isPositive();
        char[] problem = new char[length];
        int read = 0;
        while (read < length) {
          read += in.read(problem, read, length - read);
        }
        assertThat(new String(problem)).contains(detail);
      }
    }
  }

  @Test
  void eachKeyHasItsOwnRateLimit() throws Exception {
    server = TestServer.start(dir, b -> b.apiKeys(KEYS).rateLimit(0.001, 3));
    Http http = new Http(server.uri());
    for (int i = 0; i < 3; i++) {
      assertThat(http.get("/collab/tasks", "X-API-Key", RO).statusCode()).isEqualTo(200);
    }
    HttpResponse<String> limited = http.get("/collab/tasks", "X-API-Key", RO);
    problem(limited, 429, "rate limit");
    assertThat(Long.parseLong(limited.headers().firstValue("Retry-After").orElseThrow())).isPositive();
    assertThat(http.get("/collab/tasks", "X-API-Key", RW).statusCode()).isEqualTo(200);
  }

  /**
   * Bug: requests without a known key were answered 401 before the rate limit was charged, so a
   * client could guess keys as fast as the server answered; now they spend their address's bucket.
   */
  @Test
  void guessingKeysIsRateLimitedByAddress() throws Exception {
    server = TestServer.start(dir, b -> b.apiKeys(KEYS).rateLimit(0.001, 3));
    Http http = new Http(server.uri());
    problem(http.get("/collab/tasks", "X-API-Key", "guess-0000000000000001"), 401, "unknown API key");
    problem(http.get("/collab/tasks", "X-API-Key", "guess-0000000000000002"), 401, "unknown API key");
    problem(http.get("/collab/tasks"), 401, "an API key is required");
    HttpResponse<String> limited = http.get("/collab/tasks", "X-API-Key", "guess-0000000000000003");
    problem(limited, 429, "rate limit");
    assertThat(limited.headers().firstValue("Retry-After")).isPresent();
    // a known key has its own bucket
    assertThat(http.get("/collab/tasks", "X-API-Key", RO).statusCode()).isEqualTo(200);
  }

  @Test
  void aBodyOverTheLimitIs413() throws Exception {
    server = TestServer.start(dir, b -> b.maxBodyBytes(256));
    Http http = new Http(server.uri());
    problem(http.post("/collab/tasks", "{\"title\": \"" + "x".repeat(300) + "\"}"), 413, "larger than 256 bytes");
    assertThat(http.post("/collab/tasks", "{\"title\": \"short\"}").statusCode()).isEqualTo(201);
  }

  @Test
  void corsIsOffByDefaultAndAllowsOnlyTheConfiguredOrigin() throws Exception {
    server = TestServer.start(dir);
    Http http = new Http(server.uri());
    assertThat(http.get("/collab/tasks", "Origin", "http://evil.example").headers()
        .firstValue("Access-Control-Allow-Origin")).isEmpty();
    server.close();
    server = TestServer.start(dir, b -> b.corsOrigin("http://console.example"));
    http = new Http(server.uri());
    assertThat(http.get("/collab/tasks", "Origin", "http://console.example").headers()
        .firstValue("Access-Control-Allow-Origin")).hasValue("http://console.example");
    assertThat(http.get("/collab/tasks", "Origin", "http://evil.example").headers()
        .firstValue("Access-Control-Allow-Origin")).isEmpty();
    assertThat(http.send("OPTIONS", "/collab/tasks", null, "Origin", "http://console.example").statusCode())
        .isEqualTo(204);
  }

  /**
   * Bug (found in review): an API key or an Origin sent on two lines was judged by its first line alone; which one the
   * client meant is a guess, so such a request is refused and nothing is written.
   */
  @Test
  void aKeyOrAnOriginOnTwoLinesIsRefused() throws Exception {
    server = TestServer.start(dir, b -> b.apiKeys(KEYS));
    RawHttp.send(server.uri(), "GET /collab/tasks HTTP/1.1", null, "Authorization: Bearer " + RO,
        "Authorization: Bearer wrong-key-0123456789").problem(400, "Authorization given 2 times");
    RawHttp.send(server.uri(), "POST /collab/tasks HTTP/1.1", "{\"title\": \"pwned\"}",
        "Content-Type: application/json", "X-API-Key: " + RW, "X-API-Key: " + RO).problem(400, "X-API-Key given 2 times");
    RawHttp.send(server.uri(), "GET /collab/tasks HTTP/1.1", null, "Authorization: Bearer " + RW, "X-API-Key: " + RO,
        "X-API-Key: wrong-key-0123456789").problem(400, "X-API-Key given 2 times"); // a Bearer key beside it too
    String own = "http://127.0.0.1:" + server.uri().getPort();
    RawHttp.send(server.uri(), "POST /collab/tasks HTTP/1.1", "{\"title\": \"pwned\"}",
        "Content-Type: application/json", "X-API-Key: " + RW, "Origin: " + own, "Origin: https://evil.example")
        .problem(403, "Origin given 2 times");
    Http http = new Http(server.uri());
    assertThat(Http.json(http.get("/collab/tasks", "X-API-Key", RO)).get("data")).as("nothing was written").isEmpty();
    assertThat(http.post("/collab/tasks", "{\"title\": \"once\"}", "X-API-Key", RW, "Origin", own).statusCode())
        .isEqualTo(201);
  }

  /**
   * Bug (CSRF): CORS only added headers and refused nothing, and bodies are parsed as JSON whatever their
   * Content-Type, so a page of any site could write with a "simple" request (text/plain, no preflight). Writes a
   * browser sends from another origin are 403 now; reads, non-browser clients and same-origin pages are unaffected.
   */
  @Test
  void crossOriginWritesAreRefusedAndSameOriginAndNonBrowserOnesAreNot() throws Exception {
    server = TestServer.start(dir);
    Http http = new Http(server.uri());
    String own = "http://127.0.0.1:" + server.uri().getPort();
    problem(http.post("/collab/tasks", "{\"title\": \"pwned\"}", "Origin", "https://evil.example", "Content-Type",
        "text/plain"), 403, "Origin 'https://evil.example' is neither this server's own origin");
    problem(http.post("/collab/tasks", "{\"title\": \"pwned\"}", "Origin", "null"), 403, "Origin 'null'");
    problem(http.post("/collab/tasks", "{\"title\": \"pwned\"}", "Origin", "http://127.0.0.1:1"), 403, "Origin");
    problem(http.post("/collab/tasks", "{\"title\": \"pwned\"}", "Origin", own + "/path"), 403, "Origin");
    problem(http.post("/collab/tasks", "{\"title\": \"pwned\"}", "Sec-Fetch-Site", "cross-site"), 403,
        "Sec-Fetch-Site: cross-site");
    problem(http.send("PUT", "/collab/docs/notes/1", "{}", "If-None-Match", "*", "Origin", "https://evil.example"),
        403, "CSRF");
    assertThat(Http.json(http.get("/collab/tasks")).get("data")).as("nothing was written").isEmpty();
    // reads are not refused (CORS decides whether a page may read the answer)
    assertThat(http.get("/collab/tasks", "Origin", "https://evil.example").statusCode()).isEqualTo(200);
    // the console (same origin), and clients that send no Origin (curl, scripts, the CLI)
    assertThat(http.post("/collab/tasks", "{\"title\": \"console\"}", "Origin", own, "Sec-Fetch-Site",
        "same-origin").statusCode()).isEqualTo(201);
    assertThat(http.post("/collab/tasks", "{\"title\": \"curl\"}", "Content-Type", "text/plain").statusCode())
        .isEqualTo(201);
    RawHttp.send(server.uri(), "POST /collab/events HTTP/1.1", "{\"event\": \"x\", \"target\": \"y\"}",
        "Host: localhost:" + server.uri().getPort(), "Origin: http://localhost:" + server.uri().getPort());
    assertThat(Http.json(http.get("/collab/events?type=x")).get("data")).as("localhost's own origin").hasSize(1);

    // the configured CORS origin may write, even marked cross-site; others still may not
    server.close();
    server = TestServer.start(dir, b -> b.corsOrigin("https://console.example"));
    http = new Http(server.uri());
    HttpResponse<String> cors = http.post("/collab/tasks", "{\"title\": \"cors\"}", "Origin",
        "https://console.example", "Sec-Fetch-Site", "cross-site");
    assertThat(cors.statusCode()).as(cors.body()).isEqualTo(201);
    assertThat(cors.headers().firstValue("Access-Control-Allow-Origin")).hasValue("https://console.example");
    problem(http.post("/collab/tasks", "{\"title\": \"pwned\"}", "Origin", "https://evil.example"), 403,
        "nor the --cors-origin https://console.example");
  }

  /**
   * Bug (DNS rebinding): Host was never checked, so a page whose host name an attacker points at 127.0.0.1 could read
   * and write everything as its own origin. On a loopback bind a Host that is not an IP address or localhost (or
   * listed in --allowed-hosts) is 421 now.
   */
  @Test
  void hostsOtherThanIpAddressesAndLocalhostAreRefusedOnLoopback() throws Exception {
    server = TestServer.start(dir);
    int port = server.uri().getPort();
    RawHttp.Answer rebound = RawHttp.send(server.uri(), "GET /collab/state/leases HTTP/1.1", null,
        "Host: attacker.example:" + port);
    rebound.problem(421, "Host 'attacker.example' is not allowed");
    RawHttp.send(server.uri(), "GET / HTTP/1.1", null, "Host: attacker.example:" + port).problem(421, "DNS rebinding");
    RawHttp.send(server.uri(), "POST /collab/tasks HTTP/1.1", "{\"title\": \"pwned\"}",
        "Host: attacker.example:" + port).problem(421, "--allowed-hosts");
    for (String host : List.of("localhost:" + port, "LocalHost", "127.0.0.1:" + port, "[::1]:" + port, "10.1.2.3")) {
      assertThat(RawHttp.send(server.uri(), "GET /healthz HTTP/1.1", null, "Host: " + host).status()).as(host)
          .isEqualTo(200);
    }
    assertThat(RawHttp.send(server.uri(), "GET /collab/state/tasks HTTP/1.1", null, "Host: localhost:" + port)
        .body()).as("nothing was written").contains("\"data\":[]");

    server.close();
    server = TestServer.start(dir, b -> b.allowedHosts(List.of("collab.example", "Other.Example.")));
    assertThat(RawHttp.send(server.uri(), "GET /collab/state/leases HTTP/1.1", null, "Host: collab.example:" + port)
        .status()).isEqualTo(200);
    assertThat(RawHttp.send(server.uri(), "GET /healthz HTTP/1.1", null, "Host: other.example").status())
        .isEqualTo(200);
    RawHttp.send(server.uri(), "GET /healthz HTTP/1.1", null, "Host: attacker.example")
        .problem(421, "one of --allowed-hosts collab.example,other.example");
    // a bind on another address checks Host only when --allowed-hosts is given
    assertThat(new HostCheck(ServerConfig.builder().bind("0.0.0.0").build()).enforced()).isFalse();
    assertThat(new HostCheck(ServerConfig.builder().bind("0.0.0.0").allowedHosts(List.of("collab.example")).build())
        .enforced()).isTrue();
    assertThat(new HostCheck(ServerConfig.builder().bind("::1").build()).enforced()).isTrue();
    assertThatThrownBy(() -> ServerConfig.builder().allowedHosts(List.of("collab.example:8080")))
        .hasMessageContaining("'collab.example:8080' is not one");
  }

  @Test
  void theServerListensOnLoopbackByDefault() throws Exception {
    server = TestServer.start(dir);
    assertThat(server.uri().getHost()).isEqualTo("127.0.0.1");
    assertThat(ServerConfig.builder().build().bind()).isEqualTo("127.0.0.1");
  }

  @Test
  void malformedKeysFilesAreRefusedNamingTheLine() {
    assertThatThrownBy(() -> ApiKeys.parse(List.of("rx " + RW), "k")).hasMessageContaining("k:1")
        .hasMessageContaining("rw or ro");
    assertThatThrownBy(() -> ApiKeys.parse(List.of("rw short"), "k")).hasMessageContaining("at least 16");
    assertThatThrownBy(() -> ApiKeys.parse(List.of("rw " + RW, "ro " + RW), "k")).hasMessageContaining("k:2")
        .hasMessageContaining("twice");
    assertThatThrownBy(() -> ApiKeys.parse(List.of("# nothing"), "k")).hasMessageContaining("no keys");
  }
}
