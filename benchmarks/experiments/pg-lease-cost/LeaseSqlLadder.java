package io.kyros.collab.benchmarks;

import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
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

  /** How the lock rungs take the lock: full (Collab's), array, scalar, bound (the bound alone), clock (none). */
  private static String lockForm = "full";

  /** Whether the rung writes the lease's expiry to a column of its record ({@code column}) instead of an entry. */
  private static boolean column;

  private static String record(boolean index, boolean acquire, boolean locked) {
    StringBuilder s = new StringBuilder("WITH ");
    if (locked) {
      s.append(switch (lockForm) {
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
    s.append("w AS (UPDATE " + (column ? COLUMN_TABLE : P + "records") + " SET revision = nextval('" + P
        + "revision_seq'), hash = ?, value_json = ?" + (column ? ", expires_key = ?" : "")
        + " WHERE collection = '_leases' AND id = ? AND revision = ?")
        .append(locked ? " AND (SELECT n FROM t) <= ?" : "").append(" RETURNING revision)");
    String held = "(SELECT count(*) FROM w) = 1";
    if (index) {
      s.append(", d AS (DELETE FROM " + P + "index WHERE collection = '_leases' AND record_id = ? AND " + held
          + " RETURNING 1)");
      if (acquire) {
        s.append(", i AS (INSERT INTO " + P + "index (collection, index_name, index_key, record_id) SELECT '_leases',"
            + " 'expires', ?, ? WHERE " + held + " AND (SELECT count(*) FROM d) >= 0)");
      }
    }
    s.append(", e AS (INSERT INTO " + P + "events (id, ts_micros, event_type, actor, target, details) SELECT nextval('"
        + P + "event_seq'), ").append(locked ? "(SELECT n FROM t)" : CLOCK)
        .append(", ?, 'bench', ?, ? WHERE " + held + " RETURNING id) SELECT (SELECT revision FROM w), (SELECT id FROM e)");
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
        for (String rung : rungs) {
          column = rung.equals("column");
          boolean index = !rung.equals("record") && !column;
          boolean locked = !List.of("floor", "record", "index", "column").contains(rung);
          lockForm = switch (rung) {
            case "clock", "bound", "scalar", "array" -> rung;
            default -> "full";
          };
          String begin = rung.equals("txn") ? "BEGIN ISOLATION LEVEL READ COMMITTED; " : "";
          String end = rung.equals("txn") ? "; COMMIT" : "";
          List<PreparedStatement> statements = new ArrayList<>();
          PreparedStatement acquire = c.prepareStatement(begin + record(index, true, locked) + end);
          PreparedStatement release = c.prepareStatement(begin + record(index, false, locked) + end);
          statements.add(acquire);
          statements.add(release);
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
            if (rung.equals("floor")) {
              floor.acquireRelease(name);
            } else {
              fence[n]++;
              long[] revisions = column ? columnRevision : revision;
              revisions[n] = run(acquire, rung, List.of(String.format(HELD, fence[n], name), name, revisions[n],
                  "2026-12-05T13:38:10.631086Z", "lease_acquired", "leases/" + name,
                  "{\"fence\":" + fence[n] + ",\"holder\":\"bench\",\"resource\":\"" + name + "\"}"), locked, index,
                  true);
              revisions[n] = run(release, rung, List.of(String.format(FREE, fence[n], name), name, revisions[n], "",
                  "lease_released", "leases/" + name,
                  "{\"fence\":" + fence[n] + ",\"holder\":\"bench\",\"resource\":\"" + name + "\"}"), locked, index,
                  false);
            }
            if (measuring) {
              pairs++;
            }
          }
          long wall = System.nanoTime() - t0;
          long pg = LeaseCostProbe.postgresCpu() - p0;
          for (PreparedStatement ps : statements) {
            ps.close();
          }
          System.out.printf("round %d %-7s %6.0f pairs/s  wall %5.0f us/pair  postgres %5.0f us/pair%n", round, rung,
              pairs * 1e9 / wall, wall / 1e3 / pairs, pg * 1e4 / pairs);
        }
      }
    }
    pool.close();
  }

  /** Binds and runs one rung's statement; returns the record's new revision. */
  private static long run(PreparedStatement ps, String rung, List<Object> v, boolean locked, boolean index,
      boolean acquire) throws SQLException {
    String value = (String) v.get(0);
    String name = (String) v.get(1);
    long expected = (Long) v.get(2);
    int p = 1;
    if (locked) {
      if (lockForm.equals("full") || lockForm.equals("bound")) {
        ps.setLong(p++, 5000);
      }
      if (lockForm.equals("full") || lockForm.equals("array")) {
        ps.setArray(p++, ps.getConnection().createArrayOf("bigint", new Long[] {(long) name.hashCode()}));
      } else if (lockForm.equals("scalar")) {
        ps.setLong(p++, name.hashCode());
      }
    }
    ps.setString(p++, "h" + expected);
    ps.setString(p++, value);
    if (column) {
      if (acquire) {
        ps.setString(p++, (String) v.get(3) + expected);
      } else {
        ps.setNull(p++, java.sql.Types.VARCHAR);
      }
    }
    ps.setString(p++, name);
    ps.setLong(p++, expected);
    if (locked) {
      ps.setLong(p++, Long.MAX_VALUE);
    }
    if (index) {
      ps.setString(p++, name);
      if (acquire) {
        ps.setString(p++, (String) v.get(3) + expected);
        ps.setString(p++, name);
      }
    }
    ps.setString(p++, (String) v.get(4));
    ps.setString(p++, (String) v.get(5));
    ps.setString(p++, (String) v.get(6));
    boolean query = ps.execute();
    if (rung.equals("txn")) {
      query = ps.getMoreResults();
    }
    long got;
    try (ResultSet rs = ps.getResultSet()) {
      if (!query || !rs.next() || rs.getLong(1) == 0 || rs.getLong(2) == 0) {
        throw new IllegalStateException(rung + ": not committed");
      }
      got = rs.getLong(1);
    }
    if (rung.equals("txn")) {
      ps.getMoreResults(); // COMMIT
    }
    return got;
  }
}
