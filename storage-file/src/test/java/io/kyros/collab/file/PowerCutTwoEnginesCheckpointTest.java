package io.kyros.collab.file;

import io.kyros.collab.Collab;
import io.kyros.collab.Document;
import io.kyros.collab.ETag;
import io.kyros.collab.Preconditions;
import io.kyros.collab.file.harness.PowerCutFileSystem;
import io.kyros.collab.file.harness.VolatileDisk;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checkpoints with two engines on one directory, standing in for two processes of one boot: two power-cut file
 * systems over one disk (so the registry sees two directories), their commits made from one thread. Each engine opens
 * on a journal holding an earlier engine's entries and adopts them ({@link Checkpoints#adopt}); the other engine's
 * commits and checkpoints in between must make it forget what it knew ({@link Checkpoints#forget}) wherever that
 * knowledge became incomplete, so that its checkpoint still forces every file the journal touched before emptying it.
 * After a power cut right after that checkpoint, every document must hold its last acknowledged value (without the
 * counters' check in {@code Recovery.catchUp}, a document is lost).
 */
class PowerCutTwoEnginesCheckpointTest {
  private static final int TRIES = 12;
  @TempDir
  Path tmp;

  /** What the other engine does between the first engine's open and its first commit. */
  enum Other { COMMITS, CHECKPOINTS, CHECKPOINTS_THEN_COMMITS, OPENS_ONLY }

  @Test
  @Timeout(value = 5, unit = TimeUnit.MINUTES)
  void anotherEngineCommitsOrCheckpointsBetweenAnOpenAndItsFirstCommit() throws Exception {
    for (Other other : Other.values()) {
      for (int seed = 0; seed < TRIES; seed++) {
        run(other, seed);
      }
    }
  }

  private void run(Other other, int seed) throws Exception {
    Path store = Files.createDirectories(tmp.resolve(other + "-" + seed)).toRealPath();
    VolatileDisk disk = VolatileDisk.load(store, Long.MAX_VALUE);
    Random random = new Random(seed);
    Map<String, ETag> written = new HashMap<>();
    try (FileStorage s0 = open(disk, store);
        Collab c0 = Collab.builder().storage(s0).holder("zero").build()) {
      for (int i = 0; i < 6; i++) {
        written.put("z" + i, c0.documents().put("c", "z" + i, Map.of("v", i, "pad", "x".repeat(200)),
            Preconditions.none()).etag());
      }
    }
    FileStorage sa = open(disk, store); // adopts the journal holding the z documents
    Collab ca = Collab.builder().storage(sa).holder("a").build();
    try (FileStorage sb = open(disk, store);
        Collab cb = Collab.builder().storage(sb).holder("b").build()) {
      int n = 0;
      switch (other) {
        case COMMITS -> {
          for (int i = 0; i < 5; i++) {
            put(cb, "b" + (n++), written);
          }
        }
        case CHECKPOINTS -> {
          do {
            put(cb, "b" + (n++ % 20), written);
          } while (!PowerCutCheckpointTest.journalEmpty(store));
        }
        case CHECKPOINTS_THEN_COMMITS -> {
          do {
            put(cb, "b" + (n++ % 20), written);
          } while (!PowerCutCheckpointTest.journalEmpty(store));
          for (int i = 0; i < 4; i++) {
            put(cb, "bb" + i, written);
          }
        }
        case OPENS_ONLY -> { }
      }
    }
    int[] writes = {0};
    int seen = 0;
    while (seen < 1) {
      String id = "d" + random.nextInt(30);
      Document d = ca.documents().put("c", id, Map.of("write", ++writes[0], "pad", "x".repeat(200)),
          Preconditions.none());
      written.put(id, d.etag());
      if (PowerCutCheckpointTest.journalEmpty(store)) {
        seen++;
      }
    }
    disk.cutNow();
    ca.close();
    sa.close();
    disk.materialize(random);
    PowerCutCheckpointTest.assertLastValues(store, written, other + ", seed " + seed);
  }

  /** Both engines open on a journal with entries, then commit in random alternation until 1 to 3 checkpoints; cut. */
  @Test
  @Timeout(value = 5, unit = TimeUnit.MINUTES)
  void twoEnginesCommittingInTurnAfterBothAdoptedTheJournal() throws Exception {
    for (int seed = 0; seed < 40; seed++) {
      Path store = Files.createDirectories(tmp.resolve("interleaved-" + seed)).toRealPath();
      VolatileDisk disk = VolatileDisk.load(store, Long.MAX_VALUE);
      Random random = new Random(seed);
      Map<String, ETag> written = new HashMap<>();
      try (FileStorage s0 = open(disk, store);
          Collab c0 = Collab.builder().storage(s0).holder("zero").build()) {
        for (int i = 0; i < 3 + random.nextInt(12); i++) {
          put(c0, "z" + i, written);
        }
      }
      FileStorage sa = open(disk, store);
      Collab ca = Collab.builder().storage(sa).holder("a").build();
      FileStorage sb = open(disk, store);
      Collab cb = Collab.builder().storage(sb).holder("b").build();
      int seen = 0;
      int stop = 1 + random.nextInt(3);
      while (seen < stop) {
        boolean a = random.nextInt(4) != 0;
        int run = 1 + random.nextInt(a ? 12 : 3);
        for (int i = 0; i < run && seen < stop; i++) {
          put(a ? ca : cb, "d" + random.nextInt(40), written);
          if (PowerCutCheckpointTest.journalEmpty(store)) {
            seen++;
          }
        }
      }
      disk.cutNow();
      cb.close();
      sb.close();
      ca.close();
      sa.close();
      disk.materialize(random);
      PowerCutCheckpointTest.assertLastValues(store, written, "interleaved, seed " + seed);
    }
  }

  /** Opens an engine of its own on the store, over the shared disk, with checkpoints every 8 KiB of journal. */
  private static FileStorage open(VolatileDisk disk, Path store) {
    return FileStorage.builder(PowerCutFileSystem.on(disk).getPath(store.toString())).checkpointBytes(8192).open();
  }

  private static void put(Collab c, String id, Map<String, ETag> written) {
    written.put(id, c.documents().put("c", id, Map.of("v", id, "pad", "y".repeat(200)), Preconditions.none()).etag());
  }

}
