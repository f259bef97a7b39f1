package io.kyros.collab.file.harness;

import io.kyros.collab.Collab;
import io.kyros.collab.NewTask;
import io.kyros.collab.TaskClaim;
import io.kyros.collab.file.FileStorage;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Storage;
import io.kyros.collab.spi.StoredEvent;
import io.kyros.collab.spi.StoredRecord;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * A measurement, not a test: the cost of one claim + complete ({@code Tasks.claimNext} then
 * {@code complete}, one thread, public API, {@code FSYNC}) on a file store holding a queued backlog of
 * each given size plus half as many done tasks, built first with {@code Durability.NONE} by 8 threads.
 * Prints one line per size: {@code claim-scale-file backlog=<n> done=<n/2> ops=<n> mean=<ms> median=<ms>
 * p90=<ms> build=<s>}.
 *
 * <p>Arguments: a scratch directory, the number of measured claims, then the backlog sizes; a first
 * argument {@code generic} hides the store's indexes from core ({@code indexes()} false), so core takes
 * its generic path (reading the whole task collection per claim), for comparison. Run from
 * {@code storage-file} with the test classpath, e.g.
 * {@code java -cp target/test-classes:target/classes:../core/target/classes:<jackson, caffeine, slf4j jars>
 * io.kyros.collab.file.harness.ClaimScale /tmp/claim-scale 300 100 10000}.
 */
public final class ClaimScale {
  private static final Duration TTL = Duration.ofMinutes(5);

  private ClaimScale() {}

  /**
   * @param args scratch directory, measured claims, backlog sizes
   * @throws Exception on any failure
   */
  public static void main(String[] args) throws Exception {
    boolean generic = args[0].equals("generic");
    int first = generic ? 1 : 0;
    Path scratch = Path.of(args[first]);
    int ops = Integer.parseInt(args[first + 1]);
    for (int a = first + 2; a < args.length; a++) {
      int backlog = Integer.parseInt(args[a]);
      Path dir = Files.createDirectories(scratch).resolve("backlog-" + backlog + "-" + System.nanoTime());
      long built = System.nanoTime();
      build(dir, backlog, ops);
      double buildSeconds = (System.nanoTime() - built) / 1e9;
      try (FileStorage storage = FileStorage.open(dir);
          Collab collab = Collab.builder().storage(generic ? withoutIndexes(storage) : storage).holder("scale").build()) {
        for (int i = 0; i < 20; i++) { // warm-up: the JIT, the index's first build
          collab.tasks().complete(collab.tasks().claimNext(TTL).orElseThrow());
        }
        long[] nanos = new long[ops];
        for (int i = 0; i < ops; i++) {
          long t0 = System.nanoTime();
          TaskClaim claim = collab.tasks().claimNext(TTL).orElseThrow();
          collab.tasks().complete(claim);
          nanos[i] = System.nanoTime() - t0;
        }
        Arrays.sort(nanos);
        double mean = Arrays.stream(nanos).average().orElse(0) / 1e6;
        System.out.printf((generic ? "generic-" : "") + "claim-scale-file backlog=%d done=%d ops=%d mean=%.2fms median=%.2fms p90=%.2fms build=%.0fs%n",
            backlog, backlog / 2, ops, mean, nanos[ops / 2] / 1e6, nanos[ops * 9 / 10] / 1e6, buildSeconds);
      }
    }
  }

  /** @return the storage with {@code indexes()} false, every other call passed through */
  private static Storage withoutIndexes(Storage s) {
    return new Storage() {
      @Override public Instant now() {
        return s.now();
      }

      @Override public Optional<StoredRecord> read(RecordKey key) {
        return s.read(key);
      }

      @Override public List<StoredRecord> readAll(Collection<RecordKey> keys) {
        return s.readAll(keys);
      }

      @Override public List<StoredRecord> list(String collection, String afterId, int limit) {
        return s.list(collection, afterId, limit);
      }

      @Override public CommitResult commit(Commit commit) {
        return s.commit(commit);
      }

      @Override public List<StoredEvent> readEvents(long afterId, int limit) {
        return s.readEvents(afterId, limit);
      }

      @Override public long lastEventId() {
        return s.lastEventId();
      }

      @Override public boolean awaitEvents(long afterId, Duration timeout) throws InterruptedException {
        return s.awaitEvents(afterId, timeout);
      }

      @Override public void close() {
        // the caller closes the store
      }
    };
  }

  /** Creates backlog + ops + 20 queued tasks (the measured ones come off the top) and backlog/2 done ones. */
  private static void build(Path dir, int backlog, int ops) throws Exception {
    try (FileStorage storage = FileStorage.builder(dir).durability(FileStorage.Durability.NONE).open();
        Collab collab = Collab.builder().storage(storage).holder("builder").build()) {
      ExecutorService pool = Executors.newFixedThreadPool(8);
      int queued = backlog + ops + 20;
      int total = queued + backlog / 2;
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        int thread = t;
        done.add(pool.submit(() -> {
          for (int i = thread; i < total; i += 8) {
            // the done tasks are claimed off the top right away: give them the highest priority
            boolean history = i >= queued;
            collab.tasks().create(NewTask.of("job " + i).withId(String.format("job-%07d", i))
                .withPriority(history ? 9 : i % 3));
          }
          return null;
        }));
      }
      for (Future<?> f : done) {
        f.get();
      }
      for (int i = 0; i < backlog / 2; i++) {
        collab.tasks().complete(collab.tasks().claimNext(TTL).orElseThrow());
      }
      pool.shutdown();
    }
  }
}
