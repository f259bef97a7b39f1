package io.kyros.collab.conformance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.Collab;
import io.kyros.collab.Event;
import io.kyros.collab.KeepAlive;
import io.kyros.collab.Lease;
import io.kyros.collab.LeaseLostException;
import io.kyros.collab.MarkdownLogRenderer;
import io.kyros.collab.NewTask;
import io.kyros.collab.TaskClaim;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * docs/design.md invariant 3, a lease's time: the storage clock in the API, renewals that set a new ttl, and
 * releases scheduled at an instant the store holds; expiry always judged by the storage's clock.
 */
public abstract class LeaseTimingConformance extends LeaseNameConformance {
  private static final Duration TTL = Duration.ofSeconds(30);

  @Test
  void leaseTiming_nowIsTheStorageClock() {
    assertThat(collab.now()).isEqualTo(START).isEqualTo(storage.now());
    clock.advance(Duration.ofMinutes(5));
    assertThat(collab.now()).isEqualTo(START.plus(Duration.ofMinutes(5)));
  }

  /**
   * Asserts that {@code resource} is held up to {@code expiry} by the storage's clock and free a millisecond later:
   * a new holder gets the next fence.
   */
  private void assertHeldUntilThenAcquired(String resource, Instant expiry, long fence) {
    Collab next = newCollab("next-holder");
    clock.set(expiry);
    assertThat(next.leases().tryAcquire(resource, TTL)).as("held up to " + expiry).isEmpty();
    clock.advance(Duration.ofMillis(1));
    assertThat(collab.leases().get(resource)).isEmpty();
    assertThat(next.leases().tryAcquire(resource, TTL).orElseThrow().fence()).isEqualTo(fence + 1);
  }

  /**
   * Asserts that the log holds an acquisition, an event of {@code type} by {@code actor} about {@code target}, a
   * reclaim and an acquisition.
   *
   * @return the event of {@code type}
   */
  private Event recordedBetweenAcquisitionAndReclaim(String type, String actor, String target) {
    List<Event> events = allEvents();
    assertThat(events).extracting(Event::type).containsExactly("lease_acquired", type, "lease_reclaimed",
        "lease_acquired");
    Event e = events.get(1);
    assertThat(e.actor()).isEqualTo(actor);
    assertThat(e.target()).isEqualTo(target);
    return e;
  }

  @Test
  void leaseTiming_renewWithALongerTtlLengthensTheLeaseAndRecordsIt() {
    Lease a = collab.leases().tryAcquire("job", Duration.ofSeconds(2)).orElseThrow();
    clock.advance(Duration.ofSeconds(1));
    Lease longer = collab.leases().renew(a, Duration.ofSeconds(10));
    assertThat(longer.ttl()).isEqualTo(Duration.ofSeconds(10));
    assertThat(longer.heartbeatAt()).isEqualTo(collab.now());
    assertThat(longer.expiresAt()).isEqualTo(START.plusSeconds(11));
    assertThat(longer.fence()).isEqualTo(a.fence());
    assertThat(longer.leaseId()).isEqualTo(a.leaseId());
    clock.advance(Duration.ofSeconds(10));
    assertThat(collab.leases().get("job")).as("alive at its new expiry, long past the first").contains(longer);
    assertHeldUntilThenAcquired("job", longer.expiresAt(), a.fence());

    Event renewed = recordedBetweenAcquisitionAndReclaim("lease_renewed", "alice", "leases/job");
    assertThat(renewed.details().get("previousTtl").asText()).isEqualTo("PT2S");
    assertThat(renewed.details().get("ttl").asText()).isEqualTo("PT10S");
    assertThat(renewed.details().get("expiresAt").asText()).isEqualTo(START.plusSeconds(11).toString());
    assertThat(renewed.details().get("fence").asLong()).isEqualTo(a.fence());
    assertThat(renewed.details().get("leaseId").asText()).isEqualTo(a.leaseId());
    assertThat(MarkdownLogRenderer.create().renderLine(renewed))
        .contains("renewed lease on `job` with ttl PT10S (was PT2S");
  }

  @Test
  void leaseTiming_renewWithAShorterTtlShortensTheLease() {
    Lease a = collab.leases().tryAcquire("job", TTL).orElseThrow();
    clock.advance(Duration.ofSeconds(5));
    Lease shorter = collab.leases().renew(a, Duration.ofSeconds(2));
    assertThat(shorter.expiresAt()).isEqualTo(START.plusSeconds(7));
    clock.advance(Duration.ofSeconds(2));
    assertThat(collab.leases().isCurrent(shorter)).isTrue();
    clock.advance(Duration.ofMillis(1));
    assertThat(collab.leases().isCurrent(shorter)).as("stale long before the first ttl ran out").isFalse();
    Lease b = newCollab("bob").leases().tryAcquire("job", TTL).orElseThrow();
    assertThat(b.fence()).isEqualTo(a.fence() + 1);
  }

