package io.kyros.collab.file;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.Collab;
import io.kyros.collab.Document;
import io.kyros.collab.ETag;
import io.kyros.collab.Preconditions;
import io.kyros.collab.file.harness.PowerCutFileSystem;
import io.kyros.collab.file.harness.VolatileDisk;
import java.nio.channels.FileChannel;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A checkpoint empties the journal only once every document file its entries touched is forced after
 * its last write, including the files that early forces ({@link Checkpoints#forceEarly}) took while
 * commits went on. Each try rewrites 30 documents again and again with a checkpoint threshold of
 * 8 KiB (an early force every 512 bytes of journal, so nearly every commit starts one, and most
 * documents are written again after their early force), stops right after a checkpoint emptied the
 * journal, cuts the power and drops what was not forced in a seeded random way. With the journal
 * empty, every document after the reopen comes from its file alone: each must hold its last
 * acknowledged value.
 *
 * <p>The second test makes one early force fail as on a disk error ({@link VolatileDisk#failForces}):
 * the checkpoint that awaits it must fail and keep the journal, and a later checkpoint must force the
 * file again before it empties the journal. Ignoring the failed force loses that document (the test
 * then fails with a torn or stale document after the cut).
 */
class PowerCutCheckpointTest {
  private static final int TRIES = 8;
  private static final int DOCUMENTS = 30;
  /** Checkpoints per try: several run after early forces. */
  private static final int CHECKPOINTS = 3;

  @TempDir
  Path tmp;

  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES) // a regression that stops forcing must fail, not hang
  void documentsWrittenBeforeACheckpointSurviveAPowerCutRightAfterIt() throws Exception {
    for (int seed = 0; seed < TRIES; seed++) {
      Path store = Files.createDirectories(tmp.resolve("store-" + seed)).toRealPath(); // durable before the test
      VolatileDisk disk = VolatileDisk.load(store, Long.MAX_VALUE);
      Random random = new Random(seed);
      Map<String, ETag> written = new HashMap<>();
      int[] writes = {0};
      try (FileStorage storage = FileStorage.builder(PowerCutFileSystem.on(disk).getPath(store.toString()))
              .checkpointBytes(8192).open();
          Collab collab = Collab.builder().storage(storage).holder("power-cut").build()) {
        writeUntil(collab, store, random, written, writes, CHECKPOINTS);
        disk.cutNow(); // before the close: nothing after the checkpoint's own forces helps
      }
      disk.materialize(random);

      assertLastValues(store, written, "after " + writes[0] + " writes and a power cut right after checkpoint "
          + CHECKPOINTS + ", seed " + seed);
    }
  }

  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void aFailedEarlyForceFailsTheCheckpointAndALaterOneForcesTheFile() throws Exception {
    for (int seed = 0; seed < TRIES; seed++) {
      Path store = Files.createDirectories(tmp.resolve("failing-" + seed)).toRealPath();
      VolatileDisk disk = VolatileDisk.load(store, Long.MAX_VALUE);
      Random random = new Random(seed);
      Map<String, ETag> written = new HashMap<>();
      try (FileStorage storage = FileStorage.builder(PowerCutFileSystem.on(disk).getPath(store.toString()))
              .checkpointBytes(8192).open();
          Collab collab = Collab.builder().storage(storage).holder("power-cut").build()) {
        written.put("victim", collab.documents().put("c", "victim", Map.of("v", 0), Preconditions.none()).etag());
        int[] writes = {0};
        writeUntil(collab, store, random, written, writes, CHECKPOINTS - 1);
        // documents are written in place: the file stays the one armed here
        disk.failForces(store.resolve("state").resolve("c").resolve("victim.json"), 1);
        written.put("victim", collab.documents().put("c", "victim", Map.of("v", 1), Preconditions.none()).etag());
        while (disk.failedForces() == 0) { // the victim's early force fails, then the checkpoint that awaits it
          writeUntil(collab, store, random, written, writes, 1);
        }
        writeUntil(collab, store, random, written, writes, 1); // a checkpoint after the failed one
        disk.cutNow();
      }
      assertThat(disk.failedForces()).as("forces failed, seed %d", seed).isEqualTo(1);
      disk.materialize(random);

      assertLastValues(store, written, "after a failed early force and a power cut, seed " + seed);
    }
  }

  /**
   * An engine that opens a store whose journal still holds entries (an earlier engine closed between checkpoints)
   * adopts them: its early forces and checkpoints force the files those entries touched, before its first checkpoint
   * empties the journal. A reopen that took the journal as empty would lose the earlier engine's last documents.
   */
  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void documentsAnEarlierEngineJournaledSurviveAPowerCutAfterTheNextEnginesCheckpoint() throws Exception {
    for (int seed = 0; seed < TRIES; seed++) {
      Path store = Files.createDirectories(tmp.resolve("reopened-" + seed)).toRealPath();
      VolatileDisk disk = VolatileDisk.load(store, Long.MAX_VALUE);
      Random random = new Random(seed);
      Map<String, ETag> written = new HashMap<>();
      Path path = PowerCutFileSystem.on(disk).getPath(store.toString());
      try (FileStorage storage = FileStorage.builder(path).checkpointBytes(8192).open();
          Collab collab = Collab.builder().storage(storage).holder("first").build()) {
        for (int i = 0; i < 6; i++) { // about 2.5 KiB of journal: early forces for some, no checkpoint
          written.put("first-" + i, collab.documents().put("c", "first-" + i, Map.of("v", i, "pad", "x".repeat(200)),
              Preconditions.none()).etag());
        }
      }
      assertThat(journalEmpty(store)).as("journal after the first engine closed, seed %d", seed).isFalse();
      int[] writes = {0};
      try (FileStorage storage = FileStorage.builder(path).checkpointBytes(8192).open();
          Collab collab = Collab.builder().storage(storage).holder("second").build()) {
        writeUntil(collab, store, random, written, writes, 1);
        disk.cutNow();
      }
      disk.materialize(random);

      assertLastValues(store, written, "after a reopen, " + writes[0] + " writes, a checkpoint and a power cut, seed "
          + seed);
    }
  }

  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void closingWaitsForARunningEarlyForce() throws Exception {
    Path store = Files.createDirectories(tmp.resolve("closing")).toRealPath();
    VolatileDisk disk = VolatileDisk.load(store, Long.MAX_VALUE);
    CountDownLatch held = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    AtomicReference<Thread> forcing = new AtomicReference<>();
    // holds the first early force (a stage after a checkpoint, many stages before the next one)
    disk.onForce(() -> {
      if (Thread.currentThread().getName().startsWith("collab-file-early-force-")
          && forcing.compareAndSet(null, Thread.currentThread())) {
        held.countDown();
        try {
          release.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    });
    FileStorage storage = FileStorage.builder(PowerCutFileSystem.on(disk).getPath(store.toString()))
        .checkpointBytes(8192).open();
    Collab collab = Collab.builder().storage(storage).holder("closing").build();
    for (int i = 0; held.getCount() > 0; i++) {
      collab.documents().put("c", "d" + (i % DOCUMENTS), Map.of("v", i), Preconditions.none());
    }
    Thread closer = new Thread(() -> {
      collab.close();
      storage.close();
    }, "closer");
    closer.start();

    // close waits for the force the early thread runs, instead of leaving it to touch the files after close
    awaitCondition(() -> isStopping(closer));
    assertThat(forcing.get().isAlive()).isTrue();
    release.countDown();
    closer.join(TimeUnit.MINUTES.toMillis(1));
    assertThat(closer.isAlive()).as("close returned").isFalse();
  }

  /** @return true if the thread waits in {@code Checkpoints.close} for a forcing thread to end */
  private static boolean isStopping(Thread t) {
    for (StackTraceElement e : t.getStackTrace()) {
      if (e.getClassName().equals(Checkpoints.class.getName()) && e.getMethodName().equals("stop")) {
        return t.getState() == Thread.State.TIMED_WAITING;
      }
    }
    return false;
  }

  private static void awaitCondition(java.util.function.BooleanSupplier condition) {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime() - deadline).as("timed out waiting for close to wait for the force").isNegative();
      java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
    }
  }

  /** Reopens the store (recovering it) and checks that each document holds its last acknowledged value. */
  static void assertLastValues(Path store, Map<String, ETag> written, String when) {
    try (FileStorage storage = FileStorage.open(store);
        Collab collab = Collab.builder().storage(storage).holder("after").build()) {
      for (Map.Entry<String, ETag> e : written.entrySet()) {
        assertThat(collab.documents().get("c", e.getKey()))
            .as("document %s %s", e.getKey(), when)
            .hasValueSatisfying(d -> assertThat(d.etag()).isEqualTo(e.getValue()));
      }
    }
  }

  /** Rewrites random documents until {@code checkpoints} more checkpoints emptied the journal. */
  private static void writeUntil(Collab collab, Path store, Random random, Map<String, ETag> written, int[] writes,
      int checkpoints) throws Exception {
    int seen = 0;
    while (seen < checkpoints) {
      String id = "d" + random.nextInt(DOCUMENTS);
      Document d = collab.documents().put("c", id, Map.of("write", ++writes[0], "pad", "x".repeat(200)),
          Preconditions.none());
      written.put(id, d.etag());
      if (journalEmpty(store)) {
        seen++;
      }
    }
  }

  /** @return whether the journal holds no entry: its first byte is a preallocated zero */
  static boolean journalEmpty(Path store) throws Exception {
    try (FileChannel ch = FileChannel.open(store.resolve(Journal.NAME), StandardOpenOption.READ)) {
      ByteBuffer first = ByteBuffer.allocate(1);
      return ch.read(first, 0) <= 0 || first.get(0) == 0;
    }
  }
}
