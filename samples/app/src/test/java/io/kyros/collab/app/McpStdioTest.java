package io.kyros.collab.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@link McpStdio} on its own: which lines reach the SDK and which are answered with an error. */
@Timeout(60)
class McpStdioTest {

  /** What reached the SDK, and what was written to stdout, for this stdin. */
  private record Run(String toSdk, String out) {}

  private static Run run(String stdin) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    McpStdio stdio = new McpStdio(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)), out, 1000);
    stdio.start();
    stdio.awaitEnd();
    return new Run(new String(stdio.sdkIn().readAllBytes(), StandardCharsets.UTF_8),
        out.toString(StandardCharsets.UTF_8));
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
}
