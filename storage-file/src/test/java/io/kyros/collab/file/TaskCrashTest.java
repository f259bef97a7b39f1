package io.kyros.collab.file;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.Collab;
import io.kyros.collab.Task;
import io.kyros.collab.conformance.IndexAudit;
import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.file.harness.ChildJvm;
import io.kyros.collab.file.harness.TaskCrashWorker;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kill -9 of JVMs moving tasks through the file store's indexes (issue 12): after each crash the reopened store's
 * indexes say what a full scan of its tasks and leases says ({@link IndexAudit}, core's: the status, ready (by
 * label), delayed, waits and expires entries, and parked claims), and what the dead JVMs acknowledged is there.
 *
 * <p>Each cycle starts a {@link TaskCrashWorker} JVM, and in one cycle out of three a second one on the same
 * directory, on the same store, so state accumulates across cycles: tasks created with priorities, labels and
 * dependencies; claimed (best first, by label, several at once, by id), completed, failed with a backoff, released,
 * moved with and without their claim, their dependencies and labels changed; claims left to go stale (the workers
 * advance their clocks past the ttl) and reclaimed; another workflow's stale claims parked. A random 300 to 1,500 ms
 * after the JVMs printed {@code ready}, each is killed with SIGKILL (exit status 137 asserted). The test then opens
 * the directory (recovery) on a clock an hour past the furthest the cycle's JVMs moved theirs (past every claim's ttl
 * and every backoff; the next cycle's clocks start a day later),
 * makes one claim that can take nothing (a label no task has), which does what a claim finishes first (a crashed
 * completion's sweep of its waiters, the stale claims, the due backoffs), and checks:
 * <ul>
 *   <li>{@link IndexAudit#check}: every index equals what a full scan of the records says, and the file store's
 *       in-memory index equals the entries stored in its documents (this package's {@code IndexAudit});</li>
 *   <li>every task acknowledged {@code created} exists, and every one acknowledged {@code done} is done (a terminal
 *       status: nothing moves it back);</li>
 *   <li>{@link FileStorage#check} finds nothing wrong once the store is closed.</li>
 * </ul>
 * Half of the cycles use a 16 KiB checkpoint threshold, so kills also land in checkpoints; segments are 64 KiB.
 *
 * <p>{@code -Dtaskcrash.cycles=N} sets the number of cycles (default 8); {@code -Dtaskcrash.seed=S} replays a run's
 * random choices (the moments of the kills still depend on timing). The store and the workers' stderr stay in the
 * temp directory the test prints when it fails.
 */
class TaskCrashTest {
  /** The first cycle's clocks start here; each later one a day after the previous audit. */
  private static final Instant START = Instant.parse("2026-01-01T00:00:00Z");
  private static final long SMALL_CHECKPOINT_BYTES = 16 << 10;

  @TempDir(cleanup = CleanupMode.ON_SUCCESS)
  Path tmp;

  @Test
  @Timeout(value = 60, unit = TimeUnit.MINUTES) // a long run (-Dtaskcrash.cycles); every wait in a cycle is bounded
  void afterEveryCrashTheIndexesEqualAFullScanAndNothingAcknowledgedIsLost() throws Exception {
    int cycles = Integer.getInteger("taskcrash.cycles", 8);
    long seed = Long.getLong("taskcrash.seed", System.nanoTime());
    System.out.println("TaskCrashTest seed=" + seed + " cycles=" + cycles + " dir=" + tmp);
    Random random = new Random(seed);
    Path store = tmp.resolve("store");
    Map<String, Integer> acks = new TreeMap<>();
    List<String> createdIds = new ArrayList<>();
    List<String> doneIds = new ArrayList<>();
    Instant start = START;
    for (int cycle = 1; cycle <= cycles; cycle++) {
      boolean pair = random.nextInt(3) == 0;
      String checkpoint = random.nextBoolean() ? "" + SMALL_CHECKPOINT_BYTES : "default";
      long delay = 300 + random.nextInt(1201);
      String what = "seed " + seed + ", cycle " + cycle + " (" + (pair ? "two JVMs" : "one JVM") + ", killed "
          + delay + " ms after ready, checkpoint " + checkpoint + "), files in " + tmp;
      List<ChildJvm> workers = new ArrayList<>();
      List<String> lines = new ArrayList<>();
      long furthest = 0;
      try {
        for (int w = 0; w < (pair ? 2 : 1); w++) {
          String name = "w" + cycle + (char) ('a' + w);
          workers.add(ChildJvm.start(name, TaskCrashWorker.class, tmp.resolve(name + ".err"),
              List.of(store.toString(), name, "" + random.nextLong(), "" + start.toEpochMilli(), checkpoint)));
        }
        for (ChildJvm w : workers) {
          assertThat(w.awaitLine("ready"::equals, Duration.ofSeconds(60))).as("%s: %s", what, w.describe()).isTrue();
        }
        ChildJvm first = workers.get(0);
        assertThat(first.waitFor(Duration.ofMillis(delay))).as("%s: exited by itself: %s", what, first.describe())
            .isFalse();
        for (ChildJvm w : workers) {
          w.kill();
          assertThat(w.exitValue()).as("%s: killed by SIGKILL: %s", what, w.describe()).isEqualTo(128 + 9);
          lines.addAll(w.lines());
          // the audit's clock must be past this JVM's, which moved 61 s per advance
          long advances = w.lines().stream().filter("advanced"::equals).count();
          furthest = Math.max(furthest, advances);
        }
      } finally {
        for (ChildJvm w : workers) {
          w.close();
        }
      }
      assertThat(lines).as(what).noneMatch(l -> l.startsWith("error"));
      for (String line : lines) {
        String[] f = line.split(" ");
        acks.merge(f[0], 1, Integer::sum);
        if (f[0].equals("created")) {
          createdIds.add(f[1]);
        } else if (f[0].equals("done")) {
          doneIds.add(f[1]);
        }
      }
      // past every claim's ttl and every backoff (at most 120 s) of the cycle's JVMs
      Instant audit = start.plus(TaskCrashWorker.ADVANCE.multipliedBy(furthest)).plus(Duration.ofHours(1));
      try (FileStorage storage = FileStorage.builder(store).clock(new MutableClock(audit)).open();
          Collab auditor = Collab.builder().storage(storage).holder("auditor").build()) {
        assertThat(auditor.tasks().claimNext("auditor", Duration.ofMinutes(1), Set.of("no-such-label")))
            .as("%s: a claim no task matches", what).isEmpty();
        try {
          IndexAudit.check(storage, storage.now());
        } catch (AssertionError e) {
          throw new AssertionError(what + ": " + e.getMessage(), e);
        }
        assertThat(io.kyros.collab.file.IndexAudit.audit(storage)).as("%s: the file index against its documents", what)
            .isEmpty();
        for (String id : createdIds) {
          assertThat(auditor.tasks().get(id)).as("%s: acknowledged task %s", what, id).isPresent();
        }
        for (String id : doneIds) {
          assertThat(auditor.tasks().get(id).map(Task::status)).as("%s: task %s acknowledged done", what, id)
              .isEqualTo(Optional.of("done"));
        }
      }
      CheckReport report = FileStorage.check(store);
      assertThat(report.ok()).as("%s: %s", what, report.problems()).isTrue();
      start = audit.plus(Duration.ofDays(1)); // the next cycle's clocks start past this one's
    }
    System.out.println("TaskCrashTest acks " + acks);
    // the cycles moved tasks in every way the audit covers, not only created them
    assertThat(acks).as("acknowledged operations over %d cycles", cycles)
        .containsKeys("created", "claimed", "done", "failed", "released", "working", "moved", "updated", "other",
            "advanced");
  }
}
