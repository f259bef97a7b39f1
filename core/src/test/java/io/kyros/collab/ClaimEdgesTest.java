package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.conformance.InterceptingStorage;
import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.conformance.UnindexedStorage;
import io.kyros.collab.memory.MemoryStorage;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Claims at their edges, found in review: a claim after slow reclaims, a claim of up to Integer.MAX_VALUE, a workflow. */
class ClaimEdgesTest {
  private static final Duration TTL = Duration.ofSeconds(10);
  private final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));

  private InterceptingStorage storage(boolean indexed) {
    MemoryStorage m = MemoryStorage.create(clock);
    return indexed ? new InterceptingStorage(m) : new UnindexedStorage(m);
  }

  /**
   * Bug: on an indexed store, a claimNext that first reclaimed stale claims (a commit each) claimed at the time it read
   * before them, so the claim it returned could already be expired (here: 4 reclaims of 4 s each, a ttl of 10 s).
   */
  @ParameterizedTest(name = "indexed={0}")
  @ValueSource(booleans = {true, false})
  void aClaimTakenAfterSlowReclaimsIsCurrentWhenReturned(boolean indexed) {
    InterceptingStorage s = storage(indexed);
    try (Collab c = Collab.builder().storage(s).holder("me").build()) {
      for (int i = 0; i < 4; i++) {
        c.tasks().create(NewTask.of("t").withId("crashed" + i));
      }
      assertThat(c.tasks().claimUpTo(4, "crashed-pool", TTL, Set.of())).hasSize(4);
      clock.advance(TTL.plusSeconds(1)); // the pool crashed: its 4 claims are stale
      AtomicInteger commits = new AtomicInteger();
      s.intercept((commit, next) -> { // each of the 4 reclaims takes 4 s of storage time
        var result = next.commit(commit);
        if (commits.incrementAndGet() <= 4) {
          clock.advance(Duration.ofSeconds(4));
        }
        return result;
      });
      TaskClaim got = c.tasks().claimNext("w", TTL, Set.of()).orElseThrow();
      s.intercept(InterceptingStorage.FORWARD);
      Event claimed = c.events().read(0, EventFilter.all().types("task_claimed"), 100).get(4);
      assertThat(got.lease().expiresAt()).as("expiry of the claim committed at %s", claimed.ts())
          .isAfterOrEqualTo(claimed.ts().plus(TTL));
      assertThat(c.leases().isCurrent(got.lease())).as("the claim claimNext just returned is current").isTrue();
    }
  }

  /** Bug: claimUpTo(Integer.MAX_VALUE, ...) overflowed its page size on an indexed store ("limit must be positive"). */
  @ParameterizedTest(name = "indexed={0}")
  @ValueSource(booleans = {true, false})
  void claimUpToIntegerMaxValueClaimsEverythingClaimable(boolean indexed) {
    try (Collab c = Collab.builder().storage(storage(indexed)).holder("me").build()) {
      for (int i = 0; i < 3; i++) {
        c.tasks().create(NewTask.of("t").withId("t" + i));
      }
      assertThat(c.tasks().claimUpTo(Integer.MAX_VALUE, "w", Duration.ofMinutes(1), Set.of())).hasSize(3);
      assertThat(c.tasks().claimUpTo(Integer.MAX_VALUE, "w", Duration.ofMinutes(1), Set.of())).isEmpty();
    }
  }

  /**
   * Bug: a workflow whose failed state was its initial state was accepted; a task failed for good (retry false) was
   * then claimable again at once, its attempts growing past maxAttempts.
   */
  @Test
  void aWorkflowWhoseFailedStateIsItsInitialStateIsRefused() {
    Workflow.Builder loop = Workflow.builder("loop").initial("todo").claimed("doing").done("shipped").failed("todo")
        .transition("todo", "doing").transition("doing", "todo", "shipped");
    assertThatThrownBy(loop::build).isInstanceOf(IllegalStateException.class)
        .hasMessage("workflow loop needs a failed state other than its initial state todo: a task failed for good"
            + " there would be claimed again");
  }
}
