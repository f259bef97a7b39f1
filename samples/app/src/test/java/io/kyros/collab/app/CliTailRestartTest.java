package io.kyros.collab.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.Writer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Bug (review): {@code events tail -f --server URL} ended with exit 4 when the server restarted: any I/O failure of
 * the long poll in flight ended the command. What must hold: following, a server lost after the first read is tried
 * again (200 ms doubling to 10 s) until it answers, and the tail resumes after the last event it printed: the events
 * committed while the server was down are printed once each, nothing skipped, nothing twice.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class CliTailRestartTest {
  @TempDir
  Path dir;

  /** A writer appending to a buffer the test reads while the command runs. */
  private static PrintWriter into(StringBuffer b) {
    return new PrintWriter(new Writer() {
      @Override
      public void write(char[] c, int o, int n) {
        b.append(c, o, n);
      }

      @Override
      public void flush() {}

      @Override
      public void close() {}
    }, true);
  }

  @Test
  void tailFollowResumesAcrossAServerRestartWithoutGapsOrDuplicates() throws Exception {
    Path store = dir.resolve("served");
    TestServer first = TestServer.start(store);
    int port = first.uri().getPort();
    String uri = first.uri().toString();
    first.store.collab().events().append("e", "things/1", Map.of());
    StringBuffer out = new StringBuffer();
    StringBuffer err = new StringBuffer();
    CompletableFuture<Integer> tail = CompletableFuture.supplyAsync(() -> {
      CommandLine cl = CollabCommand.commandLine();
      cl.setOut(into(out));
      cl.setErr(into(err));
      return cl.execute("events", "tail", "-f", "--after", "0", "--count", "3", "--json", "--server", uri);
    });
    Await.until(Duration.ofSeconds(20), () -> out.toString().contains("things/1"));
    first.close(); // a restart: the long poll in flight fails, and the next tries find nothing listening
    Await.until(Duration.ofSeconds(20), () -> err.toString().contains("retrying in"));
    try (OpenStore direct = OpenStore.open(StoreSpec.parse("file:" + store), null, null)) {
      direct.collab().events().append("e", "things/2", Map.of());
      direct.collab().events().append("e", "things/3", Map.of());
    }
    try (TestServer second = TestServer.start(store, b -> b.port(port))) {
      int code = tail.get(60, TimeUnit.SECONDS);
      assertThat(code).as("tail -f across a restart printed:%n%s%n%s", out, err).isZero();
      assertThat(out.toString().lines().toList()).hasSize(3).satisfiesExactly(
          l -> assertThat(l).contains("things/1"), l -> assertThat(l).contains("things/2"),
          l -> assertThat(l).contains("things/3"));
      assertThat(err.toString()).contains("after event #1", "the server answers again");
    }
  }

  @Test
  void aServerThatCannotBeReachedAtTheStartStillEndsTheCommand() throws Exception {
    int port;
    try (TestServer gone = TestServer.start(dir.resolve("gone"))) {
      port = gone.uri().getPort();
    }
    CliRuns.Run r = CliRuns.run("events", "tail", "-f", "--after", "0", "--server", "http://127.0.0.1:" + port);
    assertThat(r.code()).as(r.err()).isEqualTo(ExitCodes.STORAGE);
  }
}
