package io.kyros.collab.conformance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.Collab;
import io.kyros.collab.Event;
import io.kyros.collab.KeepAlive;
import io.kyros.collab.Lease;
import io.kyros.collab.LeaseLostException;
import io.kyros.collab.LeaseStatus;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** docs/design.md invariant 3: leases, expiry by the storage clock, fencing, keep-alive. */
public abstract class LeaseConformance extends LeaseTimingConformance {

  private static final Duration TTL = Duration.ofSeconds(30);

  @Test
  void leases_atMostOneHolderAndFencesIncreaseOnEveryAcquisition() {
    Collab bob = newCollab("bob");
    Lease a = collab.leases().tryAcquire("job", TTL).orElseThrow();
    assertThat(a.holder()).isEqualTo("alice");
    assertThat(a.acquiredAt()).isEqualTo(storage.now());
    assertThat(bob.leases().tryAcquire("job", TTL)).isEmpty();
    assertThat(collab.leases().tryAcquire("job", TTL)).as("not re-entrant").isEmpty();
    assertThat(collab.leases().release(a)).isTrue();
    Lease b = bob.leases().tryAcquire("job", TTL).orElseThrow();
    assertThat(b.fence()).isGreaterThan(a.fence());
    assertThat(bob.leases().release(b)).isTrue();
    Lease c = collab.leases().tryAcquire("job", TTL).orElseThrow();
    assertThat(c.fence()).isGreaterThan(b.fence());
    assertThat(eventTypes()).containsExactly("lease_acquired", "lease_released", "lease_acquired", "lease_released",
        "lease_acquired");
    Event acquired = allEvents().get(0);
    assertThat(acquired.target()).isEqualTo("leases/job");
    assertThat(acquired.details().get("fence").asLong()).isEqualTo(a.fence());
    assertThat(acquired.details().get("holder").asText()).isEqualTo("alice");
  }

  @Test
  void leases_expiryIsJudgedByTheStorageClockAtTheExactBoundary() {
    Lease a = collab.leases().tryAcquire("job", TTL).orElseThrow();
    Collab bob = newCollab("bob");
    clock.advance(TTL);
    assertThat(bob.leases().tryAcquire("job", TTL)).as("now == heartbeat + ttl is not stale").isEmpty();
    assertThat(collab.leases().get("job")).contains(a);
    clock.advance(Duration.ofMillis(1));
    assertThat(collab.leases().get("job")).isEmpty();
    Lease b = bob.leases().tryAcquire("job", TTL).orElseThrow();
    assertThat(b.fence()).isEqualTo(a.fence() + 1);
  }

  @Test
  void leases_reclaimThroughAcquireRecordsPreviousHolderHeartbeatAndFences() {
    Lease a = collab.leases().tryAcquire("job", TTL).orElseThrow();
    clock.advance(TTL.plusSeconds(1));
    Collab bob = newCollab("bob");
    Lease b = bob.leases().tryAcquire("job", TTL).orElseThrow();
    List<Event> events = allEvents();
    assertThat(events).extracting(Event::type).containsExactly("lease_acquired", "lease_reclaimed", "lease_acquired");
    Event reclaimed = events.get(1);
    assertThat(reclaimed.actor()).isEqualTo("bob");
    assertThat(reclaimed.details().get("previousHolder").asText()).isEqualTo("alice");
    assertThat(reclaimed.details().get("lastHeartbeat").asText()).isEqualTo(a.heartbeatAt().toString());
    assertThat(reclaimed.details().get("oldFence").asLong()).isEqualTo(a.fence());
    assertThat(reclaimed.details().get("newFence").asLong()).isEqualTo(b.fence());
    assertThat(collab.leases().release(a)).as("a reclaimed lease cannot be released").isFalse();
    assertThat(bob.leases().get("job")).contains(b);
  }

