package io.kyros.collab.benchmarks;

import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;

/**
 * A ladder of hand-written lease commits on Collab's own PostgreSQL tables, each rung adding one part of what
 * Collab's one-statement lease commit does, so that PostgreSQL's CPU per acquire + release shows what each part
 * costs. One thread, one connection in auto-commit, a lease on the next of 8 names acquired and released:
 * <ol>
 *   <li>{@code floor}: {@link LeaseFloor} (its own table: the row upserted and the event inserted, one statement);</li>
 *   <li>{@code record}: the lease record updated on its expected revision ({@code nextval} of the revision
 *       sequence, the hash, the value) and the event inserted ({@code nextval} of the event sequence, the database
 *       clock), one statement;</li>
 *   <li>{@code index}: and the record's {@code expires} index entry replaced (acquire: delete and insert; release:
 *       delete);</li>
 *   <li>{@code column} (beside {@code index}, not above it): {@code record} on a table of Collab's columns plus the
 *       expiry as a column, {@code expires_key}, with a partial index {@code (collection, expires_key, id) WHERE
 *       expires_key IS NOT NULL}: the acquire sets it, the release sets it NULL;</li>
 *   <li>{@code clock}, {@code bound}, {@code scalar}, {@code array}: and the clock read once and the write
 *       conditional on it (a time bound), with nothing before it, with the lock wait's bound, with the key's advisory
 *       lock on a {@code BIGINT} parameter, or with the lock from an unnested array;</li>
 *   <li>{@code locked}: and both the bound and the array lock, as Collab took one key's lock until session 44 (now it
 *       takes it on a parameter);</li>
 *   <li>{@code txn}: that statement between {@code BEGIN ISOLATION LEVEL READ COMMITTED} and {@code COMMIT} in one
 *       round trip, as Collab sends it.</li>
 * </ol>
 * Collab's own commit adds to the last rung the conflict report's reads (planned, not run) and its result columns.
 * Not a benchmark: a probe, run with nothing else on the machine; PostgreSQL's CPU as {@link LeaseCostProbe} reads
 * it. Tables prefixed ladder_ in database test.
 *
 * <p>Usage: {@code java -cp benchmarks.jar:<dir of this class> io.kyros.collab.benchmarks.LeaseSqlLadder <rounds>
 * <seconds per rung> [rungs, comma-separated; default all]}
 */
public final class LeaseSqlLadder {
  private static final int NAMES = 8;
  private static final String P = "ladder_collab_";
  private static final String HELD = "{\"expiresAt\":\"2026-12-05T13:38:10.631086Z\",\"fence\":%d,\"holder\":\"bench\","
      + "\"leaseId\":\"8b0a0e5e-a4ce-41bf-b321-e58f81679752\",\"resource\":\"%s\",\"ttl\":\"PT30S\"}";
  private static final String FREE = "{\"fence\":%d,\"resource\":\"%s\"}";
  /** The records of the {@code column} rung: Collab's columns and the expiry, with a partial index of its own. */
  private static final String COLUMN_TABLE = "ladder_col_records";
  private static final String CLOCK = "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT";

  private LeaseSqlLadder() {}

  /**
   * What a rung's statement does, from its name.
   *
   * @param index whether it replaces the lease's {@code expires} entry in {@code collab_index}
   * @param locked whether it reads the clock into a CTE first, with the lock as {@code lockForm} says
   * @param lockForm full (the bound and the array lock), array, scalar, bound (the bound alone), clock (nothing)
   * @param column whether it keeps the expiry in a column of the record instead ({@link #COLUMN_TABLE})
   * @param txn whether the statement goes between {@code BEGIN} and {@code COMMIT} in the same round trip
   */
  private record Rung(String name, boolean index, boolean locked, String lockForm, boolean column, boolean txn) {
    static Rung of(String name) {
      boolean column = name.equals("column");
      return new Rung(name, !name.equals("record") && !column,
          !List.of("floor", "record", "index", "column").contains(name), switch (name) {
            case "clock", "bound", "scalar", "array" -> name;
            default -> "full";
          }, column, name.equals("txn"));
    }
  }

