package io.kyros.collab.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.StoredEvent;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Found in review: docs/jdbc.md said the visible events of a serialized database are always exactly 1..n, so a plain
 * range scan served tailing readers. On MariaDB a statement's read view is not taken at one instant, so a read
 * overlapping two quick commits could see the second's ids and not the first's: tailing readers stepped over events
 * that were in the log at the end (within seconds, every run). Writers on 8 pools (their commits serialized by the
 * counter row's lock) and 4 readers tailing with readEvents for 20 s: no reader may step over an id that is in the log
 * at the end. Probabilistic: with the cut at the first missing id removed it failed within 8 to 66 s in the review's
 * runs of 90 s (within 10 s in most), so a 20 s run catches it most of the time, and never fails without the bug.
 */
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class MariaDbTailingGapTest {
  private static final int POOLS = 8;
  private static final int WRITERS_PER_POOL = 3;
  private static final int READERS = 4;
  private static final long SECONDS = 20;

  @ParameterizedTest
  @EnumSource(value = TestDatabase.Kind.class, names = {"MARIADB"})
  void tailingReadersNeverStepOverACommittedEvent(TestDatabase.Kind kind) throws Exception {
    try (TestDatabase db = TestDatabase.open(kind, "tailgap_")) {
      List<HikariDataSource> pools = new ArrayList<>();
      List<JdbcStorage> storages = new ArrayList<>();
      List<JdbcStorage> writers = new ArrayList<>();
      for (int i = 0; i < POOLS; i++) {
        HikariDataSource p = db.newPool("tailgap_w" + i, WRITERS_PER_POOL, c -> {});
        pools.add(p);
        JdbcStorage s = JdbcStorage.builder(p).tablePrefix(db.prefix).dialect(kind.dialect).build();
        storages.add(s);
        writers.add(s);
      }
      AtomicBoolean stop = new AtomicBoolean();
      ExecutorService ex = Executors.newCachedThreadPool();
      List<Future<?>> fs = new ArrayList<>();
      for (int t = 0; t < POOLS * WRITERS_PER_POOL; t++) {
        JdbcStorage w = writers.get(t % POOLS);
        fs.add(ex.submit(() -> {
          while (!stop.get()) {
            w.commit(Commit.of(List.of(), List.of(), List.of(new NewEvent("e", "a", "t", "{}"),
                new NewEvent("e", "a", "t", "{}"))));
          }
          return null;
        }));
      }
      ConcurrentLinkedQueue<Long> passed = new ConcurrentLinkedQueue<>();
      List<Future<?>> readers = new ArrayList<>();
      for (int r = 0; r < READERS; r++) {
        HikariDataSource rp = db.newPool("tailgap_r" + r, 1, c -> {});
        pools.add(rp);
        JdbcStorage reader = JdbcStorage.builder(rp).tablePrefix(db.prefix).dialect(kind.dialect).build();
        storages.add(reader);
        readers.add(ex.submit(() -> {
          long after = 0;
          long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(SECONDS);
          while (System.nanoTime() < deadline && passed.isEmpty()) {
            for (StoredEvent e : reader.readEvents(after, 50)) {
              for (long m = after + 1; m < e.id(); m++) {
                passed.add(m); // stepped over: a tail never comes back for it
              }
              after = e.id();
            }
          }
          return null;
        }));
      }
      for (Future<?> f : readers) {
        f.get();
      }
      stop.set(true);
      for (Future<?> f : fs) {
        f.get();
      }
      ex.shutdown();
      List<Long> committed = new ArrayList<>();
      try (JdbcStorage check = db.builder().build()) {
        for (long m : passed) {
          List<StoredEvent> e = check.readEvents(m - 1, 1);
          if (!e.isEmpty() && e.get(0).id() == m) {
            committed.add(m);
          }
        }
        System.out.println("stepped over " + passed + "; in the log at the end: " + committed + "; last id "
            + check.lastEventId());
      }
      storages.forEach(JdbcStorage::close);
      pools.forEach(HikariDataSource::close);
      assertThat(committed).as("events a tailing reader stepped over, committed").isEmpty();
    }
  }
}
