/*
 * Session 40 follow-up (see README.md): a lease acquire's one-round-trip commit as InlineCommit sends it (A), and
 * variants, replayed from T threads at once on the tables a Collab store with table prefix "trace_" holds (made by
 * LeaseTrace.java), each thread on 8 lease records of its own, the expectation always holding. Each round runs every
 * mode once (N commits per thread); the first two rounds are warm-up; prints each mode's median commits/s.
 *
 *   A  BEGIN; bound + key lock; expectation check; update; index delete; index insert; event insert; COMMIT
 *   B  BEGIN; bound + key lock; one statement: check, update, index entries, event (data-modifying CTEs); COMMIT
 *   F  one auto-commit statement: bound + key lock, clock, update, index entries, event
 *   H  F without the key lock        I  F without the index entries        G  F without both
 *   J  BEGIN; F; COMMIT (session 41: the shape SingleStatement sends)
 *   -Durl=... replaces the JDBC URL (e.g. with "?options=-c%20plan_cache_mode%3Dforce_generic_plan")
 *
 * Not equivalent to a commit in every case (see README.md): a measurement, not a design.
 *
 *   java -cp benchmarks/target/benchmarks.jar LeaseTrace.java 100   # makes the trace_ tables, 8 lease records
 *   psql -h 127.0.0.1 -U postgres -d test -c "INSERT INTO trace_collab_records SELECT collection, 'r' || g,
 *     revision, hash, value_json FROM trace_collab_records, generate_series(8, 63) g WHERE collection = '_leases'
 *     AND id = 'r0'"
 *   java -cp benchmarks/target/benchmarks.jar RawLeaseCommits.java A,F,G,H,I 500 8
 */
