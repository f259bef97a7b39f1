package io.kyros.collab.app;

import static io.kyros.collab.app.CliRuns.run;
import static io.kyros.collab.app.CliRuns.with;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.kyros.collab.app.CliRuns.Run;
import java.nio.file.Path;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bug (review): the text output of {@code tasks ls}, {@code tasks ready}, {@code tasks show} ({@code batches show}
 * shares its printer), {@code log} and {@code events tail} printed stored text raw: a title holding an OSC 52 (writes
 * the terminal's clipboard), an {@code ESC [2K} and a CR reached the terminal and could forge a row. What must hold:
 * in text mode no control character but the lines' own newlines reaches the terminal (stdout or stderr), in both
 * modes; stored text shows as visible escapes ({@code \u001B}, {@code \n}); a description's newline cannot make a
 * line of its own; {@code --json} output stays exact.
 */
class CliHostileOutputTest {
  /** Any C0 control but the newline, DEL, any C1 control (0x9b is an 8-bit CSI), a bidi override. */
  private static final Pattern UNSAFE = Pattern.compile("[\\x00-\\x09\\x0b-\\x1f\\x7f-\\x9f\\u202a-\\u202e\\u2066-\\u2069]");
  private static final String TITLE =
      "harmless\u001b]52;c;ZWNobyBwd25lZA==\u0007\u001b[2K\rt-FAKE   done   9  root   forged row";
  private static final String DESCRIPTION = "first line\nstatus       done\u009b2K\u202eevil";

  @TempDir
  Path dir;
  private TestServer server;
  private String[] where;

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  private void use(String mode) throws Exception {
    if (mode.equals("server")) {
      server = TestServer.start(dir.resolve("served"));
      where = new String[] {"--server", server.uri().toString()};
    } else {
      where = new String[] {"--store", "file:" + dir.resolve("store")};
    }
  }

  private Run ok(String... args) {
    Run r = run(with(where, args));
    assertThat(r.code()).as("%s: %s", String.join(" ", args), r.err()).isZero();
    return r;
  }

  private static void assertSafe(Run r, String what) {
    assertThat(UNSAFE.matcher(r.out()).find()).as("%s printed a control character: %s", what, r.out()).isFalse();
    assertThat(UNSAFE.matcher(r.err()).find()).as("%s printed a control character on stderr: %s", what, r.err())
        .isFalse();
  }

  @ParameterizedTest
  @ValueSource(strings = {"store", "server"})
  void storedControlCharactersAreShownEscapedInTextOutput(String mode) throws Exception {
    use(mode);
    ok("tasks", "add", TITLE, "--id", "t1", "--description", DESCRIPTION, "--check", "item\u001b[31mred", "--label",
        "docs");
    for (String[] command : new String[][] {{"tasks", "ls"}, {"tasks", "ready"}, {"tasks", "show", "t1"},
        {"log"}, {"events", "tail"}}) {
      assertSafe(ok(command), String.join(" ", command));
    }
    Run ls = ok("tasks", "ls");
    assertThat(ls.out().lines()).hasSize(1);
    assertThat(ls.out()).contains("harmless\\u001B]52;c;ZWNobyBwd25lZA==\\u0007\\u001B[2K\\rt-FAKE");

    Run show = ok("tasks", "show", "t1");
    assertThat(show.out().lines().filter(l -> l.startsWith("status"))).hasSize(1); // the description forged none
    assertThat(show.out()).contains("first line\\nstatus       done\\u009B2K\\u202Eevil", "item\\u001B[31mred");

    // a failed attempt's last_error, as tasks show and the claim's output print it
    JsonNode claim = Json.MAPPER.readTree(ok("tasks", "claim", "--worker", "w", "--json").out());
    Run fail = ok("tasks", "fail", "t1", "--fence", claim.get("fence").asText(), "--lock-id",
        claim.get("lock_id").asText(), "--error", "boom\u001b[1A\rforged");
    assertSafe(fail, "tasks fail");
    Run failed = ok("tasks", "show", "t1");
    assertSafe(failed, "tasks show after a failure");
    assertThat(failed.out()).contains("boom\\u001B[1A\\rforged");
    assertSafe(ok("log"), "log after a failure");
  }

  @ParameterizedTest
  @ValueSource(strings = {"store", "server"})
  void jsonOutputStaysExact(String mode) throws Exception {
    use(mode);
    ok("tasks", "add", TITLE, "--id", "t1", "--description", DESCRIPTION);
    JsonNode t = Json.MAPPER.readTree(ok("tasks", "show", "t1", "--json").out());
    assertThat(t.get("title").asText()).isEqualTo(TITLE);
    assertThat(t.get("description").asText()).isEqualTo(DESCRIPTION);
    JsonNode listed = Json.MAPPER.readTree(ok("tasks", "ls", "--json").out());
    assertThat(listed.get("title").asText()).isEqualTo(TITLE);
  }

  @Test
  void anErrorMessageQuotingWhatWasTypedIsEscapedToo() throws Exception {
    use("store");
    Run r = run(with(where, "leases", "release", "x\u001b]0;title\u0007"));
    assertThat(r.code()).isEqualTo(ExitCodes.NOT_FOUND);
    assertSafe(r, "leases release");
    assertThat(r.err()).contains("x\\u001B]0;title\\u0007");
  }

  @Test
  void theEscapesAreVisibleAndPlainTextIsUntouched() {
    assertThat(TerminalText.safe("plain text, ünïcödé ✓")).isEqualTo("plain text, ünïcödé ✓");
    assertThat(TerminalText.safe("a\u001bb\rc\nd\te\u007ff\u0085g\u2028")).isEqualTo(
        "a\\u001Bb\\rc\\nd\\te\\u007Ff\\u0085g\\u2028");
    assertThat(TerminalText.safeLines("# log\n- a\u001b[2K\n")).isEqualTo("# log\n- a\\u001B[2K\n");
    assertThat(TerminalText.quote("x".repeat(1000))).hasSize(TerminalText.QUOTE_MAX + 1);
  }
}
