package io.kyros.collab.benchmarks;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.Collab;
import io.kyros.collab.Preconditions;
import io.kyros.collab.file.FileStorage;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Random document writes on a file store, timed per round. Args: store documents checkpointBytes seconds rounds
 * [alt:a,b,...]. With alt, round r sets the system property scratch.par to the (r mod n)th value, which the
 * scratch build of Checkpoints (scratch-toggle.patch) reads at each early force: 0 or 1 forces one file after
 * another, n forces in n parts at once.
 */
public class DocDriver {
  public static void main(String[] a) throws Exception {
    Path dir = Path.of(a[0]);
    int docs = Integer.parseInt(a[1]);
    long cp = Long.parseLong(a[2]);
    int seconds = Integer.parseInt(a[3]);
    int rounds = Integer.parseInt(a[4]);
    FileStorage storage = FileStorage.builder(dir).checkpointBytes(cp).open();
    Collab collab = Collab.builder().storage(storage).holder("bench").build();
    ObjectNode value = Payloads.document(1024);
    SplittableRandom random = new SplittableRandom(42);
    long seq = 0;
    for (int r = 0; r < rounds; r++) {
      String mode = a.length > 5 ? a[5] : "x";
      if (mode.startsWith("alt")) { String[] m = mode.substring(4).split(","); System.setProperty("scratch.par", m[r % m.length]); }
      long end = System.nanoTime() + seconds * 1_000_000_000L;
      long n = 0;
      long start = System.nanoTime();
      long[] lat = new long[200000];
      while (System.nanoTime() < end) {
        long t0 = System.nanoTime();
        value.put("sequence", ++seq);
        collab.documents().put("docs", "doc-" + random.nextInt(docs), value, Preconditions.none());
        lat[(int) Math.min(n, lat.length - 1)] = System.nanoTime() - t0;
        n++;
      }
      long[] l = java.util.Arrays.copyOf(lat, (int) Math.min(n, lat.length));
      java.util.Arrays.sort(l);
      System.out.printf("lat par=%s p50 %d p99 %d p999 %d max %d us%n", System.getProperty("scratch.par"), l[l.length / 2] / 1000, l[(int) (l.length * 0.99)] / 1000, l[(int) (l.length * 0.999)] / 1000, l[l.length - 1] / 1000);
      double s = (System.nanoTime() - start) / 1e9;
      System.out.printf("round %d par=%s: %.0f ops/s%n", r, System.getProperty("scratch.par"), n / s);
    }
    collab.close();
    storage.close();
  }
}
