package io.kyros.collab.file;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.Collab;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;

/**
 * Durable event appends on a file store from N threads, as {@code EventAppendBenchmark.sixteenAppenders} makes them,
 * for R rounds of S seconds: per round the appends and journal forces per second, appends per force (the group
 * commit's batch size), the JVM's CPU per append and the machine's busy CPU per append ({@code /proc/stat}). In the
 * file package, to read the writer's counters ({@code Store.commitStatistics}). See README.md.
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar:&lt;classes&gt; io.kyros.collab.file.AppendProbe &lt;dir&gt; &lt;threads&gt; &lt;seconds&gt; &lt;rounds&gt;
 * </pre>
 */
public class AppendProbe {
  static long[] cpu() throws Exception {
    String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
    long idle = Long.parseLong(f[4]) + Long.parseLong(f[5]);
    long total = 0;
    for (int i = 1; i < f.length; i++) total += Long.parseLong(f[i]);
    return new long[] {total - idle, total};
  }

  public static void main(String[] a) throws Exception {
    Path dir = Path.of(a[0]);
    int threads = Integer.parseInt(a[1]);
    int seconds = Integer.parseInt(a[2]);
    int rounds = Integer.parseInt(a[3]);
    Files.createDirectories(dir);
    FileStorage storage = FileStorage.open(dir);
    Collab collab = Collab.builder().storage(storage).holder("bench").build();
    ObjectNode details = new ObjectMapper().createObjectNode();
    details.put("worker", "worker-7").put("step", "compile").put("attempt", 1).put("note", "appended by a benchmark");
    com.sun.management.OperatingSystemMXBean os =
        (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    for (int r = 0; r < rounds; r++) {
      LongAdder n = new LongAdder();
      AtomicBoolean stop = new AtomicBoolean();
      Thread[] ts = new Thread[threads];
      long[] st0 = storage.store().commitStatistics();
      long cpu0 = os.getProcessCpuTime();
      long[] m0 = cpu();
      long t0 = System.nanoTime();
      for (int i = 0; i < threads; i++) {
        ts[i] = new Thread(() -> {
          while (!stop.get()) {
            collab.events().append("build.step", "builds/42", details);
            n.increment();
          }
        });
        ts[i].start();
      }
      Thread.sleep(seconds * 1000L);
      stop.set(true);
      for (Thread t : ts) t.join();
      long t1 = System.nanoTime();
      long[] st1 = storage.store().commitStatistics();
      long cpu1 = os.getProcessCpuTime();
      long[] m1 = cpu();
      long count = n.sum();
      double secs = (t1 - t0) / 1e9;
      long forces = st1[0] - st0[0];
      double busyShare = (double) (m1[0] - m0[0]) / (m1[1] - m0[1]);
      System.out.printf("round %d: %.0f appends/s, %.0f forces/s, %.2f per force, JVM CPU %.1f us/append, machine busy %.0f%% = %.1f us/append%n",
          r, count / secs, forces / secs, (double) count / forces, (cpu1 - cpu0) / 1e3 / count, busyShare * 100,
          busyShare * 2 * secs * 1e6 / count);
    }
    collab.close();
    storage.close();
  }
}