  @Test
  void leaseTiming_laterRenewalsKeepTheNewTtlAndOnlyChangesAreRecorded() {
    Lease a = collab.leases().tryAcquire("job", TTL).orElseThrow();
    Lease shorter = collab.leases().renew(a, Duration.ofSeconds(4));
    long events = collab.events().lastId();
    clock.advance(Duration.ofSeconds(3));
    Lease heartbeat = collab.leases().renew(shorter);
    assertThat(heartbeat.ttl()).isEqualTo(Duration.ofSeconds(4));
    assertThat(heartbeat.expiresAt()).isEqualTo(START.plusSeconds(7));
    Lease same = collab.leases().renew(heartbeat, Duration.ofSeconds(4));
    assertThat(same.ttl()).isEqualTo(Duration.ofSeconds(4));
    assertThat(collab.events().lastId()).as("heartbeats and an unchanged ttl record nothing").isEqualTo(events);
    Lease fromStaleCopy = collab.leases().renew(a);
    assertThat(fromStaleCopy.ttl()).as("the ttl comes from the store, not the caller's copy")
        .isEqualTo(Duration.ofSeconds(4));
  }

  @Test
  void leaseTiming_aKeepAliveKeepsATtlSetWhileItRuns() {
    Lease a = collab.leases().tryAcquire("job", TTL).orElseThrow();
    // an interval this long renews nothing during the test: renewals happen only through renewNow()
    try (KeepAlive keepAlive = collab.leases().keepAlive(a, TTL.dividedBy(2))) {
      clock.advance(Duration.ofSeconds(1));
      collab.leases().renew(keepAlive.current(), Duration.ofSeconds(4));
      clock.advance(Duration.ofSeconds(1));
      Lease renewed = keepAlive.renewNow();
      assertThat(renewed.ttl()).isEqualTo(Duration.ofSeconds(4));
      assertThat(renewed.expiresAt()).isEqualTo(START.plusSeconds(6));
      assertThat(keepAlive.current()).as("the later renewal, though it expires sooner").isEqualTo(renewed);
    }
  }

  @Test
  void leaseTiming_renewWithANewTtlAfterExpiryOrTakeoverFails() {
    Lease a = collab.leases().tryAcquire("job", TTL).orElseThrow();
    long events = collab.events().lastId();
    clock.advance(TTL.plusMillis(1));
    assertThatThrownBy(() -> collab.leases().renew(a, Duration.ofHours(1))).isInstanceOf(LeaseLostException.class)
        .hasMessageContaining("expired");
    assertThat(collab.events().lastId()).isEqualTo(events);
    assertThat(collab.leases().get("job")).as("the expired lease was not brought back").isEmpty();
    Lease b = newCollab("bob").leases().tryAcquire("job", TTL).orElseThrow();
    assertThatThrownBy(() -> collab.leases().renew(a, Duration.ofHours(1))).isInstanceOf(LeaseLostException.class)
        .hasMessageContaining("bob");
    assertThat(collab.leases().get("job")).contains(b);
  }