  @Test
  void leases_renewMovesTheHeartbeatAndRecordsNothing() {
    Lease a = collab.leases().tryAcquire("job", TTL).orElseThrow();
    long events = collab.events().lastId();
    clock.advance(Duration.ofSeconds(20));
    Lease renewed = collab.leases().renew(a);
    assertThat(renewed.heartbeatAt()).isEqualTo(storage.now());
    assertThat(renewed.fence()).isEqualTo(a.fence());
    assertThat(renewed.leaseId()).isEqualTo(a.leaseId());
    clock.advance(Duration.ofSeconds(20));
    assertThat(collab.leases().get("job")).as("alive past the original expiry").isPresent();
    assertThat(collab.events().lastId()).isEqualTo(events);
    assertThat(collab.leases().isCurrent(renewed)).isTrue();
    assertThat(collab.leases().isCurrent(a)).as("any copy of the same acquisition is current").isTrue();
  }

  @Test
  void leases_renewAfterExpiryOrTakeoverFails() {
    Lease a = collab.leases().tryAcquire("job", TTL).orElseThrow();
    clock.advance(TTL.plusMillis(1));
    assertThatThrownBy(() -> collab.leases().renew(a)).isInstanceOf(LeaseLostException.class)
        .hasMessageContaining("expired");
    Lease b = newCollab("bob").leases().tryAcquire("job", TTL).orElseThrow();
    assertThatThrownBy(() -> collab.leases().renew(a)).isInstanceOfSatisfying(LeaseLostException.class, e -> {
      assertThat(e.resource()).isEqualTo("job");
      assertThat(e.getMessage()).contains("bob").contains(String.valueOf(b.fence()));
    });
    assertThat(collab.leases().isCurrent(a)).isFalse();
  }

  /** A copy of the current lease with another lock id: refused, and the message names the lock id, not the fence. */
  @Test
  void leases_theCurrentFenceWithAnotherLockIdIsRefusedNamingTheLockId() {
    Lease a = collab.leases().tryAcquire("job", TTL).orElseThrow();
    Lease forged = new Lease("not-" + a.leaseId(), a.resource(), a.holder(), a.acquiredAt(), a.ttl(), a.heartbeatAt(),
        a.fence());
    assertThatThrownBy(() -> collab.leases().renew(forged)).isInstanceOf(LeaseLostException.class)
        .hasMessageContaining("the lock id not-" + a.leaseId() + " is not the one of its holder " + a.holder()
            + " (fence " + a.fence() + ")");
    assertThat(collab.leases().isCurrent(forged)).isFalse();
    assertThat(collab.leases().isCurrent(a)).isTrue();
  }

  @Test
  void leases_listShowsTimeRemainingAndStaleness() {
    collab.leases().tryAcquire("a", Duration.ofSeconds(10)).orElseThrow();
    collab.leases().tryAcquire("b", Duration.ofSeconds(100)).orElseThrow();
    Lease c = collab.leases().tryAcquire("c", TTL).orElseThrow();
    collab.leases().release(c);
    clock.advance(Duration.ofSeconds(40));
    List<LeaseStatus> list = collab.leases().list();
    assertThat(list).extracting(s -> s.lease().resource()).containsExactly("a", "b");
    assertThat(list.get(0).stale()).isTrue();
    assertThat(list.get(0).remaining()).isEqualTo(Duration.ZERO);
    assertThat(list.get(1).stale()).isFalse();
    assertThat(list.get(1).remaining()).isEqualTo(Duration.ofSeconds(60));
  }

  @Test
  void leases_reclaimStaleFreesExpiredLeasesAndFencesKeepIncreasing() {
    Lease a = collab.leases().tryAcquire("a", Duration.ofSeconds(10)).orElseThrow();
    collab.leases().tryAcquire("b", Duration.ofSeconds(100)).orElseThrow();
    clock.advance(Duration.ofSeconds(11));
    List<Lease> reclaimed = collab.leases().reclaimStale();
    assertThat(reclaimed).containsExactly(a);
    assertThat(collab.leases().reclaimStale()).isEmpty();
    Event e = allEvents().get(allEvents().size() - 1);
    assertThat(e.type()).isEqualTo("lease_reclaimed");
    assertThat(e.details().get("previousHolder").asText()).isEqualTo("alice");
    assertThat(e.details().get("oldFence").asLong()).isEqualTo(a.fence());
    assertThat(e.details().get("newFence").isNull()).isTrue();
    assertThat(collab.leases().list()).extracting(s -> s.lease().resource()).containsExactly("b");
    Lease next = newCollab("bob").leases().tryAcquire("a", TTL).orElseThrow();
    assertThat(next.fence()).isGreaterThan(a.fence());
  }

