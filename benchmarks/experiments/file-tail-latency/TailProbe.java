package io.kyros.collab.benchmarks;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.Collab;
import io.kyros.collab.Event;
import io.kyros.collab.EventFilter;
import io.kyros.collab.file.FileStorage;
import io.kyros.collab.spi.Storage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.locks.LockSupport;

/**
 * What {@code TailLatencyBenchmark}'s {@code FILE} side does, with the parts apart: one thread appends an event to a
 * fresh file store and waits until a subscription in this JVM has it, {@code rounds} rounds of {@code n} events. Per
 * round it prints the append alone (until {@code append} returns), the delivery (until the listener ran) and the whole
 * sample (until the appending thread is back), as percentiles, and every sample over 1.5 ms with when it happened.
 * With {@code nosub} there is no subscription and a sample is the append alone.
 *
 * <pre>
 * javac -d /tmp/ftl -cp benchmarks/target/benchmarks.jar benchmarks/experiments/file-tail-latency/TailProbe.java
 * java -cp benchmarks/target/benchmarks.jar:/tmp/ftl io.kyros.collab.benchmarks.TailProbe benchmarks/target 5000 4 sub
 * </pre>
 *
 * Not part of the build: a single file compiled alone.
 */
public final class TailProbe {
  private static final long T0 = System.nanoTime();
  private static volatile long newest;
  private static volatile long deliveredAt;
  private static volatile Thread waiter;

  private TailProbe() {}

  /**
   * @param args parent directory, events per round, rounds, {@code sub} or {@code nosub}
   * @throws Exception if the store fails
   */
  public static void main(String[] args) throws Exception {
    Path dir = Files.createTempDirectory(Path.of(args[0]), "tail-probe");
    int n = Integer.parseInt(args[1]);
    int rounds = Integer.parseInt(args[2]);
    boolean sub = args[3].equals("sub");
    Storage storage = FileStorage.open(dir);
    Collab collab = Collab.builder().storage(storage).holder("probe").build();
    ObjectNode details = JsonNodeFactory.instance.objectNode();
    details.put("worker", "worker-7").put("step", "compile").put("attempt", 1).put("note", "appended by a benchmark");
    if (sub) {
      collab.events().subscribe(collab.events().lastId(), EventFilter.all(), new io.kyros.collab.EventListener() {
        @Override
        public void onEvent(Event e) {
          deliveredAt = System.nanoTime();
          newest = e.id();
          Thread w = waiter;
          if (w != null) {
            LockSupport.unpark(w);
          }
        }

        @Override
        public void onError(Throwable t) {
          t.printStackTrace();
        }
      });
    }
    waiter = Thread.currentThread();
    for (int round = 0; round < rounds; round++) {
      long[] whole = new long[n];
      long[] append = new long[n];
      long[] delivered = new long[n];
      for (int i = 0; i < n; i++) {
        long start = System.nanoTime();
        long id = collab.events().append("bench.tail", "tails/1", details).id();
        append[i] = System.nanoTime() - start;
        if (sub) {
          while (newest < id) {
            LockSupport.parkNanos(1_000_000_000L);
          }
          delivered[i] = deliveredAt - start;
        }
        whole[i] = System.nanoTime() - start;
        if (whole[i] > 1_500_000) {
          System.out.printf("slow %d us at %d ms%n", whole[i] / 1000, (start - T0) / 1_000_000);
        }
      }
      System.out.printf("round %d: append %s%s; whole %s%n", round, percentiles(append),
          sub ? "; delivered " + percentiles(delivered) : "", percentiles(whole));
    }
    collab.close();
    storage.close();
  }

  private static String percentiles(long[] nanos) {
    long[] t = nanos.clone();
    Arrays.sort(t);
    int n = t.length;
    return String.format("p50 %d p90 %d p99 %d p99.9 %d max %d us", t[n / 2] / 1000, t[n * 9 / 10] / 1000,
        t[n * 99 / 100] / 1000, t[n * 999 / 1000] / 1000, t[n - 1] / 1000);
  }
}
