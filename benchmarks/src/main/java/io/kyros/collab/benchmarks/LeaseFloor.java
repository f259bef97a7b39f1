package io.kyros.collab.benchmarks;

import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.UUID;

/**
 * The floor of a lease on PostgreSQL: the least SQL that keeps the guarantees Collab's lease gives and ShedLock's
 * does not, so the best any implementation of them could do on the same server. Each call is <em>one</em> statement
 * in one auto-commit transaction (one round trip, one WAL flush), on the database's clock, that changes the lease row
 * (holder, lease id, expiry, fencing token + 1) <em>and</em> inserts the event recording the change, as Collab's
 * state-and-event-in-one-commit invariant requires:
 * <pre>
 * acquire: WITH l AS (INSERT ... ON CONFLICT (name) DO UPDATE ... WHERE expires_at &lt;= clock_timestamp()
 *                     RETURNING fence, expires_at),
 *               e AS (INSERT INTO events ... SELECT ... FROM l)
 *          SELECT fence FROM l
 * release: WITH l AS (UPDATE ... SET expires_at = clock_timestamp() WHERE name = ? AND lease_id = ? AND fence = ?
 *                     RETURNING fence),
 *               e AS (INSERT INTO events ... SELECT ... FROM l)
 *          SELECT count(*) FROM l
 * </pre>
 * What Collab does beyond it (its expiry index entry for stale reclaim, record revisions, a conflict result naming the
 * broken expectation, retries) is left out, so Collab can only come close to it; ShedLock's acquire and release change
 * the row alone, without an event.
 *
 * <p>Not thread-safe: one benchmark thread.
 */
final class LeaseFloor {
  private static final String LEASES = "bench_floor_leases";
  private static final String EVENTS = "bench_floor_lease_events";
  private static final String ACQUIRE = "WITH l AS (INSERT INTO " + LEASES + " AS l (name, holder, lease_id, fence,"
      + " expires_at) VALUES (?, ?, ?, 1, clock_timestamp() + make_interval(secs => ?)) ON CONFLICT (name) DO UPDATE"
      + " SET holder = EXCLUDED.holder, lease_id = EXCLUDED.lease_id, fence = l.fence + 1, expires_at ="
      + " EXCLUDED.expires_at WHERE l.expires_at <= clock_timestamp() RETURNING name, holder, lease_id, fence,"
      + " expires_at), e AS (INSERT INTO " + EVENTS + " (ts, event_type, actor, target, details) SELECT"
      + " clock_timestamp(), 'lease_acquired', holder, 'leases/' || name, json_build_object('expiresAt', expires_at,"
      + " 'fence', fence, 'holder', holder, 'leaseId', lease_id, 'resource', name, 'ttl', ?)::text FROM l)"
      + " SELECT fence FROM l";
  private static final String RELEASE = "WITH l AS (UPDATE " + LEASES + " SET expires_at = clock_timestamp() WHERE"
      + " name = ? AND lease_id = ? AND fence = ? RETURNING name, holder, lease_id, fence, expires_at), e AS (INSERT"
      + " INTO " + EVENTS + " (ts, event_type, actor, target, details) SELECT clock_timestamp(), 'lease_released',"
      + " holder, 'leases/' || name, json_build_object('expiresAt', expires_at, 'fence', fence, 'holder', holder,"
      + " 'leaseId', lease_id, 'resource', name)::text FROM l) SELECT count(*) FROM l";

  private final HikariDataSource pool;
  private final String holder;
  private final Duration ttl;

  /**
   * Creates the floor's tables anew.
   *
   * @param pool the benchmark's pool on PostgreSQL
   * @param holder who takes the leases
   * @param ttl the leases' time to live
   */
  LeaseFloor(HikariDataSource pool, String holder, Duration ttl) {
    this.pool = pool;
    this.holder = holder;
    this.ttl = ttl;
    BenchDatabase.POSTGRESQL.execute(pool, "DROP TABLE IF EXISTS " + LEASES + ", " + EVENTS,
        "CREATE TABLE " + LEASES + " (name VARCHAR(128) PRIMARY KEY, holder TEXT NOT NULL, lease_id TEXT NOT NULL,"
            + " fence BIGINT NOT NULL, expires_at TIMESTAMP WITH TIME ZONE NOT NULL)",
        "CREATE TABLE " + EVENTS + " (id BIGSERIAL PRIMARY KEY, ts TIMESTAMP WITH TIME ZONE NOT NULL,"
            + " event_type TEXT NOT NULL, actor TEXT NOT NULL, target TEXT NOT NULL, details TEXT NOT NULL)");
  }

  /**
   * Takes the lease on a name and releases it, in two statements (two commits).
   *
   * @param name the resource
   * @return the fencing token the lease had
   * @throws SQLException if the database fails
   * @throws IllegalStateException if the lease was not granted or not released
   */
  long acquireRelease(String name) throws SQLException {
    String leaseId = UUID.randomUUID().toString();
    long fence;
    try (Connection c = pool.getConnection()) {
      try (PreparedStatement ps = c.prepareStatement(ACQUIRE)) {
        ps.setString(1, name);
        ps.setString(2, holder);
        ps.setString(3, leaseId);
        ps.setLong(4, ttl.toSeconds());
        ps.setString(5, ttl.toString());
        try (ResultSet rs = ps.executeQuery()) {
          if (!rs.next()) {
            throw new IllegalStateException("the floor did not grant " + name);
          }
          fence = rs.getLong(1);
        }
      }
    }
    try (Connection c = pool.getConnection(); PreparedStatement ps = c.prepareStatement(RELEASE)) {
      ps.setString(1, name);
      ps.setString(2, leaseId);
      ps.setLong(3, fence);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next() || rs.getLong(1) != 1) {
          throw new IllegalStateException("the floor did not release " + name);
        }
      }
    }
    return fence;
  }
}