  private static String record(Rung r, boolean acquire) {
    StringBuilder s = new StringBuilder(r.txn() ? "BEGIN ISOLATION LEVEL READ COMMITTED; WITH " : "WITH ");
    if (r.locked()) {
      s.append(switch (r.lockForm()) {
        case "full" -> "l AS MATERIALIZED (SELECT count(*) FROM (SELECT set_config('lock_timeout',"
            + " CAST(? AS BIGINT) || 'ms', true)"
            + " AS bound) AS b CROSS JOIN LATERAL (SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(? AS BIGINT[]))"
            + " AS k WHERE b.bound IS NOT NULL) AS locked), ";
        case "array" -> "l AS MATERIALIZED (SELECT count(*) FROM (SELECT pg_advisory_xact_lock(k) FROM"
            + " unnest(CAST(? AS BIGINT[])) AS k) AS locked), ";
        case "scalar" -> "l AS MATERIALIZED (SELECT pg_advisory_xact_lock(CAST(? AS BIGINT)) AS locked), ";
        case "bound" -> "l AS MATERIALIZED (SELECT set_config('lock_timeout', CAST(? AS BIGINT) || 'ms', true)"
            + " AS bound), ";
        default -> "l AS MATERIALIZED (SELECT 1 AS none), ";
      }).append("t AS MATERIALIZED (SELECT " + CLOCK + " AS n FROM l), ");
    }
    s.append("w AS (UPDATE " + (r.column() ? COLUMN_TABLE : P + "records") + " SET revision = nextval('" + P
        + "revision_seq'), hash = ?, value_json = ?" + (r.column() ? ", expires_key = ?" : "")
        + " WHERE collection = '_leases' AND id = ? AND revision = ?")
        .append(r.locked() ? " AND (SELECT n FROM t) <= ?" : "").append(" RETURNING revision)");
    String held = "(SELECT count(*) FROM w) = 1";
    if (r.index()) {
      s.append(", d AS (DELETE FROM " + P + "index WHERE collection = '_leases' AND record_id = ? AND " + held
          + " RETURNING 1)");
      if (acquire) {
        s.append(", i AS (INSERT INTO " + P + "index (collection, index_name, index_key, record_id) SELECT '_leases',"
            + " 'expires', ?, ? WHERE " + held + " AND (SELECT count(*) FROM d) >= 0)");
      }
    }
    s.append(", e AS (INSERT INTO " + P + "events (id, ts_micros, event_type, actor, target, details) SELECT nextval('"
        + P + "event_seq'), ").append(r.locked() ? "(SELECT n FROM t)" : CLOCK)
        .append(", ?, 'bench', ?, ? WHERE " + held + " RETURNING id) SELECT (SELECT revision FROM w), (SELECT id FROM e)");
    if (r.txn()) {
      s.append("; COMMIT");
    }
    return s.toString();
  }

