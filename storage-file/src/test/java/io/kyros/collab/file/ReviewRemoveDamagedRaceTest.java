package io.kyros.collab.file;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.Collab;
import io.kyros.collab.spi.RecordKey;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * removeDamaged checks the damage with a read and removes with an unconditional delete: two repairs
 * racing both "remove the damaged document", and the later one deletes the document a caller created
 * again after the first repair returned.
 */
class ReviewRemoveDamagedRaceTest {
  @TempDir
  Path tmp;

  @Test
  void removeDamagedNeverRemovesAReadableDocument() throws Exception {
    List<String> lost = new ArrayList<>();
    try (FileStorage s = FileStorage.builder(tmp.resolve("store")).durability(FileStorage.Durability.NONE).open();
        Collab c = Collab.builder().storage(s).holder("h").build()) {
      for (int trial = 0; trial < 40 && lost.isEmpty(); trial++) {
        String id = "d" + trial;
        c.documents().create("c", id, Map.of("v", 1));
        Path file = s.root().resolve("state/c/" + id + ".json");
        Files.write(file, "{\"garbage\"".getBytes()); // damaged
        RecordKey key = new RecordKey("c", id);
        CyclicBarrier start = new CyclicBarrier(2);
        AtomicReference<Throwable> aFailure = new AtomicReference<>();
        Thread a = new Thread(() -> {
          try {
            start.await();
            s.removeDamaged(key);
            c.documents().create("c", id, Map.of("v", "recreated")); // the repair is done: create it again
          } catch (Throwable t) {
            aFailure.set(t);
          }
        });
        a.start();
        boolean bRemoved;
        start.await();
        try {
          s.removeDamaged(key);
          bRemoved = true;
        } catch (IllegalStateException notDamaged) {
          bRemoved = false;
        }
        a.join();
        if (aFailure.get() == null && c.documents().get("c", id).isEmpty()) {
          lost.add("trial " + trial + ": recreated document gone (second removeDamaged succeeded: " + bRemoved + ")");
        }
      }
    }
    assertThat(lost).as("readable documents removed by removeDamaged").isEmpty();
  }
}