import java.sql.*;
import java.util.*;
public class RawLeaseCommits {
  static final String P = "trace_collab_";
  static final String A = "BEGIN ISOLATION LEVEL READ COMMITTED;"
    + "SELECT count(*) FROM (SELECT set_config('lock_timeout', CAST(? AS BIGINT) || 'ms', true) AS bound) AS b CROSS JOIN LATERAL (SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(? AS BIGINT[])) AS k WHERE b.bound IS NOT NULL) AS locked;"
    + "WITH t(n) AS MATERIALIZED (SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT), c AS MATERIALIZED (SELECT t.n, COALESCE((SELECT r.revision FROM "+P+"records r WHERE r.collection = ? AND r.id = ?), 0) AS r0 FROM t), f AS MATERIALIZED (SELECT c.n, CASE WHEN c.r0 <> ? OR c.n > ? THEN 0 ELSE -1 END AS failed, ARRAY[c.r0] AS r FROM c) SELECT f.n, f.failed, CASE WHEN f.failed >= 0 THEN f.r[f.failed + 1] ELSE 0 END, set_config('collab.commit_micros', CASE WHEN f.failed < 0 THEN CAST(f.n AS TEXT) ELSE '' END, true) IS NOT NULL FROM f;"
    + "WITH changed AS (UPDATE "+P+"records SET revision = nextval('"+P+"revision_seq'), hash = ?, value_json = ? WHERE collection = ? AND id = ? AND revision = ? AND current_setting('collab.commit_micros') <> '' RETURNING revision) SELECT CASE WHEN count(*) = 1 THEN max(revision) WHEN NOT (current_setting('collab.commit_micros') <> '') THEN 0 ELSE CAST('collab_row_count_failed:' || count(*) AS BIGINT) END FROM changed;"
    + "DELETE FROM "+P+"index WHERE ((collection = ? AND record_id = ?)) AND current_setting('collab.commit_micros') <> '';"
    + "INSERT INTO "+P+"index (collection, index_name, index_key, record_id) SELECT * FROM (VALUES (?, ?, ?, ?)) AS v WHERE current_setting('collab.commit_micros') <> '';"
    + "INSERT INTO "+P+"events (id, ts_micros, event_type, actor, target, details) SELECT * FROM (VALUES (nextval('"+P+"event_seq'), CAST(current_setting('collab.commit_micros') AS BIGINT), ?, ?, ?, ?)) AS v WHERE current_setting('collab.commit_micros') <> '' RETURNING id;"
    + "COMMIT";
  // B: lock separately, then one statement doing check + update + index + event
  static final String B = "BEGIN ISOLATION LEVEL READ COMMITTED;"
    + "SELECT count(*) FROM (SELECT set_config('lock_timeout', CAST(? AS BIGINT) || 'ms', true) AS bound) AS b CROSS JOIN LATERAL (SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(? AS BIGINT[])) AS k WHERE b.bound IS NOT NULL) AS locked;"
    + "WITH t(n) AS MATERIALIZED (SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT), c AS MATERIALIZED (SELECT t.n, COALESCE((SELECT r.revision FROM "+P+"records r WHERE r.collection = ? AND r.id = ?), 0) AS r0 FROM t), f AS MATERIALIZED (SELECT c.n, CASE WHEN c.r0 <> ? OR c.n > ? THEN 0 ELSE -1 END AS failed, ARRAY[c.r0] AS r FROM c),"
    + " u AS (UPDATE "+P+"records SET revision = nextval('"+P+"revision_seq'), hash = ?, value_json = ? WHERE collection = ? AND id = ? AND revision = ? AND (SELECT failed FROM f) < 0 RETURNING revision),"
    + " d AS (DELETE FROM "+P+"index WHERE collection = ? AND record_id = ? AND (SELECT failed FROM f) < 0),"
    + " i AS (INSERT INTO "+P+"index (collection, index_name, index_key, record_id) SELECT * FROM (VALUES (?, ?, ?, ?)) AS v WHERE (SELECT failed FROM f) < 0 ON CONFLICT DO NOTHING),"
    + " e AS (INSERT INTO "+P+"events (id, ts_micros, event_type, actor, target, details) SELECT nextval('"+P+"event_seq'), (SELECT n FROM f), ?, ?, ?, ? WHERE (SELECT failed FROM f) < 0 RETURNING id)"
    + " SELECT f.n, f.failed, (SELECT max(revision) FROM u), (SELECT max(id) FROM e) FROM f;"
    + "COMMIT";
  static final String F = "WITH l AS MATERIALIZED (SELECT count(*) AS n FROM (SELECT set_config('lock_timeout', CAST(? AS BIGINT) || 'ms', true) AS bound) AS b CROSS JOIN LATERAL (SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(? AS BIGINT[])) AS k WHERE b.bound IS NOT NULL) AS x),"
    + " t AS MATERIALIZED (SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT AS n, pg_current_xact_id() AS x FROM l),"
    + " u AS (UPDATE "+P+"records SET revision = nextval('"+P+"revision_seq'), hash = ?, value_json = ? WHERE collection = ? AND id = ? AND revision = ? AND EXISTS (SELECT 1 FROM t) RETURNING revision),"
    + " d AS (DELETE FROM "+P+"index WHERE collection = ? AND record_id = ? AND EXISTS (SELECT 1 FROM u)),"
    + " i AS (INSERT INTO "+P+"index (collection, index_name, index_key, record_id) SELECT * FROM (VALUES (?, ?, ?, ?)) AS v WHERE EXISTS (SELECT 1 FROM u) ON CONFLICT DO NOTHING),"
    + " e AS (INSERT INTO "+P+"events (id, ts_micros, event_type, actor, target, details) SELECT nextval('"+P+"event_seq'), (SELECT n FROM t), ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM u) RETURNING id)"
    + " SELECT (SELECT n FROM t), 0, (SELECT max(revision) FROM u), (SELECT max(id) FROM e)";
  static final String J = "BEGIN ISOLATION LEVEL READ COMMITTED;" + F + ";COMMIT";
  static final String H = "WITH l AS MATERIALIZED (SELECT CAST(? AS BIGINT) AS a, CAST(? AS BIGINT[]) AS b),"
    + " t AS MATERIALIZED (SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT AS n, pg_current_xact_id() AS x FROM l),"
    + " u AS (UPDATE "+P+"records SET revision = nextval('"+P+"revision_seq'), hash = ?, value_json = ? WHERE collection = ? AND id = ? AND revision = ? AND EXISTS (SELECT 1 FROM t) RETURNING revision),"
    + " d AS (DELETE FROM "+P+"index WHERE collection = ? AND record_id = ? AND EXISTS (SELECT 1 FROM u)),"
    + " i AS (INSERT INTO "+P+"index (collection, index_name, index_key, record_id) SELECT * FROM (VALUES (?, ?, ?, ?)) AS v WHERE EXISTS (SELECT 1 FROM u) ON CONFLICT DO NOTHING),"
    + " e AS (INSERT INTO "+P+"events (id, ts_micros, event_type, actor, target, details) SELECT nextval('"+P+"event_seq'), (SELECT n FROM t), ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM u) RETURNING id)"
    + " SELECT (SELECT n FROM t), 0, (SELECT max(revision) FROM u), (SELECT max(id) FROM e)";
  static final String I = "WITH l AS MATERIALIZED (SELECT count(*) AS n FROM (SELECT set_config('lock_timeout', CAST(? AS BIGINT) || 'ms', true) AS bound) AS b CROSS JOIN LATERAL (SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(? AS BIGINT[])) AS k WHERE b.bound IS NOT NULL) AS x),"
    + " t AS MATERIALIZED (SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT AS n, pg_current_xact_id() AS x FROM l),"
    + " u AS (UPDATE "+P+"records SET revision = nextval('"+P+"revision_seq'), hash = ?, value_json = ? WHERE collection = ? AND id = ? AND revision = ? AND EXISTS (SELECT 1 FROM t) RETURNING revision),"
    + " d AS (SELECT ?, ?),"
    + " i AS (SELECT ?, ?, ?, ?),"
    + " e AS (INSERT INTO "+P+"events (id, ts_micros, event_type, actor, target, details) SELECT nextval('"+P+"event_seq'), (SELECT n FROM t), ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM u) RETURNING id)"
    + " SELECT (SELECT n FROM t), 0, (SELECT max(revision) FROM u), (SELECT max(id) FROM e)";
  static final String G = "WITH t AS MATERIALIZED (SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT AS n, ? AS x1, ? AS x2),"
    + " u AS (UPDATE "+P+"records SET revision = nextval('"+P+"revision_seq'), hash = ?, value_json = ? WHERE collection = ? AND id = ? AND revision = ? AND EXISTS (SELECT 1 FROM t) RETURNING revision),"
    + " d AS (SELECT ?, ?),"
    + " i AS (SELECT ?, ?, ?, ?),"
    + " e AS (INSERT INTO "+P+"events (id, ts_micros, event_type, actor, target, details) SELECT nextval('"+P+"event_seq'), (SELECT n FROM t), ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM u) RETURNING id)"
    + " SELECT (SELECT n FROM t), 0, (SELECT max(revision) FROM u), (SELECT max(id) FROM e)";
  public static void main(String[] a) throws Exception {
    String[] modes = a[0].split(","); int n = Integer.parseInt(a[1]); int threads = Integer.parseInt(a[2]);
    Map<String,List<Long>> res = new TreeMap<>();
    for (int round = 0; round < 8; round++) for (String mode : modes) {
      List<Thread> ts = new ArrayList<>();
      long t0 = System.nanoTime();
      for (int th = 0; th < threads; th++) { int base = th * 8; Thread t = new Thread(() -> { try { work(mode, n, base); } catch (Exception e) { throw new RuntimeException(e); } }); t.start(); ts.add(t); }
      for (Thread t : ts) t.join();
      long ops = (long) n * threads * 1_000_000_000L / (System.nanoTime() - t0);
      if (round >= 2) res.computeIfAbsent(mode, x -> new ArrayList<>()).add(ops);
    }
    res.forEach((m, l) -> { Collections.sort(l); System.out.println(m + " median " + l.get(l.size()/2) + " commits/s " + l); });
  }
  static void work(String mode, int n, int base) throws Exception {
    try (Connection c = DriverManager.getConnection(System.getProperty("url", "jdbc:postgresql://127.0.0.1:5432/test"), "postgres", "")) {
      Map<String, Long> rev = new HashMap<>();
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT id, revision FROM "+P+"records WHERE collection='_leases'")) {
        while (rs.next()) rev.put(rs.getString(1), rs.getLong(2));
      }
      String sql = mode.equals("A") ? A : mode.equals("B") ? B : mode.equals("G") ? G : mode.equals("J") ? J : mode.equals("H") ? H : mode.equals("I") ? I : F;
        for (int i = 0; i < n; i++) {
          String id = "r" + (base + i % 8);
          try (PreparedStatement ps = c.prepareStatement(sql)) {
            int k = 1;
            if (mode.equals("G")) { ps.setLong(k++, 1); ps.setLong(k++, 2); } else { ps.setLong(k++, 9999); ps.setArray(k++, c.createArrayOf("bigint", new Long[]{(long) id.hashCode()})); }
            if ("ABC".contains(mode)) { ps.setString(k++, "_leases"); ps.setString(k++, id); ps.setLong(k++, rev.get(id)); ps.setNull(k++, Types.BIGINT); }
            ps.setString(k++, "hash" + i); ps.setString(k++, "{\"fence\":" + i + ",\"resource\":\"" + id + "\"}"); ps.setString(k++, "_leases"); ps.setString(k++, id); ps.setLong(k++, rev.get(id));
            ps.setString(k++, "_leases"); ps.setString(k++, id);
            ps.setString(k++, "_leases"); ps.setString(k++, "expires"); ps.setString(k++, "1017964359995" + (1000000 + i)); ps.setString(k++, id);
            ps.setString(k++, "lease_acquired"); ps.setString(k++, "bench"); ps.setString(k++, "leases/" + id); ps.setString(k++, "{\"expiresAt\":\"2026-12-05T01:59:59.579101Z\",\"fence\":878,\"holder\":\"bench\",\"leaseId\":\"98b94101-01b5-46d3-9774-7c161a5ac955\",\"resource\":\"r2\",\"ttl\":\"PT30S\"}");
            boolean r = ps.execute();
            long newRev = -1; List<Long> singles = new ArrayList<>();
            do {
              if (r) { try (ResultSet rs = ps.getResultSet()) { if (rs.next()) { int cols = rs.getMetaData().getColumnCount(); if (cols == 1) singles.add(rs.getLong(1)); else if (!mode.equals("A")) newRev = rs.getLong(3); } } }
              r = ps.getMoreResults();
            } while (r || ps.getUpdateCount() != -1);
            if (mode.equals("A")) newRev = singles.get(1);
            if (newRev <= 0) throw new IllegalStateException("no revision " + newRev);
            rev.put(id, newRev);
          }
        }
    }
  }
}
