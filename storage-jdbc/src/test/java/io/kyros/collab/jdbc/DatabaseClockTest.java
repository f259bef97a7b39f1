package io.kyros.collab.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.Collab;
import io.kyros.collab.Event;
import io.kyros.collab.EventFilter;
import io.kyros.collab.Lease;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.NewEvent;
import java.time.Duration;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The default time source, the database's clock, on every database: {@link JdbcStorage#now()} and commit
 * timestamps read it, lease expiry follows it, and a session time zone with daylight saving time changes nothing.
 * Instants are compared with readings of the database's own clock, never with the JVM's.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class DatabaseClockTest {

  @ParameterizedTest
  @EnumSource(TestDatabase.Kind.class)
  void nowAndCommitTimestampsComeFromTheDatabaseClock(TestDatabase.Kind kind) {
    try (TestDatabase db = TestDatabase.open(kind, "clock_"); JdbcStorage storage = db.builder().build()) {
      // ordered between two readings of the database's clock itself: no tolerance against the JVM's clock
      Instant before = databaseNow(db);
      Instant now = storage.now();
      Instant after = databaseNow(db);
      assertThat(now).isBetween(before, after);
      CommitResult.Committed c = (CommitResult.Committed) storage.commit(
          Commit.of(List.of(), List.of(), List.of(new NewEvent("tick", "clock", "t", "{}"))));
      Instant later = storage.now();
      assertThat(c.committedAt()).isBetween(now, later);
      assertThat(c.events().get(0).ts()).isEqualTo(c.committedAt());
      assertThat(storage.readEvents(0, 10)).singleElement().extracting(e -> e.ts()).isEqualTo(c.committedAt());
    }
  }

  @Test
  void nowRightAfterAReadingIsEstimatedWithoutAQueryAndStaysBehindTheDatabaseClock() throws Exception {
    FaultyDataSource source = FaultyDataSource.h2("clock_reuse");
    try (JdbcStorage storage = JdbcStorage.builder(source.dataSource()).tablePrefix("reuse_").build()) {
      storage.createSchema();
      CommitResult.Committed c = (CommitResult.Committed) storage.commit(
          Commit.of(List.of(), List.of(), List.of(new NewEvent("tick", "clock", "t", "{}"))));
      int connections = source.connections().size();
      Instant estimated = storage.now(); // within a second of the commit's reading of the database clock
      assertThat(source.connections()).hasSize(connections);
      assertThat(estimated).isAfterOrEqualTo(c.committedAt());
      Instant database;
      try (Connection direct = source.dataSource().getConnection(); Statement s = direct.createStatement();
          ResultSet rs = s.executeQuery(new H2Dialect().currentTimeMicros())) {
        rs.next();
        database = DatabaseClock.instant(rs.getLong(1));
      }
      assertThat(estimated).isBeforeOrEqualTo(database);
      assertThat(storage.now()).isAfterOrEqualTo(estimated); // never back in time
    }
  }

  @ParameterizedTest
  @EnumSource(value = TestDatabase.Kind.class, names = {"POSTGRESQL", "MARIADB", "H2"})
  void aSessionTimeZoneWithDaylightSavingChangesNothing(TestDatabase.Kind kind) {
    String setZone = switch (kind) {
      case POSTGRESQL -> "SET TIME ZONE 'America/New_York'";
      case MARIADB -> "SET time_zone = '-05:00'"; // named zones need the server's time zone tables
      case H2 -> "SET TIME ZONE 'America/New_York'";
      default -> throw new IllegalArgumentException(kind.toString());
    };
    try (TestDatabase db = TestDatabase.open(kind, "zone_", 2, c -> c.setConnectionInitSql(setZone));
        JdbcStorage storage = db.builder().build()) {
      // the storage's sessions are in the zone, the reference session (outside the pool) is not: a zone that leaked
      // into now() would put it hours outside the two readings
      Instant before = databaseNow(db);
      Instant now = storage.now();
      Instant after = databaseNow(db);
      assertThat(now).isBetween(before, after);
    }
  }

  /** @return the database's clock, read on a session of its own outside the test's pool, with the storage's query */
  private static Instant databaseNow(TestDatabase db) {
    try (Connection c = java.sql.DriverManager.getConnection(db.url, db.user, db.password);
        Statement s = c.createStatement(); ResultSet rs = s.executeQuery(db.kind.dialect.sql().currentTimeMicros())) {
      rs.next();
      return DatabaseClock.instant(rs.getLong(1));
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException("cannot read the clock of " + db.kind + ": " + e.getMessage(), e);
    }
  }

  @ParameterizedTest
  @EnumSource(TestDatabase.Kind.class)
  void leasesExpireByTheDatabaseClock(TestDatabase.Kind kind) throws Exception {
    try (TestDatabase db = TestDatabase.open(kind, "expiry_"); JdbcStorage storage = db.builder().build();
        Collab first = Collab.builder().storage(storage).holder("first").build();
        Collab second = Collab.builder().storage(storage).holder("second").build()) {
      Duration ttl = Duration.ofMillis(300);
      Lease held = first.leases().tryAcquire("job", ttl).orElseThrow();
      Optional<Lease> early = second.leases().tryAcquire("job", ttl);
      // refused while the lease is unexpired by the database's clock (read after the attempt, so the attempt saw
      // it unexpired too); a machine that stalled past the ttl in between leaves nothing to check here
      if (!storage.now().isAfter(held.expiresAt())) {
        assertThat(early).as("an acquisition while the holder's lease is unexpired").isEmpty();
      }
      // acquire waits until the holder's lease is stale by the storage's (the database's) clock, then reclaims it
      Optional<Lease> next = second.leases().acquire("job", ttl, Duration.ofSeconds(30));
      assertThat(next).isPresent();
      assertThat(next.get().fence()).isEqualTo(held.fence() + 1);
      assertThat(Duration.between(held.heartbeatAt(), next.get().acquiredAt())).isGreaterThan(ttl);
      List<Event> reclaimed = first.events().read(0, EventFilter.all().types("lease_reclaimed"), 10);
      assertThat(reclaimed).singleElement().satisfies(e -> assertThat(e.ts()).isAfter(held.heartbeatAt().plus(ttl)));
    }
  }
}
