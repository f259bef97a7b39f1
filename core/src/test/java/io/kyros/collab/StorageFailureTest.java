package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.memory.MemoryStorage;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredEvent;
import io.kyros.collab.spi.StoredRecord;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Core's behaviour when the storage medium fails (a dropped connection, a full disk). */
class StorageFailureTest {

  /** Delegates to a memory store, failing chosen primitives on demand. */
  static final class FaultyStorage extends ForwardingStorage {
    /** On a clock that stands still: a lease expires only by the keep-alive's own real-time estimate. */
    FaultyStorage() {
      super(MemoryStorage.create(new MutableClock(Instant.parse("2026-01-01T00:00:00Z"))));
    }

    volatile boolean failCommits;
    volatile boolean failEventReads;
    volatile boolean failAll;

    private static StorageException dropped() {
      return new StorageException("connection dropped (simulated)");
    }

    @Override
    public Instant now() {
      if (failAll) {
        throw dropped();
      }
      return delegate.now();
    }

    @Override
    public Optional<StoredRecord> read(RecordKey key) {
      if (failAll) {
        throw dropped();
      }
      return delegate.read(key);
    }

    @Override
    public CommitResult commit(Commit commit) {
      if (failCommits || failAll) {
        throw dropped();
      }
      return delegate.commit(commit);
    }

    @Override
    public List<StoredEvent> readEvents(long afterId, int limit) {
      if (failEventReads) {
        throw dropped();
      }
      return delegate.readEvents(afterId, limit);
    }
  }

  private final FaultyStorage storage = new FaultyStorage();
  private final Collab collab = Collab.builder().storage(storage).holder("alice").build();

  @AfterEach
  void close() {
    collab.close();
    storage.close();
  }

  @Test
  void aFailedCommitSurfacesAsStorageExceptionAndWritesNothing() {
    storage.failCommits = true;
    assertThatThrownBy(() -> collab.documents().create("c", "x", Map.of("v", 1)))
        .isInstanceOf(StorageException.class).hasMessageContaining("connection dropped");
    assertThatThrownBy(() -> collab.tasks().create(NewTask.of("t"))).isInstanceOf(StorageException.class);
    assertThatThrownBy(() -> collab.leases().tryAcquire("r", Duration.ofSeconds(5)))
        .isInstanceOf(StorageException.class);
    storage.failCommits = false;
    assertThat(collab.documents().get("c", "x")).isEmpty();
    assertThat(collab.tasks().list(TaskFilter.all())).as("tasks").isEmpty();
    assertThat(storage.delegate.list("_leases", null, 10)).as("lease records").isEmpty();
    assertThat(collab.events().lastId()).isZero();
    assertThat(collab.leases().tryAcquire("r", Duration.ofSeconds(5)).orElseThrow().fence())
        .as("the first fence: the failed acquisition used none").isEqualTo(1);
    assertThat(collab.documents().create("c", "x", Map.of("v", 1)).revision()).isPositive();
  }

  @Test
  void keepAliveReportsLossWhenRenewalsFailForLongerThanTheTtl() throws Exception {
    Lease lease = collab.leases().tryAcquire("r", Duration.ofSeconds(2)).orElseThrow();
    StoredRecord before = storage.delegate.read(new RecordKey("_leases", "r")).orElseThrow();
    // commits fail from before the keep-alive starts, so no renewal ever succeeds, and the storage clock stands
    // still, so no renewal can find the lease expired: the loss is reported for failed renewals (by a renewal or
    // by the deadline check) once the ttl has passed in real time, the keep-alive's own estimate of expiry
    storage.failCommits = true;
    try (KeepAlive keepAlive = collab.leases().keepAlive(lease, Duration.ofMillis(10))) {
      LeaseLostException lost = keepAlive.lost().get(60, TimeUnit.SECONDS);
      assertThat(lost.getMessage()).containsAnyOf(
          "renewals failed; last error: io.kyros.collab.StorageException: connection dropped",
          "no renewal succeeded before the lease expires");
      assertThat(lost.resource()).isEqualTo("r");
      assertThat(storage.delegate.read(new RecordKey("_leases", "r"))).as("the lease record").contains(before);
    }
  }

  @Test
  void subscriptionsRideOutReadFailuresWithoutLosingOrRepeatingEvents() {
    List<Event> seen = new CopyOnWriteArrayList<>();
    try (Subscription sub = collab.events().subscribe(0, EventFilter.all(), seen::add)) {
      storage.failEventReads = true;
      for (int i = 0; i < 10; i++) {
        collab.events().append("e", "t", Map.of("i", i));
      }
      storage.failEventReads = false;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60); // a bound for a stuck tail, not evidence
      while (seen.size() < 10 && System.nanoTime() < deadline) {
        LockSupport.parkNanos(1_000_000L);
      }
      assertThat(seen).extracting(e -> e.details().get("i").asInt()).containsExactly(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
      assertThat(sub.isClosed()).isFalse();
    }
  }
}
