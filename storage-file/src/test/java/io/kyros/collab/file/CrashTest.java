package io.kyros.collab.file;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.file.harness.ChildJvm;
import io.kyros.collab.file.harness.CrashWriter;
import io.kyros.collab.file.harness.StoreChecker;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kill -9 crash test of the file backend. Each cycle starts a {@link CrashWriter} JVM on the same
 * store directory (state accumulates across cycles), lets it run for a random 50..500 ms after it
 * printed {@code ready}, kills it with SIGKILL ({@link Process#destroyForcibly()}; the exit status
 * 137 = 128 + 9 is asserted), reopens the directory with {@link FileStorage#open} (recovery), and
 * runs {@link StoreChecker} against every acknowledgement printed so far: nothing acknowledged lost,
 * no record torn, the log readable and consistent with the records.
 *
 * <p>{@code -Dcrash.cycles=N} sets the number of cycles (default 20, the short run of
 * {@code mvn verify}); {@code -Dcrash.seed=S} replays a run. The long run:
 * <pre>
 * ./mvnw -pl storage-file -am verify -Dtest=CrashTest -Dsurefire.failIfNoSpecifiedTests=false -Dcrash.cycles=200
 * </pre>
 * The test ends by printing one line, {@code crash-test cycles=<n> acked=<n> lost=<n> torn=<n> corrupt=<n>},
 * and fails if lost + torn + corrupt &gt; 0. It stops at the first cycle that finds damage; the
 * store and the writers' stderr stay in the temp directory it prints.
 */
class CrashTest {
  private static final int THREADS = 4;

  @TempDir(cleanup = CleanupMode.ON_SUCCESS)
  Path tmp;

  @Test
  @Timeout(value = 60, unit = TimeUnit.MINUTES) // the long run; each cycle has its own bounded waits
  void killedWritersNeverLoseAcknowledgedWorkNorLeaveDamage() throws Exception {
    int cycles = Integer.getInteger("crash.cycles", 20);
    long seed = Long.getLong("crash.seed", System.nanoTime());
    Path store = tmp.resolve("store");
    System.out.println("CrashTest seed=" + seed + " cycles=" + cycles + " dir=" + tmp);
    Random random = new Random(seed);
    StoreChecker checker = new StoreChecker(new HashSet<>(CrashWriter.COLLECTIONS));
    long started = System.nanoTime();
    int done = 0;
    long acked = 0;
    StoreChecker.Report report = null;
    String failure = null;
    try {
      for (int cycle = 1; cycle <= cycles && failure == null; cycle++) {
        long delay = 50 + random.nextInt(451);
        String name = "writer-" + cycle;
        List<String> lines;
        try (ChildJvm writer = ChildJvm.start(name, CrashWriter.class, tmp.resolve(name + ".err"),
            List.of(store.toString(), "" + cycle, "" + THREADS, "" + random.nextLong()))) {
          if (!writer.awaitLine("ready"::equals, Duration.ofSeconds(60))) {
            failure = "cycle " + cycle + ": writer did not print ready: " + writer.describe();
            break;
          }
          if (writer.waitFor(Duration.ofMillis(delay))) { // the random moment of the kill
            failure = "cycle " + cycle + ": writer exited by itself before the kill: " + writer.describe();
            break;
          }
          writer.kill();
          if (writer.exitValue() != 128 + 9) {
            failure = "cycle " + cycle + ": writer was not killed by SIGKILL: " + writer.describe();
            break;
          }
          lines = writer.lines();
          List<String> errors = lines.stream().filter(l -> l.startsWith("error")).toList();
          if (!errors.isEmpty()) {
            failure = "cycle " + cycle + ": writer failed: " + errors + "\n" + writer.describe();
          }
        }
        acked += checker.addAcks("cycle " + cycle, lines);
        done = cycle;
        try (FileStorage reopened = FileStorage.open(store)) {
          report = checker.check(reopened);
        } catch (RuntimeException e) {
          report = new StoreChecker.Report(acked, 0, 0, 1, 0, 0, List.of("corrupt: reopening failed: " + e));
        }
        if (!report.clean()) {
          failure = "cycle " + cycle + " (killed after " + delay + " ms): " + report;
        }
      }
    } finally {
      int lost = report == null ? 0 : report.lost();
      int torn = report == null ? 0 : report.torn();
      int corrupt = report == null ? 0 : report.corrupt();
      System.out.println("crash-test cycles=" + done + " acked=" + acked + " lost=" + lost + " torn=" + torn
          + " corrupt=" + corrupt);
      System.err.printf("CrashTest: %d cycles in %d s, seed %d, last check %s%n", done,
          TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started), seed, report);
    }
    assertThat(failure).as("seed %d, store and writer stderr in %s", seed, tmp).isNull();
    assertThat(done).isEqualTo(cycles);
    assertThat(acked).as("acknowledged operations").isPositive();
  }
}
