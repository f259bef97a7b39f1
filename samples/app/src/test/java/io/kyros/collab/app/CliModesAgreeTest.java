package io.kyros.collab.app;

import static io.kyros.collab.app.CliRuns.both;
import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.app.CliRuns.Run;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bugs (review): the same command line exited differently on a store and through a server. {@code tasks ls
 * --status ""} and {@code --label ""} were 2 on a store but 0 through a server (which takes an empty list parameter
 * as no filter, and so listed everything); a {@code --ttl} below one millisecond was taken on a store but 2 through a
 * server; {@code log --limit 20000} was 0 on a store but 2 through a server (its limit is 1..10000); {@code leases
 * release a/b} was 3 on a store but 2 through a server (Jetty refuses the encoded slash as an ambiguous path
 * separator; so too for a task's or a batch's id, empty, {@code ..}, or with {@code \} or {@code %}). What must hold: each gives the same exit code in both modes, the one named here, with a message naming
 * what is wrong; the commands check these values themselves before either backend sees them.
 */
class CliModesAgreeTest {
  @TempDir
  Path dir;

  private static void agree(Run[] r, int code, String message) {
    assertThat(r[0].code()).as("store: %s%s", r[0].out(), r[0].err()).isEqualTo(code);
    assertThat(r[1].code()).as("server: %s%s", r[1].out(), r[1].err()).isEqualTo(code);
    assertThat(r[0].err()).contains(message);
    assertThat(r[1].err()).contains(message);
  }

  @Test
  void anEmptyStatusFilterIsAUsageErrorInBothModes() throws Exception {
    agree(both(dir, "tasks", "ls", "--status", ""), ExitCodes.USAGE, "--status must not be empty");
  }

  @Test
  void anEmptyLabelFilterIsAUsageErrorInBothModes() throws Exception {
    agree(both(dir, "tasks", "ls", "--label", ""), ExitCodes.USAGE, "--label must not be empty");
  }

  @Test
  void aTtlBelowOneMillisecondIsAUsageErrorInBothModes() throws Exception {
    agree(both(dir, "leases", "acquire", "r", "--ttl", "0.0001"), ExitCodes.USAGE,
        "--ttl must be at least 0.001 (one millisecond)");
    agree(both(dir, "tasks", "claim", "--worker", "w", "--ttl", "0.0001"), ExitCodes.USAGE,
        "--ttl must be at least 0.001 (one millisecond)");
    agree(both(dir, "leases", "acquire", "r", "--ttl", "NaN"), ExitCodes.USAGE, "--ttl must be at least 0.001");
  }

  @Test
  void oneMillisecondIsAValidTtlInBothModes() throws Exception {
    Run[] r = both(dir, "leases", "acquire", "r", "--ttl", "0.001");
    assertThat(r[0].code()).as(r[0].err()).isZero();
    assertThat(r[1].code()).as(r[1].err()).isZero();
  }

  @Test
  void aLogLimitOutsideOneToTenThousandIsAUsageErrorInBothModes() throws Exception {
    agree(both(dir, "log", "--limit", "20000"), ExitCodes.USAGE, "--limit must be between 1 and 10000: 20000");
    agree(both(dir, "log", "--limit", "0"), ExitCodes.USAGE, "--limit must be between 1 and 10000: 0");
    Run[] most = both(dir, "log", "--limit", "10000");
    assertThat(most[0].code()).as(most[0].err()).isZero();
    assertThat(most[1].code()).as(most[1].err()).isZero();
  }

  @Test
  void anIdWithASlashIsNotFoundInBothModes() throws Exception {
    agree(both(dir, "leases", "release", "a/b"), ExitCodes.NOT_FOUND, "lease a/b");
    agree(both(dir, "leases", "release", "a\\b"), ExitCodes.NOT_FOUND, "lease a\\b");
    agree(both(dir, "leases", "release", ".."), ExitCodes.NOT_FOUND, "lease ..");
    agree(both(dir, "leases", "release", "a%2Fb"), ExitCodes.NOT_FOUND, "lease a%2Fb");
  }

  @Test
  void aTaskOrBatchIdThatNoPathCanCarryIsAUsageErrorInBothModes() throws Exception {
    agree(both(dir, "tasks", "show", "a/b"), ExitCodes.USAGE, "task id must match");
    agree(both(dir, "tasks", "show", ""), ExitCodes.USAGE, "task id must match");
    agree(both(dir, "tasks", "show", ".."), ExitCodes.USAGE, "task id must match");
    agree(both(dir, "tasks", "move", "a/b", "done"), ExitCodes.USAGE, "task id must match");
    agree(both(dir, "batches", "show", "a/b"), ExitCodes.USAGE, "batch id must match");
  }
}