  @Test
  void leaseTiming_badTtlsAndInstantsAreRefusedWithNothingWritten() {
    Lease a = collab.leases().tryAcquire("job", TTL).orElseThrow();
    long events = collab.events().lastId();
    assertThatThrownBy(() -> collab.leases().renew(a, Duration.ZERO)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("ttl must be positive: PT0S");
    assertThatThrownBy(() -> collab.leases().renew(a, Duration.ofDays(36_501)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("ttl must be at most 36500 days");
    assertThatThrownBy(() -> collab.leases().renew(a, null)).isInstanceOf(NullPointerException.class)
        .hasMessage("ttl");
    assertThatThrownBy(() -> collab.leases().releaseAt(a, null)).isInstanceOf(NullPointerException.class)
        .hasMessage("at");
    assertThatThrownBy(() -> collab.leases().releaseAt(a, START.plus(Duration.ofDays(36_501))))
        .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("at must be at most 36500 days after");
    TaskClaim claim = claimATask();
    assertThatThrownBy(() -> collab.leases().releaseAt(claim.lease(), START.plusSeconds(5)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("is a task claim");
    assertThat(collab.events().read(events, 100)).extracting(Event::type)
        .containsExactly("task_created", "lease_acquired", "task_claimed");
    assertThat(collab.leases().get("job")).contains(a);
  }

  private TaskClaim claimATask() {
    collab.tasks().create(NewTask.of("t").withId("t-1"));
    return collab.tasks().claimNext(TTL).orElseThrow();
  }

  @Test
  void leaseTiming_releaseAtHoldsTheLeaseUntilTheInstantAfterItsHolderIsGone() {
    Collab bob = newCollab("bob");
    Lease b = bob.leases().tryAcquire("nightly report", TTL).orElseThrow();
    clock.advance(Duration.ofSeconds(10));
    Instant at = bob.now().plus(Duration.ofMinutes(2));
    assertThat(bob.leases().releaseAt(b, at)).isTrue();
    bob.close(); // the holder is gone: nobody renews or releases any more

    Lease held = collab.leases().get("nightly report").orElseThrow();
    assertThat(held.holder()).isEqualTo("bob");
    assertThat(held.fence()).isEqualTo(b.fence());
    assertThat(held.expiresAt()).as("longer than its ttl would have kept it").isEqualTo(at);
    assertHeldUntilThenAcquired("nightly report", at, b.fence());

    Event scheduled = recordedBetweenAcquisitionAndReclaim("lease_release_scheduled", "bob", "leases/nightly report");
    assertThat(scheduled.details().get("releaseAt").asText()).isEqualTo(at.toString());
    assertThat(scheduled.details().get("previousExpiresAt").asText()).isEqualTo(START.plus(TTL).toString());
    assertThat(scheduled.details().get("fence").asLong()).isEqualTo(b.fence());
    assertThat(allEvents().get(2).details().get("expiredAt").asText()).isEqualTo(at.toString());
    assertThat(MarkdownLogRenderer.create().renderLine(scheduled))
        .contains("scheduled the release of lease on `nightly report` at " + at);
  }

  @Test
  void leaseTiming_releaseAtCanShortenAndAScheduledLeaseIsNotRenewed() {
    Lease a = collab.leases().tryAcquire("job", TTL).orElseThrow();
    Instant at = collab.now().plusSeconds(5);
    assertThat(collab.leases().releaseAt(a, at)).isTrue();
    assertThat(collab.leases().get("job").orElseThrow().expiresAt()).isEqualTo(at);
    assertThatThrownBy(() -> collab.leases().renew(a)).isInstanceOf(LeaseLostException.class)
        .hasMessageContaining("release is scheduled at " + at);
    assertThatThrownBy(() -> collab.leases().renew(a, Duration.ofHours(1))).isInstanceOf(LeaseLostException.class)
        .hasMessageContaining("release is scheduled");
    assertThat(collab.leases().isCurrent(a)).as("held until the instant").isTrue();
    clock.advance(Duration.ofSeconds(5).plusMillis(1));
    assertThat(collab.leases().isCurrent(a)).isFalse();
    assertThat(newCollab("bob").leases().tryAcquire("job", TTL)).as("free long before the ttl ran out").isPresent();
  }

  @Test
  void leaseTiming_releaseAtMovesAScheduledReleaseAndReleaseStillEndsItAtOnce() {
    Lease a = collab.leases().tryAcquire("job", TTL).orElseThrow();
    assertThat(collab.leases().releaseAt(a, START.plusSeconds(5))).isTrue();
    assertThat(collab.leases().releaseAt(a, START.plusSeconds(50))).isTrue();
    assertThat(collab.leases().get("job").orElseThrow().expiresAt()).isEqualTo(START.plusSeconds(50));
    assertThat(collab.leases().release(a)).isTrue();
    assertThat(collab.leases().get("job")).isEmpty();
    assertThat(eventTypes()).containsExactly("lease_acquired", "lease_release_scheduled", "lease_release_scheduled",
        "lease_released");
  }

  @Test
  void leaseTiming_releaseAtAnInstantNotInTheFutureReleasesAtOnce() {
    Lease a = collab.leases().tryAcquire("job", TTL).orElseThrow();
    clock.advance(Duration.ofSeconds(3));
    assertThat(collab.leases().releaseAt(a, collab.now())).isTrue();
    assertThat(collab.leases().get("job")).isEmpty();
    assertThat(collab.leases().releaseAt(a, collab.now().plusSeconds(10))).as("no longer held").isFalse();
    Lease b = collab.leases().tryAcquire("job", TTL).orElseThrow();
    assertThat(collab.leases().releaseAt(b, START)).as("an instant in the past").isTrue();
    assertThat(eventTypes()).containsExactly("lease_acquired", "lease_released", "lease_acquired", "lease_released");
  }

  @Test
  void leaseTiming_releaseAtDoesNotBringBackAnExpiredLease() {
    Lease a = collab.leases().tryAcquire("job", TTL).orElseThrow();
    clock.advance(TTL.plusMillis(1));
    long events = collab.events().lastId();
    assertThat(collab.leases().releaseAt(a, collab.now().plusSeconds(60))).isFalse();
    assertThat(collab.events().lastId()).isEqualTo(events);
    assertThat(collab.leases().get("job")).isEmpty();
    assertThat(newCollab("bob").leases().tryAcquire("job", TTL)).isPresent();
  }
}