  /** Starts {@code bob} waiting in acquire on another thread and returns once it is parked. */
  private CompletableFuture<Optional<Lease>> waitingAcquire(Collab bob) {
    CompletableFuture<Optional<Lease>> result = new CompletableFuture<>();
    Thread waiter = new Thread(() -> {
      try {
        result.complete(bob.leases().acquire("job", TTL, patience()));
      } catch (Throwable e) {
        result.completeExceptionally(e);
      }
    }, "acquire-waiter");
    waiter.start();
    awaitCondition("the waiter to park", () -> waiter.getState() == Thread.State.TIMED_WAITING || result.isDone());
    return result;
  }

  @Test
  void leases_acquireWaitsForARelease() throws Exception {
    Lease a = collab.leases().tryAcquire("job", TTL).orElseThrow();
    Collab bob = newCollab("bob");
    CompletableFuture<Optional<Lease>> waiting = waitingAcquire(bob);
    assertThat(waiting).isNotDone();
    collab.leases().release(a);
    Lease b = waiting.get(patience().toSeconds(), TimeUnit.SECONDS).orElseThrow();
    assertThat(b.holder()).isEqualTo("bob");
    assertThat(b.fence()).isGreaterThan(a.fence());
  }

  @Test
  void leases_acquireWakesOnTheReleaseEventNotByPolling() throws Exception {
    Lease a = collab.leases().tryAcquire("job", Duration.ofHours(2)).orElseThrow();
    // re-checks an hour apart and a holder valid for two hours: only the release event can wake it
    Collab bob = newCollab("bob", b -> b.acquireRecheck(Duration.ofHours(1)));
    CompletableFuture<Optional<Lease>> waiting = new CompletableFuture<>();
    Thread waiter = new Thread(() -> {
      try {
        waiting.complete(bob.leases().acquire("job", TTL, Duration.ofHours(3)));
      } catch (Throwable e) {
        waiting.completeExceptionally(e);
      }
    }, "acquire-waiter");
    waiter.start();
    awaitCondition("the waiter to park", () -> waiter.getState() == Thread.State.TIMED_WAITING || waiting.isDone());
    for (int i = 0; i < 20; i++) {
      collab.events().append("unrelated", "elsewhere", "{}");
    }
    assertThat(waiting).isNotDone();
    collab.leases().release(a);
    assertThat(waiting.get(patience().toSeconds(), TimeUnit.SECONDS)).isPresent();
  }

  @Test
  void leases_acquireGivesUpAfterMaxWait() throws Exception {
    collab.leases().tryAcquire("job", TTL).orElseThrow();
    Collab bob = newCollab("bob");
    assertThat(bob.leases().acquire("job", TTL, Duration.ZERO)).isEmpty();
    assertThat(bob.leases().acquire("job", TTL, Duration.ofMillis(50))).isEmpty();
    assertThat(bob.leases().acquire("free", TTL, Duration.ZERO)).isPresent();
  }

  @Test
  void leases_acquireWaitsUntilTheHolderGoesStale() throws Exception {
    collab.leases().tryAcquire("job", TTL).orElseThrow();
    CompletableFuture<Optional<Lease>> waiting = waitingAcquire(newCollab("bob"));
    assertThat(waiting).isNotDone();
    clock.advance(TTL.plusSeconds(1));
    assertThat(waiting.get(patience().toSeconds(), TimeUnit.SECONDS)).isPresent();
  }

