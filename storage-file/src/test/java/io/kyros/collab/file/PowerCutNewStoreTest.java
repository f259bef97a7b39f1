package io.kyros.collab.file;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.Collab;
import io.kyros.collab.Document;
import io.kyros.collab.file.harness.PowerCutFileSystem;
import io.kyros.collab.file.harness.VolatileDisk;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A store whose directory the first open creates keeps its acknowledged commits across a power loss: the new
 * directory's entry in its parent is forced, or the disk may lose the whole store with everything in it.
 */
class PowerCutNewStoreTest {
  private static final int TRIES = 24;

  @TempDir
  Path tmp;

  @Test
  void aStoreCreatedByItsFirstOpenSurvivesAPowerLossWithItsCommits() throws Exception {
    for (int seed = 0; seed < TRIES; seed++) {
      Path base = Files.createDirectory(tmp.resolve("base-" + seed)).toRealPath(); // durable before the test
      VolatileDisk disk = VolatileDisk.load(base, Long.MAX_VALUE);
      Path store = base.resolve("store"); // does not exist yet: the open creates it
      Document written;
      try (FileStorage storage = FileStorage.open(PowerCutFileSystem.on(disk).getPath(store.toString()));
          Collab collab = Collab.builder().storage(storage).holder("power-cut").build()) {
        written = collab.documents().create("c", "d", Map.of("seed", seed)); // acknowledged: durable
      }
      disk.cutNow();
      disk.materialize(new Random(seed)); // unforced writes and directory entries dropped in some random way

      assertThat(store).as("store directory after the power loss, seed %d", seed).isDirectory();
      try (FileStorage storage = FileStorage.open(store);
          Collab collab = Collab.builder().storage(storage).holder("after").build()) {
        assertThat(collab.documents().get("c", "d")).as("acknowledged document, seed %d", seed)
            .hasValueSatisfying(d -> assertThat(d.etag()).isEqualTo(written.etag()));
      }
    }
  }
}
