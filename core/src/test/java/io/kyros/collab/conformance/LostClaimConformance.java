package io.kyros.collab.conformance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.Collab;
import io.kyros.collab.KeepAlive;
import io.kyros.collab.LeaseLostException;
import io.kyros.collab.NewTask;
import io.kyros.collab.Task;
import io.kyros.collab.TaskClaim;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredEvent;
import io.kyros.collab.spi.StoredRecord;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * docs/design.md invariants 3 and 5 for a worker that lost its claim: whatever it does through the claim after the claim
 * was reclaimed (ending it, moving it on, renewing it by hand or through a keep-alive) is refused with
 * {@link LeaseLostException}, writes nothing (task record, claim lease record and log unchanged), and leaves the new
 * holder's claim working. A guard skipped on any of these paths would let a reclaimed worker put a held task back in
 * the queue, or fail it, under its new holder: two holders.
 */
public abstract class LostClaimConformance extends ConcurrencyConformance {

  private static final Duration TTL = Duration.ofSeconds(60);
  private static final RecordKey TASK = new RecordKey("_tasks", "a");
  private static final RecordKey CLAIM = new RecordKey("_task-leases", "a");

  /** What the worker that lost its claim tries. */
  enum Through {
    COMPLETE, FAIL, RELEASE, TRANSITION, TRANSITION_TO_TERMINAL, RENEW, KEEP_ALIVE;

    void apply(Collab worker, TaskClaim claim) throws Exception {
      switch (this) {
        case COMPLETE -> worker.tasks().complete(claim);
        case FAIL -> worker.tasks().fail(claim, "lost worker");
        case RELEASE -> worker.tasks().release(claim);
        case TRANSITION -> worker.tasks().transition(claim, "in_progress");
        case TRANSITION_TO_TERMINAL -> worker.tasks().transition(claim, "failed");
        case RENEW -> worker.leases().renew(claim.lease());
        case KEEP_ALIVE -> {
          // an interval this long renews nothing on its own during the test: renewNow() is the renewal
          KeepAlive keepAlive = worker.leases().keepAlive(claim.lease(), TTL.dividedBy(2));
          try {
            assertThatThrownBy(keepAlive::renewNow).isInstanceOf(LeaseLostException.class);
            assertThat(keepAlive.lost().get(patience().toSeconds(), TimeUnit.SECONDS).resource())
                .isEqualTo(claim.lease().resource());
            throw keepAlive.lost().get();
          } finally {
            keepAlive.close();
          }
        }
        default -> throw new IllegalStateException(toString());
      }
    }
  }

  /** What the storage holds about task {@code a}: its record, its claim's lease record, the log. */
  private record Snapshot(Optional<StoredRecord> task, Optional<StoredRecord> claim, List<StoredEvent> log) {}

  private Snapshot snapshot() {
    return new Snapshot(storage.read(TASK), storage.read(CLAIM), storage.readEvents(0, Integer.MAX_VALUE));
  }

  /** {@code bob} claims task {@code a} and moves it on, then goes silent past the ttl. */
  private TaskClaim bobsClaimGoesStale(Collab bob) {
    collab.tasks().create(NewTask.of("a").withId("a"));
    TaskClaim claim = bob.tasks().claimNext(TTL).orElseThrow();
    claim = new TaskClaim(bob.tasks().transition(claim, "in_progress").task(), claim.lease());
    clock.advance(TTL.plusSeconds(1));
    return claim;
  }

  @ParameterizedTest
  @EnumSource(Through.class)
  void lostClaims_aReclaimedAndReclaimedAgainClaimIsRefusedWritesNothingAndLeavesTheNewHolderAlone(Through through) {
    Collab bob = newCollab("bob");
    TaskClaim lost = bobsClaimGoesStale(bob);
    TaskClaim current = collab.tasks().claimNext(TTL).orElseThrow();
    assertThat(current.task().id()).isEqualTo("a");
    assertThat(current.lease().fence()).isGreaterThan(lost.lease().fence());
    Snapshot before = snapshot();

    assertThatThrownBy(() -> through.apply(bob, lost)).isInstanceOf(LeaseLostException.class);

    assertThat(snapshot()).as("nothing written by the lost claim's %s", through).isEqualTo(before);
    assertThat(collab.tasks().get("a").orElseThrow().assignee()).isEqualTo("alice");
    assertThat(collab.leases().isCurrent(current.lease())).as("the new holder's claim").isTrue();
    clock.advance(TTL.minusSeconds(1));
    TaskClaim renewed = current.withLease(collab.leases().renew(current.lease()));
    assertThat(collab.tasks().transition(renewed, "in_progress").oldStatus()).isEqualTo("claimed");
    Task done = collab.tasks().complete(renewed);
    assertThat(done.status()).isEqualTo("done");
    assertThat(done.attempts()).as("only the reclaim counted an attempt").isEqualTo(1);
    assertThat(eventTypes()).endsWith("task_transitioned", "task_completed", "lease_released");
  }

  @ParameterizedTest
  @EnumSource(Through.class)
  void lostClaims_aClaimReclaimedBackToTheQueueIsRefusedWritesNothingAndTheTaskStaysClaimable(Through through) {
    Collab bob = newCollab("bob");
    TaskClaim lost = bobsClaimGoesStale(bob);
    assertThat(collab.tasks().reclaimStale()).singleElement()
        .satisfies(t -> assertThat(t.status()).isEqualTo("queued"));
    Snapshot before = snapshot();

    assertThatThrownBy(() -> through.apply(bob, lost)).isInstanceOf(LeaseLostException.class);

    assertThat(snapshot()).as("nothing written by the lost claim's %s", through).isEqualTo(before);
    TaskClaim next = newCollab("carol").tasks().claimNext(TTL).orElseThrow();
    assertThat(next.task().id()).isEqualTo("a");
    assertThat(next.task().attempts()).isEqualTo(1);
    assertThat(next.lease().fence()).isGreaterThan(lost.lease().fence());
  }
}
