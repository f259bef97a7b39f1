package io.kyros.collab.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import io.kyros.collab.Collab;
import io.kyros.collab.Event;
import io.kyros.collab.Lease;
import io.kyros.collab.conformance.MutableClock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A release scheduled with {@code Leases.releaseAt} is held by the database: a node with a pool of its own
 * schedules it and goes away (its Collab, storage and pool closed), and another node, on another pool, sees the
 * lease end exactly at the instant by the storage's clock. An unreachable server skips its case.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class ScheduledReleaseTwoPoolsTest {
  private static final Instant START = Instant.parse("2026-01-01T00:00:00Z");
  private static final Duration TTL = Duration.ofSeconds(30);
  private static final Instant AT = START.plus(Duration.ofMinutes(10));
  private static final String RESOURCE = "reports/отчёт 2026::nightly";

  private TestDatabase db;

  @AfterEach
  void closeDatabase() {
    if (db != null) {
      db.close();
    }
  }

  @ParameterizedTest
  @EnumSource(TestDatabase.Kind.class)
  void aReleaseScheduledByANodeThatIsGoneEndsTheLeaseAtTheInstant(TestDatabase.Kind kind) {
    db = TestDatabase.open(kind, "sched_release_", 2, c -> {});
    MutableClock clock = new MutableClock(START);
    Lease scheduled;
    try (HikariDataSource pool = db.newPool("holder-node", 2, c -> {});
        JdbcStorage storage = JdbcStorage.builder(pool).tablePrefix(db.prefix).dialect(kind.dialect).clock(clock)
            .build();
        Collab holder = Collab.builder().storage(storage).holder("holder-node").build()) {
      scheduled = holder.leases().tryAcquire(RESOURCE, TTL).orElseThrow();
      assertThat(holder.leases().releaseAt(scheduled, AT)).isTrue();
    }

    clock.advance(TTL.plusSeconds(1));
    try (JdbcStorage storage = db.storage(clock);
        Collab other = Collab.builder().storage(storage).holder("other-node").build()) {
      Lease held = other.leases().get(RESOURCE).orElseThrow();
      assertThat(held.leaseId()).isEqualTo(scheduled.leaseId());
      assertThat(held.expiresAt()).as("past its ttl, held until the scheduled instant").isEqualTo(AT);
      clock.set(AT);
      assertThat(other.leases().tryAcquire(RESOURCE, TTL)).as("held up to the instant").isEmpty();
      clock.advance(Duration.ofMillis(1));
      assertThat(other.leases().tryAcquire(RESOURCE, TTL).orElseThrow().fence()).isEqualTo(scheduled.fence() + 1);
      List<Event> events = other.events().read(0, 100);
      assertThat(events).extracting(Event::type)
          .containsExactly("lease_acquired", "lease_release_scheduled", "lease_reclaimed", "lease_acquired");
      assertThat(events.get(1).details().get("releaseAt").asText()).isEqualTo(AT.toString());
      assertThat(events.get(1).details().get("resource").asText()).isEqualTo(RESOURCE);
    }
  }
}
