package io.kyros.collab.file;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.Collab;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** check() on a healthy store that another writer is committing to must not report damage. */
class ReviewCheckWhileWritingTest {
  @TempDir
  Path tmp;

  @Test
  void checkOfAHealthyStoreBeingWrittenReportsNoProblem() throws Exception {
    Path store = tmp.resolve("store");
    List<String> problems = new ArrayList<>();
    try (FileStorage storage = FileStorage.builder(store).durability(FileStorage.Durability.NONE)
            .segmentBytes(8192).checkpointBytes(16384).open();
        Collab collab = Collab.builder().storage(storage).holder("w").build()) {
      collab.documents().create("c", "d", Map.of("n", 0));
      AtomicBoolean stop = new AtomicBoolean();
      Thread writer = new Thread(() -> {
        for (int i = 1; !stop.get(); i++) {
          var d = collab.documents().get("c", "d").orElseThrow();
          collab.documents().replace("c", "d", Map.of("n", i, "pad", "p".repeat(i % 2 == 0 ? 10 : 3000)), d.etag());
          collab.events().append("t", "s", Map.of("i", i));
        }
      });
      writer.start();
      try {
        for (int k = 0; k < 200 && problems.isEmpty(); k++) {
          FileStorage.check(store).problems().forEach(p -> problems.add(p.toString()));
        }
      } finally {
        stop.set(true);
        writer.join();
      }
    }
    assertThat(problems).as("problems reported for a healthy store being written").isEmpty();
  }
}