  @Test
  void leases_badArgumentsAreRejected() {
    assertThatThrownBy(() -> collab.leases().tryAcquire("job", Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("ttl must be positive: PT0S");
    assertThatThrownBy(() -> collab.leases().tryAcquire("job", Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("ttl must be positive: PT-1S");
    assertThatThrownBy(() -> collab.leases().tryAcquire("a\nb", TTL))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("resource must not contain control");
    assertThatThrownBy(() -> collab.leases().tryAcquire(null, TTL))
        .isInstanceOf(NullPointerException.class).hasMessage("resource");
    assertThatThrownBy(() -> collab.leases().tryAcquire("job", Duration.ofSeconds(Long.MAX_VALUE)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("ttl must be at most 36500 days");
    assertThatThrownBy(() -> collab.leases().keepAlive(
        collab.leases().tryAcquire("other", TTL).orElseThrow(), TTL.dividedBy(2).plusMillis(1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at most half the ttl");
    collab.leases().release(collab.leases().get("other").orElseThrow());
    long before = collab.events().lastId();
    assertThatThrownBy(() -> collab.leases().acquire("job", TTL, Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxWait must not be negative");
    assertThat(collab.events().lastId()).isEqualTo(before);
  }

  @Test
  void leases_defaultHolderIdentityIsUniquePerInstance() {
    try (Collab one = Collab.builder().storage(storage).build();
        Collab two = Collab.builder().storage(storage).build()) {
      assertThat(one.holder()).isNotEqualTo(two.holder());
      assertThat(one.holder()).matches(".+:" + ProcessHandle.current().pid() + ":[0-9a-f]{12}");
    }
  }

  @Test
  void leases_keepAliveRenewsInTheBackground() throws Exception {
    Lease a = collab.leases().tryAcquire("job", TTL).orElseThrow();
    try (KeepAlive keepAlive = collab.leases().keepAlive(a, Duration.ofMillis(5))) {
      for (int i = 0; i < 5; i++) {
        clock.advance(Duration.ofSeconds(20));
        java.time.Instant target = storage.now();
        awaitCondition("renewal at " + target,
            () -> !keepAlive.current().heartbeatAt().isBefore(target) || keepAlive.isLost());
      }
      assertThat(keepAlive.isLost()).isFalse();
      assertThat(collab.leases().get("job")).isPresent();
      assertThat(keepAlive.current().heartbeatAt()).isAfterOrEqualTo(START.plusSeconds(100));
    }
  }

  @Test
  void leases_keepAliveCancelsGuardedWorkWhenTheLeaseIsLost() throws Exception {
    Lease a = collab.leases().tryAcquire("job", TTL).orElseThrow();
    // an interval this long renews nothing during the test: renewals happen only through renewNow()
    KeepAlive keepAlive = collab.leases().keepAlive(a, TTL.dividedBy(2));
    CompletableFuture<String> work = keepAlive.guard(new CompletableFuture<>());
    CountDownLatch interrupted = new CountDownLatch(1);
    Thread worker = new Thread(() -> {
      try {
        new CountDownLatch(1).await();
      } catch (InterruptedException e) {
        interrupted.countDown();
      }
    });
    worker.start();
    keepAlive.interruptOnLoss(worker);
    clock.advance(Duration.ofSeconds(20));
    assertThat(keepAlive.renewNow().heartbeatAt()).isEqualTo(storage.now());
    clock.advance(TTL.plusSeconds(1));
    newCollab("bob").leases().tryAcquire("job", TTL).orElseThrow();
    assertThatThrownBy(keepAlive::renewNow).isInstanceOf(LeaseLostException.class);
    assertThat(keepAlive.lost().get(patience().toSeconds(), TimeUnit.SECONDS).getMessage()).contains("bob");
    assertThat(work.isCancelled()).isTrue();
    assertThat(interrupted.await(patience().toSeconds(), TimeUnit.SECONDS)).isTrue();
    assertThat(keepAlive.guard(new CompletableFuture<>()).isCancelled()).as("guarding after loss cancels at once")
        .isTrue();
  }

  @Test
  void leases_closingAKeepAliveStopsRenewalsWithoutReportingALoss() throws Exception {
    Lease a = collab.leases().tryAcquire("job", TTL).orElseThrow();
    KeepAlive keepAlive = collab.leases().keepAlive(a, Duration.ofMillis(1));
    CompletableFuture<String> work = keepAlive.guard(new CompletableFuture<>());
    clock.advance(Duration.ofSeconds(5));
    java.time.Instant renewedAt = storage.now();
    awaitCondition("a renewal before the close",
        () -> !keepAlive.current().heartbeatAt().isBefore(renewedAt) || keepAlive.isLost());
    keepAlive.close();
    io.kyros.collab.spi.RecordKey record = new io.kyros.collab.spi.RecordKey("_leases", "job");
    // a second keep-alive on the same scheduler and interval goes on renewing: once it has renewed at later clock
    // readings, the closed one would have renewed too had it not stopped (a renewal rewrites the record even when
    // the clock stands still, so the record's revision shows any). close() does not wait for a renewal already
    // running, which may still commit once: the record is taken after the witness's first renewal.
    Lease other = collab.leases().tryAcquire("other", TTL).orElseThrow();
    io.kyros.collab.spi.StoredRecord afterClose = null;
    try (KeepAlive witness = collab.leases().keepAlive(other, Duration.ofMillis(1))) {
      for (int i = 0; i < 4; i++) {
        clock.advance(Duration.ofSeconds(5));
        java.time.Instant target = storage.now();
        awaitCondition("the other keep-alive's renewal at " + target,
            () -> !witness.current().heartbeatAt().isBefore(target) || witness.isLost());
        if (i == 0) {
          afterClose = storage.read(record).orElseThrow();
        }
      }
      assertThat(witness.isLost()).isFalse();
    }
    assertThat(storage.read(record)).as("the closed keep-alive's lease record").contains(afterClose);
    assertThat(collab.leases().release(keepAlive.current())).isTrue();
    assertThat(keepAlive.isLost()).isFalse();
    assertThat(work.isCancelled()).isFalse();
    assertThatThrownBy(keepAlive::renewNow).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void leases_closingTheCollabReportsItsKeepAlivesLost() throws Exception {
    Collab bob = newCollab("bob");
    Lease b = bob.leases().tryAcquire("job", TTL).orElseThrow();
    KeepAlive keepAlive = bob.leases().keepAlive(b, TTL.dividedBy(2));
    CompletableFuture<String> work = keepAlive.guard(new CompletableFuture<>());
    bob.close();
    assertThat(keepAlive.lost().get(patience().toSeconds(), TimeUnit.SECONDS).getMessage())
        .contains("the Collab was closed");
    assertThat(work.isCancelled()).isTrue();
  }

  @Test
  void leases_forgedLeaseValuesChangeNothing() {
    Lease a = collab.leases().tryAcquire("job", TTL).orElseThrow();
    collab.leases().release(a);
    Lease b = collab.leases().tryAcquire("job", TTL).orElseThrow();
    Lease rewound = new Lease(b.leaseId(), b.resource(), b.holder(), b.acquiredAt(), b.ttl(), b.heartbeatAt(), 1);
    assertThatThrownBy(() -> collab.leases().renew(rewound)).isInstanceOf(LeaseLostException.class);
    Lease longer = new Lease(b.leaseId(), b.resource(), b.holder(), b.acquiredAt(), Duration.ofDays(3650),
        b.heartbeatAt(), b.fence());
    assertThat(collab.leases().renew(longer).ttl()).as("the ttl comes from the store").isEqualTo(TTL);
    Lease escape = new Lease("x", "tasks/../../etc", "me", START, TTL, START, 1);
    assertThatThrownBy(() -> collab.leases().renew(escape)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("must match");
    assertThatThrownBy(() -> collab.leases().isCurrent(escape)).isInstanceOf(IllegalArgumentException.class);
    collab.leases().release(b);
    assertThat(collab.leases().tryAcquire("job", TTL).orElseThrow().fence()).isEqualTo(b.fence() + 1);
  }

  @Test
  void leases_keepAliveDetectsLossOnItsOwn() throws Exception {
    Lease a = collab.leases().tryAcquire("job", TTL).orElseThrow();
    KeepAlive keepAlive = collab.leases().keepAlive(a, Duration.ofMillis(5));
    CompletableFuture<String> work = keepAlive.guard(new CompletableFuture<>());
    collab.leases().release(keepAlive.current());
    LeaseLostException lost = keepAlive.lost().get(patience().toSeconds(), TimeUnit.SECONDS);
    assertThat(lost.resource()).isEqualTo("job");
    assertThat(work.isCancelled()).isTrue();
  }
}
