package io.kyros.collab.file.harness;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.CanonicalJson;
import io.kyros.collab.memory.MemoryStorage;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredEvent;
import io.kyros.collab.spi.StoredRecord;
import io.kyros.collab.spi.Write;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The crash test's checker, checked in-process on a {@link MemoryStorage}: the writer's workload
 * passes, and each kind of damage the crash test looks for is counted where it belongs.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class StoreCheckerTest {
  private final MemoryStorage storage = MemoryStorage.create();
  private final StoreChecker checker = new StoreChecker(new HashSet<>(CrashWriter.COLLECTIONS));
  private final List<String> acks = new CopyOnWriteArrayList<>();

  @BeforeEach
  void runTheWriterWorkload() throws Exception {
    AtomicBoolean stop = new AtomicBoolean();
    CountDownLatch enough = new CountDownLatch(1);
    List<String> kinds = List.of("doc c", "del ", "event ", "task ", "lease ", "release ", "doc guarded ", "ix ");
    Consumer<String> sink = line -> {
      acks.add(line);
      // the writer runs until every kind of operation was acknowledged a few times
      if (kinds.stream().allMatch(k -> acks.stream().filter(a -> a.startsWith(k)).count() >= 5)) {
        enough.countDown();
      }
    };
    List<Thread> threads = CrashWriter.start(storage, 1, 0, 4, 42, sink, stop::get, () -> {});
    boolean reached = enough.await(60, TimeUnit.SECONDS);
    stop.set(true);
    for (Thread t : threads) {
      t.join(TimeUnit.SECONDS.toMillis(30));
    }
    assertThat(reached).as("every kind of operation acknowledged: %s", acks).isTrue();
    assertThat(acks).noneMatch(a -> a.startsWith("error"));
    checker.addAcks("in-process", acks);
  }

  @Test
  void theWritersWorkloadIsClean() {
    StoreChecker.Report r = checker.check(storage);
    assertThat(r.clean()).as("%s", r).isTrue();
    assertThat(r.acked()).isEqualTo(acks.stream().filter(a -> !a.startsWith("ix")).count()); // ix, ix-delete: IndexAudit's
    assertThat(acks).anyMatch(a -> a.startsWith("task ") && a.contains(" done "));
  }

  @Test
  void anAcknowledgementWithoutItsEffectIsLost() {
    String doc = acks.stream().filter(a -> a.startsWith("doc c")).findFirst().orElseThrow();
    String event = acks.stream().filter(a -> a.startsWith("event ")).findFirst().orElseThrow();
    String[] e = event.split(" ", 5);
    checker.addAcks("forged", List.of(
        doc.substring(0, doc.lastIndexOf(' ')) + " 999999-AAAAAAAAAAAAAAAAAAAAAA",
        "event " + (storage.lastEventId() + 1) + " crash.op thread/0 {}",
        "event " + e[1] + " crash.op " + e[3] + " {\"seq\":-1}",
        "lease crash-lock 999999 nobody",
        "release crash-lock nobody",
        "task nosuchtask queued 1-AAAAAAAAAAAAAAAAAAAAAA",
        "del c0 t0-d0 999999-AAAAAAAAAAAAAAAAAAAAAA"));
    StoreChecker.Report r = checker.check(storage);
    assertThat(r.lost()).as("%s", r).isEqualTo(7);
    assertThat(r.torn() + r.corrupt()).as("%s", r).isZero();
  }

  @Test
  void aRolledBackDocumentIsLost() {
    // the log says the acknowledged version was written, the record is back at an older revision
    String[] f = acks.stream().filter(a -> a.startsWith("doc c")).map(a -> a.split(" "))
        .filter(a -> storage.read(new RecordKey(a[1], a[2])).map(r -> (r.revision() + "-" + r.hash()).equals(a[3]))
            .orElse(false))
        .filter(a -> !a[3].startsWith("1-")) // revision 1 has nothing older to roll back to
        .findFirst().orElseThrow();
    RecordKey key = new RecordKey(f[1], f[2]);
    StoredRecord current = storage.read(key).orElseThrow();
    StoreChecker.Report r = checker.check(new Rolled(storage, key,
        new StoredRecord(key, current.json(), 1, current.hash())));
    assertThat(r.lost()).as("%s", r).isPositive();
    assertThat(r.corrupt()).as("store disagrees with its log: %s", r).isPositive();
  }

  @Test
  void aRecordWhoseContentDoesNotMatchItsHashIsTorn() {
    RecordKey key = new RecordKey("c0", "t9-torn");
    String json = "{\"a\":1}";
    String hash = CanonicalJson.hashCanonical(json.getBytes(StandardCharsets.UTF_8));
    storage.commit(new Commit(List.of(), List.of(Write.put(key, "{\"a\":", hash)), revs -> List.of(
        new NewEvent("document_created", "x", "documents/c0/t9-torn",
            "{\"collection\":\"c0\",\"etag\":\"\\\"" + revs.get(0) + "-" + hash + "\\\"\",\"id\":\"t9-torn\"}"))));
    StoreChecker.Report r = checker.check(storage);
    assertThat(r.torn()).as("%s", r).isEqualTo(1);
  }

  @Test
  void aDocumentWithoutEventsAndAStaleFenceAreCorrupt() {
    String json = "{\"b\":2}";
    String hash = CanonicalJson.hashCanonical(json.getBytes(StandardCharsets.UTF_8));
    storage.commit(Commit.of(List.of(), List.of(Write.put(new RecordKey("c1", "t9-silent"), json, hash)), List.of()));
    // a guarded write under a lease that is not the current one: two holders overlapping
    StoredEvent acquired = StoreChecker.readLog(storage).stream().filter(e -> e.type().equals("lease_acquired")
        && e.detailsJson().contains("crash-lock")).findFirst().orElseThrow();
    String leaseId = acquired.detailsJson().replaceAll(".*\"leaseId\":\"([^\"]+)\".*", "$1");
    storage.commit(Commit.of(List.of(), List.of(), List.of(new NewEvent("crash.guarded", "x", "x",
        "{\"fence\":1,\"leaseId\":\"" + leaseId + "\"}"))));
    StoreChecker.Report r = checker.check(storage);
    assertThat(r.corrupt()).as("%s", r).isGreaterThanOrEqualTo(2);
    assertThat(r.problems()).anyMatch(p -> p.contains("without any event")).anyMatch(p -> p.contains("overlap"));
  }

  @Test
  void anUnreadableLogIsCorrupt() {
    long middle = storage.lastEventId() / 2;
    StoreChecker.Report r = checker.check(new Rolled(storage, null, null) {
      @Override
      public List<StoredEvent> readEvents(long afterId, int limit) {
        List<StoredEvent> page = new ArrayList<>(super.readEvents(afterId, Math.min(limit, 10)));
        if (afterId >= middle) {
          throw new io.kyros.collab.StorageException("checksum mismatch in events.jsonl at offset 1234");
        }
        return page;
      }
    });
    assertThat(r.corrupt()).as("%s", r).isPositive();
    assertThat(r.problems()).anyMatch(p -> p.contains("log unreadable"));
  }

  /** A storage that shows one record at another revision; everything else as the delegate. */
  static class Rolled implements io.kyros.collab.spi.Storage {
    private final io.kyros.collab.spi.Storage d;
    private final RecordKey key;
    private final StoredRecord replacement;

    Rolled(io.kyros.collab.spi.Storage d, RecordKey key, StoredRecord replacement) {
      this.d = d;
      this.key = key;
      this.replacement = replacement;
    }

    private StoredRecord swap(StoredRecord r) {
      return key != null && r.key().equals(key) ? replacement : r;
    }

    @Override
    public java.time.Instant now() {
      return d.now();
    }

    @Override
    public java.util.Optional<StoredRecord> read(RecordKey k) {
      return d.read(k).map(this::swap);
    }

    @Override
    public List<StoredRecord> list(String collection, String afterId, int limit) {
      return d.list(collection, afterId, limit).stream().map(this::swap).toList();
    }

    @Override
    public io.kyros.collab.spi.CommitResult commit(Commit commit) {
      return d.commit(commit);
    }

    @Override
    public List<StoredEvent> readEvents(long afterId, int limit) {
      return d.readEvents(afterId, limit);
    }

    @Override
    public long lastEventId() {
      return d.lastEventId();
    }

    @Override
    public boolean awaitEvents(long afterId, java.time.Duration timeout) throws InterruptedException {
      return d.awaitEvents(afterId, timeout);
    }

    @Override
    public void close() {}
  }
}
