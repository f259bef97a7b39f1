package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.memory.MemoryStorage;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@link Tasks#currentClaim}: the claim a worker that kept only a task id and a fence acts through. */
class CurrentClaimTest {
  private static final Duration TTL = Duration.ofSeconds(30);
  private final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
  private final MemoryStorage storage = MemoryStorage.create(clock);
  private final Collab alice = Collab.builder().storage(storage).holder("alice").build();
  private final Collab bob = Collab.builder().storage(storage).holder("bob").build();

  @AfterEach
  void close() {
    alice.close();
    bob.close();
  }

  @Test
  void itIsTheHoldersClaimWithItsFenceAndCompletesTheTask() {
    alice.tasks().create(NewTask.of("write it").withId("t1"));
    assertThat(bob.tasks().currentClaim("t1")).isEmpty();
    TaskClaim claim = alice.tasks().claimNext("alice", TTL, Set.of()).orElseThrow();

    TaskClaim seen = bob.tasks().currentClaim("t1").orElseThrow();
    assertThat(seen.lease()).isEqualTo(claim.lease());
    assertThat(seen.task().assignee()).isEqualTo("alice");
    assertThat(alice.tasks().complete(seen).status()).isEqualTo("done");
    assertThat(bob.tasks().currentClaim("t1")).isEmpty();
  }

  @Test
  void aStaleClaimIsNoneAndTheNextClaimHasAHigherFence() {
    alice.tasks().create(NewTask.of("write it").withId("t1"));
    TaskClaim first = alice.tasks().claimNext("alice", TTL, Set.of()).orElseThrow();
    clock.advance(TTL.plusSeconds(1));
    assertThat(alice.tasks().currentClaim("t1")).isEmpty();

    TaskClaim second = bob.tasks().claimNext("bob", TTL, Set.of()).orElseThrow();
    TaskClaim seen = alice.tasks().currentClaim("t1").orElseThrow();
    assertThat(seen.task().assignee()).isEqualTo("bob");
    assertThat(seen.lease().fence()).isEqualTo(second.lease().fence()).isGreaterThan(first.lease().fence());
  }

  @Test
  void anUnknownTaskIsNotFoundAndABadIdIsRefused() {
    assertThatThrownBy(() -> alice.tasks().currentClaim("ghost")).isInstanceOf(NotFoundException.class);
    assertThatThrownBy(() -> alice.tasks().currentClaim("no spaces")).isInstanceOf(IllegalArgumentException.class);
  }
}
