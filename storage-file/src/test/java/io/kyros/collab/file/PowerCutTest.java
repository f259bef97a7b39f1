package io.kyros.collab.file;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.file.harness.CrashWriter;
import io.kyros.collab.file.harness.DirectoryTrees;
import io.kyros.collab.file.harness.PowerCutFileSystem;
import io.kyros.collab.file.harness.StoreChecker;
import io.kyros.collab.file.harness.VolatileDisk;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * Power-loss test of the file backend. {@link CrashTest} kills the writer's process, which keeps the
 * operating system's page cache: a missing {@code force} passes it. Here the store runs on
 * {@link PowerCutFileSystem}, which keeps what was written but not forced apart ({@link VolatileDisk})
 * and cuts the power before a random file operation (a seeded count of changes: writes, truncations,
 * forces, creations, renames, deletions); from then on every operation fails. The directory is then
 * rewritten as a disk could hold it after the cut: everything forced, plus random leftovers of the
 * rest (unforced writes all lost, all kept, a prefix with the next one torn at a byte or in 4 KiB pages,
 * or any mix of old and new pages; a directory's unforced creations, deletions and renames lost in any
 * subset), and {@link StoreChecker} checks it, freshly opened (recovered) in a new boot, against every
 * operation acknowledged before the cut: nothing acknowledged lost, no record torn, the log whole and
 * consistent with the records; then the acknowledged index entries are in the documents and the
 * reopened store's index equals a full scan of the documents' entries ({@link IndexAudit}).
 *
 * <p>Each cycle runs {@link CrashWriter}'s four threads (documents, leases with guarded writes,
 * tasks, appends, through the public {@code Collab} API) in this JVM on the same directory, so state
 * accumulates across cycles. One cycle in five cuts within the first 80 changes, which is while the
 * store is being opened, that is recovering what the last cut left. In half of the cycles the check
 * runs on a copy, so that the next cycle's own open recovers the original. Event segments are 16 KiB
 * and the checkpoint threshold 4, 16 or 64 KiB, so cuts also land in segment roll-overs and
 * checkpoints.
 *
 * <p>{@code -Dpowercut.cycles=N} sets the number of cycles (default 40, the short run of
 * {@code mvn verify}); {@code -Dpowercut.seed=S} replays a run's choices (the threads' interleaving
 * still varies). The long run:
 * <pre>
 * ./mvnw -pl storage-file -am verify -Dtest=PowerCutTest -Dsurefire.failIfNoSpecifiedTests=false -Dpowercut.cycles=1000
 * </pre>
 * The test ends by printing {@code power-cut cycles=<n> acked=<n> lost=<n> torn=<n> corrupt=<n>} (the
 * checker's counts, as in the crash test) followed by what the simulated cuts did, and fails if
 * lost + torn + corrupt &gt; 0. It stops at the first damaged cycle; the store and the copy that was
 * checked stay in the temp directory it prints.
 */
class PowerCutTest {
  private static final int THREADS = 4;
  private static final long SEGMENT_BYTES = 16 << 10;
  private static final long[] CHECKPOINT_BYTES = {4 << 10, 16 << 10, 64 << 10};
  private static final int EARLY_CUTS = 80;
  private static final int LATE_CUTS = 800;

  @TempDir(cleanup = CleanupMode.ON_SUCCESS)
  Path tmp;

  @Test
  @Timeout(value = 60, unit = TimeUnit.MINUTES) // the long run; every wait inside a cycle is bounded
  void powerCutsNeverLoseAcknowledgedCommitsNorLeaveDamage() throws Exception {
    int cycles = Integer.getInteger("powercut.cycles", 40);
    long seed = Long.getLong("powercut.seed", System.nanoTime());
    Path store = Files.createDirectory(tmp.resolve("store")).toRealPath(); // exists, durably, before the first open
    System.out.println("PowerCutTest seed=" + seed + " cycles=" + cycles + " dir=" + tmp);
    Random random = new Random(seed);
    StoreChecker checker = new StoreChecker(new HashSet<>(CrashWriter.COLLECTIONS));
    VolatileDisk.Leftovers leftovers = new VolatileDisk.Leftovers(0, 0, 0, 0, 0);
    long started = System.nanoTime();
    int done = 0;
    int cutWhileOpening = 0;
    long acked = 0;
    StoreChecker.Report report = null;
    String failure = null;
    List<String> allAcks = new ArrayList<>();
    try {
      for (int cycle = 1; cycle <= cycles && failure == null; cycle++) {
        boolean early = random.nextInt(5) == 0;
        long cutAt = 1 + random.nextInt(early ? EARLY_CUTS : LATE_CUTS);
        long checkpointBytes = CHECKPOINT_BYTES[random.nextInt(CHECKPOINT_BYTES.length)];
        boolean onCopy = random.nextBoolean();
        String what = "cycle " + cycle + " (cut before change " + cutAt + ", checkpoint " + checkpointBytes
            + ", check on " + (onCopy ? "a copy" : "the store") + ")";
        VolatileDisk disk = VolatileDisk.load(store, cutAt);
        List<String> acks = new CopyOnWriteArrayList<>();
        Run run = runUntilCut(disk, store, cycle, checkpointBytes, random.nextLong(), acks);
        if (run.failure() != null) {
          failure = what + ": " + run.failure();
          break;
        }
        cutWhileOpening += run.cutWhileOpening() ? 1 : 0;
        leftovers = leftovers.plus(disk.materialize(random));
        acked += checker.addAcks("cycle " + cycle, acks);
        done = cycle;
        Path checked = store;
        if (onCopy) {
          checked = tmp.resolve("checked-" + cycle);
          DirectoryTrees.copy(store, checked);
        }
        // the check opens in a new boot too; when it runs on the store, the next cycle starts from what its
        // recovery wrote, as after a clean shutdown
        Path opened = PowerCutFileSystem.on(VolatileDisk.load(checked.toRealPath(), Long.MAX_VALUE))
            .getPath(checked.toString());
        report = checker.checkOpened(() -> FileStorage.builder(opened).checkpointBytes(checkpointBytes).open());
        allAcks.addAll(acks);
        if (!report.clean()) {
          failure = what + ": " + report;
        } else {
          try (FileStorage s = FileStorage.builder(opened).checkpointBytes(checkpointBytes).open()) {
            List<String> indexProblems = new ArrayList<>(IndexAudit.checkAcks(s, allAcks));
            indexProblems.addAll(IndexAudit.tasksAndLeases(s));
            indexProblems.addAll(IndexAudit.auditWithChanges(s, cycle, 40));
            if (!indexProblems.isEmpty()) {
              failure = what + ": index after recovery: " + indexProblems;
            }
          }
        }
        if (failure == null && checked != store) {
          DirectoryTrees.delete(checked);
        }
      }
    } finally {
      System.out.println(StoreChecker.summary("power-cut", done, acked, report) + " | cuts while opening="
          + cutWhileOpening + " " + leftovers);
      System.err.printf("PowerCutTest: %d cycles in %d s, seed %d, last check %s%n", done,
          TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started), seed, report);
    }
    assertThat(failure).as("seed %d, store in %s", seed, tmp).isNull();
    assertThat(done).isEqualTo(cycles);
    assertThat(acked).as("acknowledged operations").isPositive();
    if (cycles >= 50) {
      // the cuts really did lose and tear unforced work, and land in openings
      assertThat(leftovers.droppedWrites()).as("files whose unforced writes were all lost").isPositive();
      assertThat(leftovers.tornWrites()).as("files left with torn writes").isPositive();
      assertThat(leftovers.lostEntries()).as("directory changes lost").isPositive();
      assertThat(cutWhileOpening).as("cuts while opening").isPositive();
    }
  }

  /** How a cycle's run ended: whether the cut fell while opening, and why it failed (null if it did not). */
  private record Run(boolean cutWhileOpening, String failure) {}

  /** Opens the store on the disk and runs the writer threads until the power is cut. */
  private static Run runUntilCut(VolatileDisk disk, Path store, int cycle, long checkpointBytes, long seed,
      List<String> acks) throws InterruptedException {
    FileStorage storage;
    try {
      storage = FileStorage.builder(PowerCutFileSystem.on(disk).getPath(store.toString()))
          .segmentBytes(SEGMENT_BYTES).checkpointBytes(checkpointBytes).open();
    } catch (RuntimeException e) {
      if (disk.isCut()) {
        return new Run(true, null);
      }
      throw e;
    }
    String failure = null;
    try {
      List<Thread> threads;
      try {
        threads = CrashWriter.start(storage, cycle, 0, THREADS, seed, acks::add, disk::isCut, () -> {});
      } catch (RuntimeException e) {
        if (disk.isCut()) {
          // the cut fell in a commit the Collab makes as it is built (its index format's marker, TaskReindex), before
          // any writer ran: a cut while opening, which the cycle's check judges like any other
          return new Run(true, null);
        }
        throw e;
      }
      if (!disk.awaitCut(TimeUnit.SECONDS.toMillis(60))) {
        failure = "no cut within 60 s (" + disk.ticks() + " changes made)";
        disk.cutNow();
      }
      for (Thread t : threads) {
        t.join(TimeUnit.SECONDS.toMillis(30));
        if (t.isAlive()) {
          failure = "writer thread " + t.getName() + " did not stop after the cut";
        }
      }
    } finally {
      storage.close();
    }
    List<String> errors = acks.stream().filter(l -> l.startsWith("error")).toList();
    return new Run(false, errors.isEmpty() ? failure : "writer failed before the cut: " + errors);
  }
}