  public static void main(String[] args) throws Exception {
    int rounds = Integer.parseInt(args[0]);
    long seconds = Long.parseLong(args[1]);
    HikariDataSource pool = Postgres.pool("ladder", 2);
    Postgres.freshStorage(pool, "ladder_").close();
    LeaseFloor floor = new LeaseFloor(pool, "bench", Duration.ofSeconds(30));
    long[] revision = new long[NAMES];
    long[] columnRevision = new long[NAMES];
    long[] fence = new long[NAMES];
    try (Connection c = pool.getConnection()) {
      c.setAutoCommit(true);
      try (Statement s = c.createStatement()) {
        for (int i = 0; i < NAMES; i++) {
          s.execute("INSERT INTO " + P + "records VALUES ('_leases', 'bench-lease-" + i + "', nextval('" + P
              + "revision_seq'), 'h', '" + String.format(FREE, 0, "bench-lease-" + i) + "')");
        }
        try (ResultSet rs = s.executeQuery("SELECT id, revision FROM " + P + "records WHERE collection = '_leases'")) {
          while (rs.next()) {
            revision[Integer.parseInt(rs.getString(1).substring("bench-lease-".length()))] = rs.getLong(2);
          }
        }
        s.execute("DROP TABLE IF EXISTS " + COLUMN_TABLE);
        s.execute("CREATE TABLE " + COLUMN_TABLE + " (collection VARCHAR(128) COLLATE \"C\" NOT NULL, id VARCHAR(128)"
            + " COLLATE \"C\" NOT NULL, revision BIGINT NOT NULL, hash VARCHAR(100) NOT NULL, value_json TEXT NOT NULL,"
            + " expires_key VARCHAR(200) COLLATE \"C\", PRIMARY KEY (collection, id))");
        s.execute("CREATE INDEX " + COLUMN_TABLE + "_expires ON " + COLUMN_TABLE + " (collection, expires_key, id)"
            + " WHERE expires_key IS NOT NULL");
        for (int i = 0; i < NAMES; i++) {
          s.execute("INSERT INTO " + COLUMN_TABLE + " VALUES ('_leases', 'bench-lease-" + i + "', nextval('" + P
              + "revision_seq'), 'h', '" + String.format(FREE, 0, "bench-lease-" + i) + "', NULL)");
        }
        try (ResultSet rs = s.executeQuery("SELECT id, revision FROM " + COLUMN_TABLE)) {
          while (rs.next()) {
            columnRevision[Integer.parseInt(rs.getString(1).substring("bench-lease-".length()))] = rs.getLong(2);
          }
        }
      }
      List<String> rungs = List.of(args.length > 2 ? args[2].split(",") : new String[] {"floor", "record", "index",
          "clock", "bound", "scalar", "array", "locked", "txn"});
      for (int round = 0; round < rounds; round++) {
        for (String rungName : rungs) {
          Rung rung = Rung.of(rungName);
          try (PreparedStatement acquire = c.prepareStatement(record(rung, true));
              PreparedStatement release = c.prepareStatement(record(rung, false))) {
            int next = 0;
            long p0 = 0;
            long t0 = 0;
            long pairs = 0;
            long warmEnd = System.nanoTime() + 2_000_000_000L;
            long end0 = warmEnd + seconds * 1_000_000_000L;
            boolean measuring = false;
            while (true) {
              long now = System.nanoTime();
              if (!measuring && now >= warmEnd) {
                measuring = true;
                p0 = LeaseCostProbe.postgresCpu();
                t0 = now;
              }
              if (now >= end0) {
                break;
              }
              int n = next++ % NAMES;
              String name = "bench-lease-" + n;
              if (rung.name().equals("floor")) {
                floor.acquireRelease(name);
              } else {
                fence[n]++;
                long[] revisions = rung.column() ? columnRevision : revision;
                String details = "{\"fence\":" + fence[n] + ",\"holder\":\"bench\",\"resource\":\"" + name + "\"}";
                revisions[n] = run(acquire, rung, true, name, String.format(HELD, fence[n], name), revisions[n],
                    "lease_acquired", details);
                revisions[n] = run(release, rung, false, name, String.format(FREE, fence[n], name), revisions[n],
                    "lease_released", details);
              }
              if (measuring) {
                pairs++;
              }
            }
            long wall = System.nanoTime() - t0;
            long pg = LeaseCostProbe.postgresCpu() - p0;
            System.out.printf("round %d %-7s %6.0f pairs/s  wall %5.0f us/pair  postgres %5.0f us/pair%n", round,
                rung.name(), pairs * 1e9 / wall, wall / 1e3 / pairs, pg * 1e4 / pairs);
          }
        }
      }
    }
    pool.close();
  }

  /**
   * Binds and runs one rung's statement.
   *
   * @param acquire whether it is the acquire (else the release)
   * @param name the resource's name, its record's id
   * @param value the record's new value
   * @param expected the revision the record is expected at
   * @param type the event's type
   * @param details the event's details
   * @return the record's new revision
   */
  private static long run(PreparedStatement ps, Rung rung, boolean acquire, String name, String value, long expected,
      String type, String details) throws SQLException {
    String expiresKey = "2026-12-05T13:38:10.631086Z" + expected;
    int p = 1;
    if (rung.locked()) {
      String form = rung.lockForm();
      if (form.equals("full") || form.equals("bound")) {
        ps.setLong(p++, 5000);
      }
      if (form.equals("full") || form.equals("array")) {
        ps.setArray(p++, ps.getConnection().createArrayOf("bigint", new Long[] {(long) name.hashCode()}));
      } else if (form.equals("scalar")) {
        ps.setLong(p++, name.hashCode());
      }
    }
    ps.setString(p++, "h" + expected);
    ps.setString(p++, value);
    if (rung.column()) {
      if (acquire) {
        ps.setString(p++, expiresKey);
      } else {
        ps.setNull(p++, java.sql.Types.VARCHAR);
      }
    }
    ps.setString(p++, name);
    ps.setLong(p++, expected);
    if (rung.locked()) {
      ps.setLong(p++, Long.MAX_VALUE);
    }
    if (rung.index()) {
      ps.setString(p++, name);
      if (acquire) {
        ps.setString(p++, expiresKey);
        ps.setString(p++, name);
      }
    }
    ps.setString(p++, type);
    ps.setString(p++, "leases/" + name);
    ps.setString(p++, details);
    boolean query = ps.execute();
    if (rung.txn()) {
      query = ps.getMoreResults();
    }
    long got;
    try (ResultSet rs = ps.getResultSet()) {
      if (!query || !rs.next() || rs.getLong(1) == 0 || rs.getLong(2) == 0) {
        throw new IllegalStateException(rung.name() + ": not committed");
      }
      got = rs.getLong(1);
    }
    if (rung.txn()) {
      ps.getMoreResults(); // COMMIT
    }
    return got;
  }
}
