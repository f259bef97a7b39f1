package io.kyros.collab.file;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.Collab;
import io.kyros.collab.Event;
import io.kyros.collab.Lease;
import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.file.harness.ChildJvm;
import io.kyros.collab.file.harness.ScheduledReleaseHolder;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * A release scheduled with {@code Leases.releaseAt} is held by the store: another process schedules it and is
 * killed (SIGKILL), and the lease still ends exactly at the instant, by the storage's clock, neither sooner nor
 * later.
 */
class ScheduledReleaseProcessTest {
  private static final Instant START = Instant.parse("2026-01-01T00:00:00Z");
  /** Later than the holder's ttl would have kept the lease. */
  private static final Instant AT = START.plus(Duration.ofMinutes(10));

  @TempDir(cleanup = CleanupMode.ON_SUCCESS)
  Path tmp;

  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void aReleaseScheduledByAKilledProcessEndsTheLeaseAtTheInstant() throws Exception {
    Path store = tmp.resolve("store");
    String[] scheduled;
    try (ChildJvm holder = ChildJvm.start("holder", ScheduledReleaseHolder.class, tmp.resolve("holder.err"),
        List.of(store.toString(), START.toString(), AT.toString()))) {
      assertThat(holder.awaitLine(l -> l.startsWith("scheduled "), Duration.ofSeconds(60)))
          .as("the holder scheduled the release:\n%s", holder.describe()).isTrue();
      scheduled = holder.lines().get(0).split(" ");
      holder.kill();
    }
    long fence = Long.parseLong(scheduled[1]);
    String leaseId = scheduled[2];

    MutableClock clock = new MutableClock(START.plus(ScheduledReleaseHolder.TTL).plusSeconds(1));
    try (FileStorage storage = FileStorage.builder(store).clock(clock).open();
        Collab collab = Collab.builder().storage(storage).holder("parent").build()) {
      String resource = ScheduledReleaseHolder.RESOURCE;
      Lease held = collab.leases().get(resource).orElseThrow();
      assertThat(held.leaseId()).isEqualTo(leaseId);
      assertThat(held.holder()).isEqualTo("child");
      assertThat(held.expiresAt()).as("past its ttl, held until the scheduled instant").isEqualTo(AT);
      assertThat(collab.leases().tryAcquire(resource, Duration.ofSeconds(5))).isEmpty();
      clock.set(AT);
      assertThat(collab.leases().tryAcquire(resource, Duration.ofSeconds(5))).as("held up to the instant").isEmpty();
      clock.advance(Duration.ofMillis(1));
      Lease next = collab.leases().tryAcquire(resource, Duration.ofSeconds(5)).orElseThrow();
      assertThat(next.fence()).isEqualTo(fence + 1);

      List<Event> events = collab.events().read(0, 100);
      assertThat(events).extracting(Event::type)
          .containsExactly("lease_acquired", "lease_release_scheduled", "lease_reclaimed", "lease_acquired");
      assertThat(events.get(1).actor()).isEqualTo("child");
      assertThat(events.get(1).details().get("resource").asText()).isEqualTo(resource);
      assertThat(events.get(1).details().get("releaseAt").asText()).isEqualTo(AT.toString());
      assertThat(events.get(2).details().get("expiredAt").asText()).isEqualTo(AT.toString());
    }
  }
}
