package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.memory.MemoryStorage;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * KeepAlive's threading (loss callbacks never block renewals, close() or other keep-alives) and its expiry estimate.
 */
@Timeout(120)
class KeepAliveTest {

  /** A store whose commits can hang, like a renewal stuck on a dead connection. */
  static final class HangingStorage extends ForwardingStorage {
    volatile CountDownLatch hang;

    @Override
    public CommitResult commit(Commit commit) {
      CountDownLatch h = hang;
      if (h != null && Thread.currentThread().getName().startsWith("collab-keepalive")) {
        try {
          h.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new StorageException("interrupted while hanging", e);
        }
      }
      return delegate.commit(commit);
    }
  }

  private final HangingStorage storage = new HangingStorage();
  private final Collab collab = Collab.builder().storage(storage).holder("alice").build();

  @AfterEach
  void close() {
    CountDownLatch h = storage.hang;
    if (h != null) {
      h.countDown();
    }
    collab.close();
    storage.close();
  }

  @Test
  void aLossCallbackWaitingForTheWorkerDoesNotDeadlockItsClose() throws Exception {
    Lease lease = collab.leases().tryAcquire("job", Duration.ofSeconds(30)).orElseThrow();
    KeepAlive keepAlive = collab.leases().keepAlive(lease, Duration.ofMillis(5));
    Thread worker = new Thread(() -> {
      try {
        new CountDownLatch(1).await();
      } catch (InterruptedException e) {
        // the lease is lost: stop
      } finally {
        keepAlive.close();
      }
    });
    worker.start();
    keepAlive.interruptOnLoss(worker);
    CompletableFuture<Void> callback = keepAlive.lost().thenRun(() -> {
      try {
        worker.join(60_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    collab.leases().release(keepAlive.current());
    worker.join(60_000);
    assertThat(worker.isAlive()).isFalse();
    callback.get(60, TimeUnit.SECONDS);
  }

  @Test
  void aRenewalHangingInTheStorageIsReportedBeforeTheLeaseExpires() throws Exception {
    Lease lease = collab.leases().tryAcquire("job", Duration.ofSeconds(2)).orElseThrow();
    KeepAlive keepAlive = collab.leases().keepAlive(lease, Duration.ofMillis(200));
    CompletableFuture<String> work = keepAlive.guard(new CompletableFuture<>());
    storage.hang = new CountDownLatch(1);
    LeaseLostException lost = keepAlive.lost().get(60, TimeUnit.SECONDS);
    assertThat(lost.getMessage()).contains("no renewal succeeded before the lease expires");
    assertThat(work.isCancelled()).isTrue();
  }

  /**
   * Renewals of claims taken together fire together: with every renewal thread hung in the storage, the deadline
   * checks must still run (they shared the renewals' two threads, so two hung renewals hid every loss; review).
   */
  @Test
  void hangingRenewalsOnEveryRenewalThreadStillHaveTheirLossesReported() throws Exception {
    List<KeepAlive> keepAlives = new ArrayList<>();
    for (String name : List.of("a", "b", "c")) {
      Lease lease = collab.leases().tryAcquire(name, Duration.ofSeconds(2)).orElseThrow();
      keepAlives.add(collab.leases().keepAlive(lease, Duration.ofMillis(200)));
    }
    storage.hang = new CountDownLatch(1);
    for (KeepAlive keepAlive : keepAlives) {
      assertThat(keepAlive.lost().get(60, TimeUnit.SECONDS).getMessage())
          .contains("no renewal succeeded before the lease expires");
    }
  }

  @Test
  void aSlowLossCallbackDoesNotStopOtherKeepAlives() throws Exception {
    Lease a = collab.leases().tryAcquire("a", Duration.ofSeconds(30)).orElseThrow();
    Lease b = collab.leases().tryAcquire("b", Duration.ofSeconds(30)).orElseThrow();
    KeepAlive ka = collab.leases().keepAlive(a, Duration.ofMillis(5));
    KeepAlive kb = collab.leases().keepAlive(b, Duration.ofMillis(5));
    CountDownLatch release = new CountDownLatch(1);
    ka.lost().thenRun(() -> {
      try {
        release.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    collab.leases().release(ka.current());
    ka.lost().get(60, TimeUnit.SECONDS);
    java.time.Instant before = kb.current().heartbeatAt();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!kb.current().heartbeatAt().isAfter(before) && System.nanoTime() < deadline) {
      java.util.concurrent.locks.LockSupport.parkNanos(1_000_000L);
    }
    assertThat(kb.current().heartbeatAt()).as("b keeps being renewed").isAfter(before);
    release.countDown();
  }

  // After renew(lease, shorter ttl) the keep-alive's local expiry estimate must follow the shorter ttl, or a
  // keep-alive whose renewals stop reports the loss long after the lease expired and another holder took it.

  @Test
  void afterTheTtlIsShortenedTheKeepAliveReportsTheRenewedLease() {
    Lease lease = collab.leases().tryAcquire("job", Duration.ofHours(1)).orElseThrow();
    KeepAlive keepAlive = collab.leases().keepAlive(lease, Duration.ofMinutes(20));
    collab.leases().renew(keepAlive.current(), Duration.ofSeconds(30));
    Lease renewed = keepAlive.renewNow();
    assertThat(renewed.ttl()).isEqualTo(Duration.ofSeconds(30));
    assertThat(keepAlive.current()).as("the lease the keep-alive holds after its own renewal").isEqualTo(renewed);
    keepAlive.close();
  }

  @Test
  void afterTheTtlIsShortenedAHangingRenewalIsReportedBeforeTheShorterLeaseExpires() throws Exception {
    Lease lease = collab.leases().tryAcquire("job", Duration.ofHours(1)).orElseThrow();
    // an interval fit for the shortest ttl that will be set, as KeepAlive's javadoc asks
    KeepAlive keepAlive = collab.leases().keepAlive(lease, Duration.ofMillis(200));
    collab.leases().renew(keepAlive.current(), Duration.ofSeconds(2));
    keepAlive.renewNow(); // a renewal with the new ttl: the lease now expires 2 s after it
    storage.hang = new CountDownLatch(1);
    // the stored lease expires 2 s after the last renewal; the loss must be reported by then, not an hour later
    LeaseLostException lost = keepAlive.lost().get(30, TimeUnit.SECONDS);
    assertThat(lost.getMessage()).contains("no renewal succeeded before the lease expires");
  }
}
