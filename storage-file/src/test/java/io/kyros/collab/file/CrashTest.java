package io.kyros.collab.file;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.file.harness.ChildJvm;
import io.kyros.collab.file.harness.CrashWriter;
import io.kyros.collab.file.harness.DirectoryTrees;
import io.kyros.collab.file.harness.StoreChecker;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kill -9 crash test of the file backend. Each cycle starts a {@link CrashWriter} JVM (4 threads
 * doing documents, leases with guarded writes, tasks and appends) on the same store directory, so
 * state accumulates across cycles, kills it with SIGKILL ({@link Process#destroyForcibly()}; the
 * exit status 137 = 128 + 9 is asserted) at a random moment, reopens the directory with
 * {@link FileStorage#open} (recovery) and runs {@link StoreChecker} against every acknowledgement
 * printed so far: nothing acknowledged lost, no record torn, the log readable and consistent with
 * the records. Then the index: the acknowledged writes of index entries ({@code ix} lines) are in the
 * documents, the reopened store's index equals a full scan of the documents' entries
 * ({@link IndexAudit}), and the tasks' and leases' entries say what a full scan of those records
 * says (core's {@code conformance.IndexAudit}); while they ran, the writers checked their own index
 * scans after each such write, following each other's commits when two run at once.
 *
 * <p>The random moment is 50..500 ms after the writer printed {@code ready}; in one cycle out of
 * five it is 0..1500 ms after the process started instead, which may be while the writer is still
 * opening, that is recovering, the store. In one cycle out of four a second writer JVM works on the
 * same directory at the same time and is killed 50..300 ms after the first, so its commits meet
 * whatever the first left half-done. In half of the cycles the check runs on a copy of the
 * killed directory, so that the next writer's own {@code open} has to recover the original. The
 * writers create the store with 64 KiB event segments and use a 16 KiB checkpoint threshold in
 * half of the cycles, so kills also land in segment roll-overs and checkpoints.
 *
 * <p>{@code -Dcrash.cycles=N} sets the number of cycles (default 20, the short run of
 * {@code mvn verify}); {@code -Dcrash.seed=S} replays a run's random choices (the moments of the
 * kills still depend on timing). The long run:
 * <pre>
 * ./mvnw -pl storage-file -am verify -Dtest=CrashTest -Dsurefire.failIfNoSpecifiedTests=false -Dcrash.cycles=200
 * </pre>
 * The test ends by printing one line, {@code crash-test cycles=<n> acked=<n> lost=<n> torn=<n> corrupt=<n>},
 * and fails if lost + torn + corrupt &gt; 0. It stops at the first cycle that finds damage; the
 * store, the copy that was checked and the writers' stderr stay in the temp directory it prints.
 */
class CrashTest {
  private static final int THREADS = 4;
  private static final long SEGMENT_BYTES = 64 << 10;
  private static final long SMALL_CHECKPOINT_BYTES = 16 << 10;

  @TempDir(cleanup = CleanupMode.ON_SUCCESS)
  Path tmp;

  @Test
  @Timeout(value = 60, unit = TimeUnit.MINUTES) // the long run; every wait inside a cycle is bounded
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
    List<String> allLines = new ArrayList<>();
    try {
      for (int cycle = 1; cycle <= cycles && failure == null; cycle++) {
        boolean early = random.nextInt(5) == 0;
        long delay = early ? random.nextInt(1501) : 50 + random.nextInt(451);
        boolean onCopy = random.nextBoolean();
        String checkpoint = random.nextBoolean() ? "" + SMALL_CHECKPOINT_BYTES : "default";
        boolean pair = random.nextInt(4) == 0;
        long survivorDelay = 50 + random.nextInt(251);
        String what = "cycle " + cycle + " (kill " + delay + " ms after " + (early ? "start" : "ready")
            + (pair ? ", a second writer killed " + survivorDelay + " ms later" : "") + ", checkpoint " + checkpoint
            + ", check on " + (onCopy ? "a copy" : "the store") + ")";
        List<ChildJvm> writers = new ArrayList<>();
        List<String> lines = new ArrayList<>();
        try {
          for (int w = 0; w < (pair ? 2 : 1); w++) {
            String name = "writer-" + cycle + (w == 0 ? "" : "b");
            writers.add(ChildJvm.start(name, CrashWriter.class, tmp.resolve(name + ".err"),
                List.of(store.toString(), "" + cycle, "" + THREADS, "" + random.nextLong(), "" + SEGMENT_BYTES,
                    checkpoint, "" + w * THREADS)));
          }
          failure = killAll(writers, early, delay, survivorDelay, what);
          for (ChildJvm w : writers) {
            lines.addAll(w.lines());
          }
        } finally {
          for (ChildJvm w : writers) {
            w.close();
          }
        }
        if (failure != null) {
          break;
        }
        acked += checker.addAcks("cycle " + cycle, lines);
        done = cycle;
        Path checked = store;
        if (onCopy && Files.exists(store)) {
          checked = tmp.resolve("checked-" + cycle);
          DirectoryTrees.copy(store, checked);
        }
        Path opened = checked;
        report = checker.checkOpened(() -> FileStorage.open(opened));
        if (report.clean()) {
          // after the recovery, the store checker finds nothing either (it reads what recovery wrote)
          CheckReport checkReport = FileStorage.check(checked);
          if (!checkReport.ok()) {
            failure = what + ": FileStorage.check after recovery: " + checkReport.problems();
          }
          allLines.addAll(lines);
          List<String> indexProblems = auditIndex(checked, allLines);
          if (failure == null && !indexProblems.isEmpty()) {
            failure = what + ": index after recovery: " + indexProblems;
          }
        }
        if (failure != null) {
          break;
        } else if (!report.clean()) {
          failure = what + ": " + report;
        } else if (checked != store) {
          DirectoryTrees.delete(checked);
        }
      }
    } finally {
      System.out.println(StoreChecker.summary("crash-test", done, acked, report));
      System.err.printf("CrashTest: %d cycles in %d s, seed %d, last check %s%n", done,
          TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started), seed, report);
    }
    assertThat(failure).as("seed %d, store and writer stderr in %s", seed, tmp).isNull();
    assertThat(done).isEqualTo(cycles);
    assertThat(acked).as("acknowledged operations").isPositive();
  }

  /**
   * Reopens the store and compares its index with the documents ({@link IndexAudit}), the
   * documents' entries with the acknowledged index writes, and the writers' tasks' and leases'
   * entries with a full scan of them (core's {@code conformance.IndexAudit}).
   */
  static List<String> auditIndex(Path dir, List<String> lines) throws Exception {
    try (FileStorage s = FileStorage.open(dir)) {
      List<String> problems = new ArrayList<>(IndexAudit.checkAcks(s, lines));
      problems.addAll(IndexAudit.tasksAndLeases(s));
      problems.addAll(IndexAudit.auditWithChanges(s, lines.size(), 40));
      return problems;
    }
  }

  /**
   * Kills the first writer at the random moment and, when there is a second one on the same
   * directory, lets it run on (its next commits meet what the first left half-done) before killing
   * it too.
   *
   * @return why the cycle failed, or null
   */
  private static String killAll(List<ChildJvm> writers, boolean early, long delay, long survivorDelay, String what)
      throws InterruptedException {
    if (!early) {
      for (ChildJvm w : writers) {
        if (!w.awaitLine("ready"::equals, Duration.ofSeconds(60))) {
          return what + ": writer did not print ready: " + w.describe();
        }
      }
    }
    for (int i = 0; i < writers.size(); i++) {
      ChildJvm w = writers.get(i);
      if (w.waitFor(Duration.ofMillis(i == 0 ? delay : survivorDelay))) { // the random moment of the kill
        return what + ": writer exited by itself before the kill: " + w.describe();
      }
      w.kill();
      if (w.exitValue() != 128 + 9) {
        return what + ": writer was not killed by SIGKILL: " + w.describe();
      }
    }
    for (ChildJvm w : writers) {
      List<String> errors = w.lines().stream().filter(l -> l.startsWith("error")).toList();
      if (!errors.isEmpty()) {
        return what + ": writer failed: " + errors + "\n" + w.describe();
      }
    }
    return null;
  }
}
