package io.kyros.collab.app;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link McpStdio} on its own, the test standing in for the SDK: which lines reach the SDK and which are answered with
 * an error; how many requests the SDK is given before it answers; the queue's bound; the end of stdin.
 */
@Timeout(60)
class McpStdioTest {
  private static final String END = "\u0000end";

  /** What reached the SDK, and what McpStdio itself wrote to stdout (the stand-in's answers left out). */
  private record Run(String toSdk, String out) {}

  /** Runs stdin through McpStdio, the stand-in answering every request it is given. */
  private static Run run(String stdin) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    McpStdio stdio = new McpStdio(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)), out, 1000, 64,
        1 << 20, Duration.ofMinutes(1));
    stdio.start();
    BufferedReader sdk = new BufferedReader(new InputStreamReader(stdio.sdkIn(), StandardCharsets.UTF_8));
    StringBuilder toSdk = new StringBuilder();
    for (String line = sdk.readLine(); line != null; line = sdk.readLine()) {
      toSdk.append(line).append('\n');
      answer(stdio, line);
    }
    stdio.awaitEnd();
    assertThat(stdio.inFlight()).isZero();
    String own = out.toString(StandardCharsets.UTF_8).lines().filter(l -> !l.contains("\"stand-in\""))
        .map(l -> l + "\n").reduce("", String::concat);
    return new Run(toSdk.toString(), own);
  }

  /** Writes the stand-in SDK's response to a request line, as the SDK would, with the request's id. */
  private static void answer(McpStdio stdio, String request) throws IOException {
    JsonNode node = Json.MAPPER.readTree(request);
    if (node.has("method") && node.has("id")) {
      respond(stdio, Json.write(node.get("id")));
    }
  }

  private static void respond(McpStdio stdio, String idJson) throws IOException {
    // written in two pieces, as a stream may: the line counts once it is whole
    byte[] line = ("{\"jsonrpc\":\"2.0\",\"id\":" + idJson + ",\"result\":{\"by\":\"stand-in\"}}\n")
        .getBytes(StandardCharsets.UTF_8);
    stdio.sdkOut().write(line, 0, 10);
    stdio.sdkOut().write(line, 10, line.length - 10);
  }

  private static String ping(Object id) {
    return "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"ping\"}\n";
  }

  /** Reads the SDK's input line by line on a thread of its own (the SDK's reader), into a queue; {@link #END} last. */
  private static Thread sdkReader(McpStdio stdio, BlockingQueue<String> lines) {
    Thread t = new Thread(() -> {
      try (BufferedReader sdk = new BufferedReader(new InputStreamReader(stdio.sdkIn(), StandardCharsets.UTF_8))) {
        for (String line = sdk.readLine(); line != null; line = sdk.readLine()) {
          lines.add(line);
        }
      } catch (IOException e) {
        lines.add("failed: " + e);
      } finally {
        lines.add(END);
      }
    }, "test-sdk-reader");
    t.setDaemon(true);
    t.start();
    return t;
  }

  /** Waits until the condition holds; the class's timeout ends the wait by interrupting it. */
  private static void until(BooleanSupplier condition) throws InterruptedException {
    while (!condition.getAsBoolean()) {
      if (Thread.interrupted()) {
        throw new InterruptedException("still waiting for the condition");
      }
      Thread.yield();
    }
  }

  private static boolean blocked(Thread t) {
    return t.getState() == Thread.State.WAITING || t.getState() == Thread.State.TIMED_WAITING;
  }

  /**
   * A fractional id is refused (the SDK takes only string and integer ids), but answered with that id, so the client
   * can match the error to its request; it was answered with id null, which left the client waiting (review). Lines
   * ended by CR, CRLF or LF reach the SDK as LF-ended lines.
   */
  @Test
  void aFractionalIdIsRefusedNamingItAndOtherLinesReachTheSdkWhateverTheirLineEnd() throws Exception {
    Run r = run("{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"ping\"}\r"
        + "{\"jsonrpc\":\"2.0\",\"id\":\"\u00e9\u20ac\",\"method\":\"ping\"}\r\n"
        + "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\"}\n");
    assertThat(r.out()).startsWith("{\"jsonrpc\":\"2.0\",\"id\":1.5,\"error\":{\"code\":-32600,").hasLineCount(1);
    assertThat(r.toSdk()).isEqualTo("{\"jsonrpc\":\"2.0\",\"id\":\"\u00e9\u20ac\",\"method\":\"ping\"}\n"
        + "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\"}\n");
  }

  @Test
  void anIdOfAnotherKindIsRefusedWithIdNull() throws Exception {
    Run r = run("{\"jsonrpc\":\"2.0\",\"id\":{\"a\":1},\"method\":\"ping\"}\n");
    assertThat(r.toSdk()).isEmpty();
    assertThat(r.out()).contains("\"id\":null", "-32600", "\\\"id\\\" must be a string or a number");
  }

  /**
   * The SDK reads every line it can and runs its requests at once, buffering without bound. It is given the next line
   * only while fewer than maxInFlight requests are unanswered; notifications and responses do not count, and a
   * request counts until a response with its id (a string, or a number however written) has gone to stdout.
   */
  @Test
  void theSdkIsGivenTheNextLineOnlyWhileFewerThanMaxInFlightRequestsAreUnanswered() throws Exception {
    PipedOutputStream client = new PipedOutputStream();
    PipedInputStream stdin = new PipedInputStream(client, 1 << 16);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    McpStdio stdio = new McpStdio(stdin, out, 1000, 2, 1 << 20, Duration.ofMinutes(1));
    stdio.start();
    BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    Thread reader = sdkReader(stdio, lines);
    String note = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n";
    String response = "{\"jsonrpc\":\"2.0\",\"id\":\"s1\",\"result\":{}}\n";
    client.write((ping("\"a\"") + note + response + ping(10) + ping(11)).getBytes(StandardCharsets.UTF_8));
    client.flush();

    until(() -> stdio.queuedLines() == 1 && blocked(reader) && lines.size() == 4);
    assertThat(lines).hasSize(4).last().asString().contains("\"id\":10");
    assertThat(stdio.inFlight()).isEqualTo(2);
    assertThat(lines.peek()).contains("\"id\":\"a\"");

    respond(stdio, "10.0"); // the same id as 10, written otherwise
    assertThat(lines.poll(30, TimeUnit.SECONDS)).isNotNull();
    until(() -> lines.size() == 4);
    assertThat(List.copyOf(lines).get(3)).contains("\"id\":11");
    assertThat(stdio.inFlight()).isEqualTo(2);

    respond(stdio, "\"a\"");
    respond(stdio, "11");
    until(() -> stdio.inFlight() == 0);
    client.close();
    stdio.awaitEnd();
    until(() -> lines.contains(END));
  }

  /** A client writing faster than the SDK reads is held back once the queued lines reach maxQueuedBytes. */
  @Test
  void theReaderWaitsWhileTheQueueHoldsMaxQueuedBytes() throws Exception {
    PipedOutputStream client = new PipedOutputStream();
    PipedInputStream stdin = new PipedInputStream(client, 1 << 16);
    String line = ping("\"" + "x".repeat(60) + "\""); // about 100 bytes
    McpStdio stdio = new McpStdio(stdin, new ByteArrayOutputStream(), 1000, 64, 250, Duration.ofMinutes(1));
    Thread stdinReader = stdio.start();
    client.write(line.repeat(5).getBytes(StandardCharsets.UTF_8));
    client.flush();
    until(() -> stdio.queuedLines() == 2 && blocked(stdinReader));
    assertThat(stdio.queuedLines()).as("two lines of about 100 bytes fit in 250, not three").isEqualTo(2);

    BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    sdkReader(stdio, lines);
    until(() -> lines.size() == 5);
    assertThat(lines).allSatisfy(l -> assertThat(l + "\n").isEqualTo(line));
    client.close();
  }

  /**
   * Bug: the SDK's transport stops writing once its input ends, so a request read just before stdin ended was never
   * answered. Now the SDK's input ends, and awaitEnd returns, only once the requests given to it are answered.
   */
  @Test
  void whenStdinEndsTheSdkInputEndsOnlyOnceItsRequestsAreAnswered() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    McpStdio stdio = new McpStdio(new ByteArrayInputStream(ping(5).getBytes(StandardCharsets.UTF_8)), out, 1000, 64,
        1 << 20, Duration.ofMinutes(1));
    Thread stdinReader = stdio.start();
    BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    Thread reader = sdkReader(stdio, lines);
    CompletableFuture<Void> ended = CompletableFuture.runAsync(() -> {
      try {
        stdio.awaitEnd();
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    });
    assertThat(lines.poll(30, TimeUnit.SECONDS)).contains("\"id\":5");
    until(() -> !stdinReader.isAlive() && blocked(reader));
    assertThat(ended).as("stdin has ended, the request is unanswered").isNotDone();
    assertThat(lines).isEmpty();
    assertThat(reader.isAlive()).isTrue();

    respond(stdio, "5");
    ended.get(30, TimeUnit.SECONDS);
    assertThat(lines.poll(30, TimeUnit.SECONDS)).isEqualTo(END);
    assertThat(out.toString(StandardCharsets.UTF_8)).contains("\"id\":5");
  }

  /** An unanswered request holds the end back for endGrace at most; then the SDK's input ends without its answer. */
  @Test
  void anUnansweredRequestHoldsTheEndForTheGraceAtMost() throws Exception {
    McpStdio stdio = new McpStdio(new ByteArrayInputStream(ping(5).getBytes(StandardCharsets.UTF_8)),
        new ByteArrayOutputStream(), 1000, 64, 1 << 20, Duration.ofMillis(200));
    stdio.start();
    BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    sdkReader(stdio, lines);
    stdio.awaitEnd(); // returns, the request unanswered
    String first = lines.poll(30, TimeUnit.SECONDS); // the request, or the end if the grace passed before it was read
    if (!END.equals(first)) {
      assertThat(first).contains("\"id\":5");
      assertThat(lines.poll(30, TimeUnit.SECONDS)).isEqualTo(END);
    }
  }

  /**
   * The SDK answers nothing but initialize until notifications/initialized, so the bound applies only once that has
   * been passed on: with the bound from the start, maxInFlight requests sent before it held it back for good (review:
   * 64 pings between initialize and initialized hung the session).
   */
  @Test
  void requestsBeforeInitializedAreNotHeldToTheBound() throws Exception {
    PipedOutputStream client = new PipedOutputStream();
    PipedInputStream stdin = new PipedInputStream(client, 1 << 16);
    McpStdio stdio = new McpStdio(stdin, new ByteArrayOutputStream(), 1000, 2, 1 << 20, Duration.ofMinutes(1));
    stdio.start();
    BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    Thread reader = sdkReader(stdio, lines);
    String initialized = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n";
    client.write((ping(1) + ping(2) + ping(3) + initialized + ping(4)).getBytes(StandardCharsets.UTF_8));
    client.flush();
    until(() -> stdio.queuedLines() == 1 && blocked(reader) && lines.size() == 4);
    assertThat(List.copyOf(lines).get(3)).contains("notifications/initialized");
    assertThat(stdio.inFlight()).isEqualTo(3);

    respond(stdio, "1");
    assertThat(stdio.inFlight()).isEqualTo(2); // still at the bound: ping 4 waits
    respond(stdio, "2");
    until(() -> lines.size() == 5);
    assertThat(List.copyOf(lines).get(4)).contains("\"id\":4");
    client.close();
  }

  /**
   * A notifications/initialized with an id is a request the SDK refuses (-32601); it initializes nothing, so the
   * bound stays off (second review: it turned the bound on while the SDK still held every request).
   */
  @Test
  void initializedWithAnIdDoesNotTurnTheBoundOn() throws Exception {
    PipedOutputStream client = new PipedOutputStream();
    PipedInputStream stdin = new PipedInputStream(client, 1 << 16);
    McpStdio stdio = new McpStdio(stdin, new ByteArrayOutputStream(), 1000, 1, 1 << 20, Duration.ofMinutes(1));
    stdio.start();
    BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    sdkReader(stdio, lines);
    client.write(("{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"notifications/initialized\"}\n" + ping(1) + ping(2))
        .getBytes(StandardCharsets.UTF_8));
    client.flush();
    until(() -> lines.size() == 3);
    assertThat(stdio.inFlight()).isEqualTo(3);
    client.close();
  }

  /**
   * Once writing to stdout fails nothing can be answered, so nothing is held back: the reader drops the lines instead
   * of waiting for room in the queue, and the end comes at once when stdin ends (review: with the queue full the
   * reader waited for good and never saw the end of stdin).
   */
  @Test
  void aFailedStdoutHoldsNothingBack() throws Exception {
    PipedOutputStream client = new PipedOutputStream();
    PipedInputStream stdin = new PipedInputStream(client, 1 << 16);
    OutputStream failing = new OutputStream() {
      @Override
      public void write(int b) throws IOException {
        throw new IOException("stdout is gone");
      }
    };
    String line = ping("\"" + "y".repeat(60) + "\"");
    McpStdio stdio = new McpStdio(stdin, failing, 1000, 1, 250, Duration.ofMinutes(1));
    Thread stdinReader = stdio.start();
    BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    sdkReader(stdio, lines);
    client.write(line.getBytes(StandardCharsets.UTF_8));
    client.flush();
    assertThat(lines.poll(30, TimeUnit.SECONDS)).contains("yyy");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> respond(stdio, "\"" + "y".repeat(60) + "\""))
        .isInstanceOf(IOException.class).hasMessage("stdout is gone");
    client.write(line.repeat(10).getBytes(StandardCharsets.UTF_8)); // more than the queue holds
    client.close();
    until(() -> !stdinReader.isAlive());
    stdio.awaitEnd(); // at once, not after the minute of grace
    until(() -> lines.contains(END));
    assertThat(lines).containsExactly(END);
  }

  @Test
  void boundsAreChecked() {
    OutputStream out = new ByteArrayOutputStream();
    ByteArrayInputStream in = new ByteArrayInputStream(new byte[0]);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> new McpStdio(in, out, 1000, 0, 1, Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("maxInFlight must be positive: 0");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> new McpStdio(in, out, 1000, 1, 0, Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("maxQueuedBytes must be positive: 0");
    org.assertj.core.api.Assertions.assertThatThrownBy(
        () -> new McpStdio(in, out, 1000, 1, 1, Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("endGrace must not be negative: PT-1S");
  }
}
