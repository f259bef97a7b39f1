package io.kyros.collab.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.NotFoundException;
import io.kyros.collab.PreconditionFailedException;
import io.kyros.collab.StorageException;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class CommandLineTest {
  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(String... args) {
    CommandLine cl = CollabCommand.commandLine();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    return cl.execute(args);
  }

  @Test
  void helpListsTheCommandsAndExitsZero() {
    assertThat(run("--help")).isEqualTo(0);
    assertThat(out.toString()).contains("serve");
  }

  @Test
  void anUnknownCommandIsAUsageError() {
    assertThat(run("no-such-command")).isEqualTo(ExitCodes.USAGE);
    assertThat(err.toString()).contains("no-such-command");
  }

  @Test
  void noCommandIsAUsageError() {
    assertThat(run()).isEqualTo(ExitCodes.USAGE);
  }

  @Test
  void aMalformedStoreIsAUsageError() {
    assertThat(run("serve", "--store", "/tmp/x", "--port", "0")).isEqualTo(ExitCodes.USAGE);
    assertThat(err.toString()).contains("--store must be file:DIR or jdbc:URL");
  }

  @Test
  void storeSpecsParse() {
    assertThat(StoreSpec.parse("file:/a/b")).isEqualTo(new StoreSpec(StoreSpec.Kind.FILE, "/a/b"));
    assertThat(StoreSpec.parse("jdbc:h2:mem:x")).isEqualTo(new StoreSpec(StoreSpec.Kind.JDBC, "jdbc:h2:mem:x"));
    assertThatThrownBy(() -> StoreSpec.parse("file:")).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void exceptionsMapToTheDocumentedExitCodes() {
    assertThat(ExitCodes.of(new NotFoundException("x"))).isEqualTo(3);
    assertThat(ExitCodes.of(new PreconditionFailedException("c", "i", "If-Match", null))).isEqualTo(1);
    assertThat(ExitCodes.of(new ConflictException("held"))).isEqualTo(1);
    assertThat(ExitCodes.of(new IllegalArgumentException("bad"))).isEqualTo(2);
    assertThat(ExitCodes.of(new StorageException("down"))).isEqualTo(4);
    assertThat(ExitCodes.ofStatus(200)).isEqualTo(0);
    assertThat(ExitCodes.ofStatus(412)).isEqualTo(1);
    assertThat(ExitCodes.ofStatus(404)).isEqualTo(3);
    assertThat(ExitCodes.ofStatus(400)).isEqualTo(2);
    assertThat(ExitCodes.ofStatus(503)).isEqualTo(4);
    assertThat(ExitCodes.ofStatus(429)).as("rate limited: try again later, not a storage error").isEqualTo(5);
  }
}
