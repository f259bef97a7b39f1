package io.kyros.collab.benchmarks;

import io.kyros.collab.CanonicalJson;
import io.kyros.collab.Collab;
import io.kyros.collab.Event;
import io.kyros.collab.file.FileStorage;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.NewEvent;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Reading near the end of a large event log: each operation reads 100 events with {@code EventLog.read(afterId, 100)}
 * after a random id among the last {@value #WINDOW} of a file store holding {@value #EVENTS} events (each with a
 * small details object, {@link Payloads#eventDetails()}), so it includes finding the segment and the position in it
 * (binary search), reading, checking and parsing the lines, and turning them into {@code Event}s.
 *
 * <p>The fork runs with a 128 MiB heap ({@code -Xmx128m}) to show that memory does not grow with the log; the
 * {@link Heap#heapUsedMiB} counter reports the heap in use after a full GC at the end of each iteration.
 *
 * <p>The store is built once through the storage SPI in commits of {@value #PER_COMMIT} events (no documents) on a
 * {@code Durability.NONE} storage, cached under {@link BenchDirs#root()} as {@code log-10m-v1} (about 2 GB; building
 * takes a minute or more, with progress on stderr) and reopened with the default options for the measurement. The
 * benchmark only reads it.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 3)
@Fork(value = 1, jvmArgsAppend = "-Xmx128m")
@Threads(1)
@State(Scope.Benchmark)
public class LargeLogBenchmark {
  /** Events in the log. */
  public static final long EVENTS = 10_000_000;
  /** Reads start after a random id among this many last ones. */
  public static final long WINDOW = 100_000;
  /** Events per read. */
  public static final int READ = 100;
  private static final int PER_COMMIT = 2_000;

  private FileStorage storage;
  private Collab collab;
  private long lastId;
  private final SplittableRandom random = new SplittableRandom(42);

  /** Builds (or reuses) the log and opens it. */
  @Setup(Level.Trial)
  public void open() {
    Path dir = BulkStore.cached("log-10m-v1", LargeLogBenchmark::fill);
    storage = FileStorage.open(dir);
    collab = Collab.builder().storage(storage).holder("bench").build();
    lastId = collab.events().lastId();
    if (lastId < EVENTS) {
      throw new IllegalStateException(dir + " holds " + lastId + " events, not " + EVENTS);
    }
  }

  /** Closes the store (it stays cached). */
  @TearDown(Level.Trial)
  public void close() {
    collab.close();
    storage.close();
  }

  /**
   * Reads 100 events after a random id near the end of the log.
   *
   * @param heap the heap counter, so that JMH reports it
   * @return the events
   */
  @Benchmark
  public List<Event> read100(Heap heap) {
    long after = lastId - WINDOW + random.nextLong(WINDOW - READ + 1);
    List<Event> events = collab.events().read(after, READ);
    if (events.size() != READ || events.get(0).id() != after + 1) {
      throw new IllegalStateException("read after " + after + " returned " + events.size() + " events"
          + (events.isEmpty() ? "" : " from id " + events.get(0).id()) + ", expected " + READ + " from " + (after + 1));
    }
    return events;
  }

  /**
   * The heap in use, measured once per iteration; JMH sums it over the measured iterations. It is measured when the
   * iteration ends (after its reads) because JMH zeroes {@code EVENTS} counters after {@code Level.Iteration} setups.
   */
  @State(Scope.Thread)
  @AuxCounters(AuxCounters.Type.EVENTS)
  public static class Heap {
    /** Heap used after a full GC at the end of the iteration, in MiB. */
    public double heapUsedMiB;

    /** Runs a full GC and records the heap still in use. */
    @TearDown(Level.Iteration)
    public void measure() {
      System.gc();
      heapUsedMiB = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed() / (1024.0 * 1024.0);
    }
  }

  private static void fill(FileStorage storage) {
    String details = CanonicalJson.canonicalize(Payloads.eventDetails());
    BulkStore.load(storage, "events", EVENTS, PER_COMMIT, (first, count) -> {
      List<NewEvent> events = new ArrayList<>(count);
      for (int i = 0; i < count; i++) {
        events.add(new NewEvent("build.step", "bench", "builds/" + ((first + i) % 1000), details));
      }
      return Commit.of(List.of(), List.of(), events);
    });
  }
}
