package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 13 lets a lease's ttl shrink ({@link Leases#renew(Lease, Duration)}), and {@link KeepAlive} documents that the
 * following renewals keep the new ttl. Its local estimate of the expiry must follow the shorter ttl too, or a
 * keep-alive whose renewals stop reports the loss long after the lease expired and another holder took it.
 */
@Timeout(120)
class KeepAliveTtlChangeTest {

  /** A store whose keep-alive commits can hang, like a renewal stuck on a dead connection. */
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
