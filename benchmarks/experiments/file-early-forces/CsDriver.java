package io.kyros.collab.benchmarks;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.*;
import io.kyros.collab.file.FileStorage;
import io.kyros.collab.memory.MemoryStorage;
import io.kyros.collab.spi.RecordKey;
import java.nio.file.Path;
import java.time.Duration;

/**
 * ClaimScaleBenchmark's loop (claim, complete, create) on a file store with a chosen checkpointBytes, timed per
 * round. Args: store checkpointBytes seconds rounds [- alt:a,b,..] (see DocDriver), or: dir 0 0 0 queued to build a
 * store as ClaimScaleBenchmark does.
 */
public class CsDriver {
  public static void main(String[] a) throws Exception {
    Path dir = Path.of(a[0]);
    long cp = Long.parseLong(a[1]);
    int seconds = Integer.parseInt(a[2]);
    int rounds = Integer.parseInt(a[3]);
    if (a.length > 4 && !a[4].equals("-")) {
      ObjectNode template;
      try (MemoryStorage scratch = MemoryStorage.create();
          Collab c = Collab.builder().storage(scratch).holder("bench").build()) {
        c.tasks().create(NewTask.of("bulk task").withId("template").withDescription("built in bulk"));
        template = (ObjectNode) new ObjectMapper().readTree(scratch.read(new RecordKey("_tasks", "template")).orElseThrow().json());
      }
      int n = Integer.parseInt(a[4]);
      BulkStore.build(dir, s -> ClaimScaleBenchmark.fill(s, n, template));
      System.out.println("built");
      return;
    }
    FileStorage storage = FileStorage.builder(dir).checkpointBytes(cp).open();
    Collab collab = Collab.builder().storage(storage).holder("bench").build();
    String prefix = "n" + Long.toString(System.currentTimeMillis(), 36) + "-";
    long seq = 0;
    for (int r = 0; r < rounds; r++) {
      if (a.length > 5) { String[] m = a[5].substring(4).split(","); System.setProperty("scratch.par", m[r % m.length]); }
      long end = System.nanoTime() + seconds * 1_000_000_000L;
      long n = 0;
      long start = System.nanoTime();
      while (System.nanoTime() < end) {
        TaskClaim claim = collab.tasks().claimNext(Duration.ofMinutes(5)).orElseThrow();
        collab.tasks().complete(claim);
        collab.tasks().create(NewTask.of("replacement").withId(prefix + ++seq).withPriority((int) (seq % 5)));
        n++;
      }
      double s = (System.nanoTime() - start) / 1e9;
      System.out.printf("round %d par=%s: %.0f ops/s%n", r, System.getProperty("scratch.par"), n / s);
    }
    collab.close();
    storage.close();
  }
}
