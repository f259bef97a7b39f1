package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.memory.MemoryStorage;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/**
 * Bug (found in review): {@link WorkerPool.Builder#claimTtl} accepted any positive duration, but each run keeps its
 * claim alive every third of it ({@code claimTtl.dividedBy(3)}), which {@link Leases#keepAlive(Lease, Duration)}
 * refuses when it is zero. With a claim ttl of 1 or 2 ns the pool claimed tasks and failed every attempt with
 * "interval must be positive: PT0S" without running the handler, burning the tasks' attempts. The builder now refuses
 * a claim ttl under 1 ms (the shortest lease ttl the HTTP API takes) with an {@link IllegalArgumentException} naming
 * {@code claimTtl}; 1 ms itself is accepted.
 */
class TinyClaimTtlTest {
  private final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));

  @Test
  void aClaimTtlThePoolCannotKeepAliveIsRefusedByTheBuilder() {
    try (Collab collab = Collab.builder().storage(MemoryStorage.create(clock)).holder("me").build()) {
      for (Duration tiny : new Duration[] {Duration.ofNanos(1), Duration.ofNanos(2), Duration.ofNanos(999_999)}) {
        assertThatThrownBy(() -> WorkerPool.builder(collab).claimTtl(tiny))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("claimTtl")
            .hasMessageContaining("at least 1 ms");
      }
      assertThatCode(() -> WorkerPool.builder(collab).claimTtl(Duration.ofMillis(1))).doesNotThrowAnyException();
    }
  }

  @Test
  void theOtherBoundsStillHold() {
    try (Collab collab = Collab.builder().storage(MemoryStorage.create(clock)).holder("me").build()) {
      assertThatThrownBy(() -> WorkerPool.builder(collab).claimTtl(Duration.ZERO))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("claimTtl");
      assertThatThrownBy(() -> WorkerPool.builder(collab).claimTtl(Duration.ofDays(36_501)))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("claimTtl");
      assertThatThrownBy(() -> WorkerPool.builder(collab).claimTtl(null))
          .isInstanceOf(NullPointerException.class).hasMessageContaining("claimTtl");
    }
  }
}
