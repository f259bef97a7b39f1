package io.kyros.collab.jdbc;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The storage's time: the database's clock in UTC epoch microseconds (or a configured {@link Clock}), cached so that
 * {@link #now} does not ask the database again within a second of the last reading, and never going backwards.
 *
 * <p>Every commit reads the database clock after taking the writers' lock ({@link #readIn} or, where the reading
 * arrives with other results, {@link #remember}). Within {@link #REUSE_NANOS} of the last reading, {@link #now}
 * returns that reading advanced by the local monotonic clock, minus {@link #MARGIN_MICROS}: an estimate that stays
 * behind the database's clock (the reading took time to arrive; the margin covers a difference of the two clocks'
 * rates over a second), which is the safe side for lease expiry. The result is never less than a reading or an
 * earlier result.
 *
 * <p>Thread-safe.
 */
final class DatabaseClock {
  /** How long a reading of the database clock stands in for another query, advanced by the local monotonic clock. */
  static final long REUSE_NANOS = 1_000_000_000L;
  /** Subtracted from such an estimate, so it stays behind the database's clock even if the two clocks' rates differ. */
  static final long MARGIN_MICROS = 1_000L;

  /** A reading of the database clock, and the local monotonic time its answer arrived. */
  private record Reading(long micros, long nanos) {}

  private final Optional<Clock> configured;
  private final String query;
  /** The database clock's last reading, by any query of this storage; null before the first. */
  private volatile Reading lastReading;
  /** The latest time {@link #now} returned or the database clock read (epoch micros), so it never goes back. */
  private final AtomicLong lastNow = new AtomicLong(Long.MIN_VALUE);

  /**
   * @param configured the clock replacing the database's, or empty for the database's
   * @param dialect the database, for its clock query
   */
  DatabaseClock(Optional<Clock> configured, Dialect dialect) {
    this.configured = configured;
    this.query = dialect.currentTimeMicros();
  }

  /** @return true if time comes from the database, false if from a configured clock */
  boolean isDatabase() {
    return configured.isEmpty();
  }

  /** @return the query returning the database's time in epoch microseconds, one BIGINT */
  String query() {
    return query;
  }

  /**
   * @param transactions where to ask the database, if the last reading is too old
   * @return the current time, truncated to microseconds, never earlier than a reading or an earlier result
   */
  Instant now(Transactions transactions) {
    if (configured.isPresent()) {
      return configuredNow();
    }
    Reading r = lastReading;
    long nanos = System.nanoTime();
    long micros;
    if (r != null && nanos - r.nanos() < REUSE_NANOS) {
      micros = r.micros() + (nanos - r.nanos()) / 1_000L - MARGIN_MICROS;
    } else {
      micros = micros(transactions.read("now", a -> readIn(a.connection)));
    }
    return instant(lastNow.accumulateAndGet(micros, Math::max));
  }

  /**
   * The time a commit is judged by and its events carry: the database's, read now on the commit's connection, or
   * the configured clock's.
   *
   * @param c the commit's connection, holding the writers' lock
   * @return the commit's time
   * @throws SQLException if the database cannot be asked
   */
  Instant commitTime(Connection c) throws SQLException {
    return configured.isPresent() ? configuredNow() : readIn(c);
  }

  /** @return the configured clock's time, truncated to microseconds */
  Instant configuredNow() {
    return configured.orElseThrow().instant().truncatedTo(ChronoUnit.MICROS);
  }

  /**
   * Reads the database clock on a connection and remembers the reading.
   *
   * @param c the connection
   * @return the database's time
   * @throws SQLException if the query fails
   */
  Instant readIn(Connection c) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(query)) {
      rs.next();
      return remember(rs.getLong(1));
    }
  }

  /**
   * Records a reading of the database clock that just arrived. {@link #now} never returns less than a reading (so it
   * is at least the timestamp of every commit this storage made), and is no later than the database's clock since a
   * reading is already in the past.
   *
   * @param micros the database's time, epoch microseconds
   * @return it as an instant
   */
  Instant remember(long micros) {
    lastReading = new Reading(micros, System.nanoTime());
    lastNow.accumulateAndGet(micros, Math::max);
    return instant(micros);
  }

  /**
   * @param t an instant
   * @return it in epoch microseconds (sub-microsecond digits dropped)
   * @throws ArithmeticException if out of range
   */
  static long micros(Instant t) {
    return Math.addExact(Math.multiplyExact(t.getEpochSecond(), 1_000_000L), t.getNano() / 1_000L);
  }

  /**
   * @param micros epoch microseconds
   * @return the instant
   */
  static Instant instant(long micros) {
    return Instant.ofEpochSecond(Math.floorDiv(micros, 1_000_000L), Math.floorMod(micros, 1_000_000L) * 1_000L);
  }

  @Override
  public String toString() {
    return configured.map(c -> "clock " + c).orElse("database clock");
  }
}
