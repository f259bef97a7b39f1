package io.kyros.collab.jdbc;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Write;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Types;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;

/**
 * A one-round-trip commit on PostgreSQL ({@link InlineCommit#tryOneTrip}) as one statement of data-modifying common
 * table expressions, instead of a statement per step (the key locks, the expectation check, each write, the index
 * changes, the event insert). Each statement of a round trip costs the server a parse, bind and execute of its own;
 * replaying a lease acquire, one statement committed 12 to 23 % more often than seven
 * (benchmarks/experiments/pg-commit-function, "Follow-up (session 41)"), though Collab's own lease and claim
 * benchmarks showed no difference beyond their noise on the machine of that session. Two forms:
 * <ul>
 *   <li><b>Self-checked</b> ({@link #selfChecked}), for a commit whose every expectation is on a record it writes (a
 *       lease's acquire, renew and release, a claim of a task without dependencies, a document's update, an
 *       append): the statement takes the key locks itself, and each expectation is a condition of its record's
 *       write. Shown below; its correctness argument follows.</li>
 *   <li><b>Checked</b> ({@link #checked}), for any other one-round-trip commit (a completion, which expects its
 *       task's waiter record absent without writing it), and for a self-checked commit whose statement could not
 *       tell which expectation failed: the statement comes after the statement taking the key locks, so its
 *       snapshot is taken after they are granted; it reads the clock and every expected record ({@code c}), finds the
 *       first expectation in the commit's order that does not hold ({@code f}), and makes the writes (each also on
 *       its expected revision), index changes and events only if none; as the self-checked form but with {@code
 *       (SELECT failed FROM f) < 0} where that has its expectations, and {@code pg_current_xact_id()} taken only if
 *       the check held and nothing is written. It reports the failed expectation and that record's revision, read
 *       after the locks, exactly; a write that changes no row although every expectation held (the tables were
 *       changed outside Collab) raises the error below, and the general path reports it.</li>
 * </ul>
 *
 * <p>The round trip, sent alone as PostgreSQL's implicit transaction (or between {@code BEGIN ISOLATION LEVEL READ
 * COMMITTED} and {@code COMMIT}: see {@code InlineCommit.Framing}):
 *
 * <pre>
 * WITH l AS MATERIALIZED (&lt;the lock wait's bound and the key locks, as InlineCommit takes them&gt;),
 *   t AS MATERIALIZED (SELECT &lt;clock&gt; AS n FROM l),          -- and pg_current_xact_id() when nothing is written
 *   s AS MATERIALIZED (SELECT COALESCE((SELECT revision FROM records WHERE collection = ? AND id = ?), 0) AS r),
 *   s2 AS MATERIALIZED (SELECT COALESCE((SELECT revision FROM records WHERE collection = ? AND id = ?
 *                                        FOR SHARE), 0) AS r),
 *   w0 AS (UPDATE records SET revision = nextval(revision_seq), hash = ?, value_json = ?
 *          WHERE collection = ? AND id = ? AND revision = ? AND (SELECT n FROM t) &lt;= ? RETURNING revision),
 *   w1 AS (INSERT INTO records (collection, id, revision, hash, value_json)
 *          SELECT ?, ?, nextval(revision_seq), ?, ? FROM t WHERE t.n &lt;= ? AND (SELECT count(*) FROM w0) = 1
 *          ON CONFLICT (collection, id) DO NOTHING RETURNING revision),
 *   ok AS MATERIALIZED (SELECT (SELECT count(*) FROM w1) = 1 AS held FROM t),
 *   d0 AS (DELETE FROM index WHERE ((collection = ? AND record_id = ?) OR ...) AND (SELECT held FROM ok) RETURNING 1),
 *   i AS (INSERT INTO index (collection, index_name, index_key, record_id) SELECT * FROM (VALUES (?, ?, ?, ?), ...)
 *         AS v WHERE (SELECT held FROM ok) AND (SELECT count(*) FROM d0) &gt;= 0),
 *   rv AS MATERIALIZED (SELECT CAST((SELECT revision FROM w0) AS TEXT) AS r0, ...),  -- revisions templates name
 *   e AS (INSERT INTO events (id, ts_micros, event_type, actor, target, details)
 *         SELECT v.i, (SELECT n FROM t), v.ty, v.a, v.tg, replace(v.d, chr(1) || '0' || chr(2), rv.r0) ...
 *         FROM (VALUES (nextval(event_seq), ?, ?, ?, ?), ...) AS v(i, ty, a, tg, d) CROSS JOIN rv
 *         WHERE (SELECT held FROM ok) RETURNING id)
 * SELECT 0, (SELECT n FROM t),
 *   CASE WHEN (SELECT held FROM ok) THEN -1
 *        WHEN (SELECT count(*) FROM w0) = 0 AND ((SELECT r FROM s) &lt;&gt; ? OR (SELECT r FROM s2) &lt;&gt; ?
 *                                              OR (SELECT n FROM t) &gt; ?) THEN 0
 *        ELSE CAST('collab_statement_not_held:' || (SELECT n FROM t) AS BIGINT) END,
 *   CASE WHEN (SELECT held FROM ok) THEN 0 WHEN (SELECT r FROM s) &lt;&gt; ? THEN (SELECT r FROM s)
 *        ELSE (SELECT r FROM s2) END,
 *   2, (SELECT revision FROM w0), (SELECT revision FROM w1), (SELECT id FROM e LIMIT 1 OFFSET 0), ...
 * </pre>
 *
 * <p>That is the result of a commit of at most {@link #ONE_ROW_MAX} writes and events: one row. A larger commit's
 * first row ends after the record's revision, and a row per write and per event follows ({@link #results}):
 *
 * <pre>
 * UNION ALL SELECT 1, 0, revision, 0 FROM w0 UNION ALL SELECT 1, 1, revision, 0 FROM w1
 * UNION ALL SELECT 2, row_number() OVER (), id, 0 FROM e ORDER BY 1, 2
 * </pre>
 *
 * <p>Why the self-checked form commits exactly what the checked form commits:
 * <ul>
 *   <li><b>One snapshot, taken before the key locks.</b> The statement's snapshot predates the locks it waits for, so
 *       unlike the checked form it cannot read an expectation; instead each expectation is a condition of
 *       the write of its own record (which is why only commits that write every record they expect qualify), and
 *       those conditions are checked on the newest committed version, not the snapshot's: an update whose row
 *       another transaction changed after the snapshot re-checks its {@code WHERE} on the newest version (READ
 *       COMMITTED's re-check of a concurrently updated row), and a create finds a row inserted after the snapshot
 *       through the primary key's uniqueness check, which looks at every committed row. Under the key locks no other
 *       Collab commit changes these records while the statement runs, so what the writes find is what the
 *       checked form's check would have read after the locks.</li>
 *   <li><b>All or nothing.</b> Each write runs only if the one before it changed its row (the chain of {@code
 *       count(*) = 1}), in the writes' order, so revisions ascend as the writes go; {@code ok} holds if the last
 *       one did. The index entries and the events are made only if {@code ok} holds. If it does not (an
 *       expectation failed, its time bound passed, or the tables were changed outside Collab) and the statement
 *       cannot report the conflict itself (next item), the final {@code SELECT} raises an error (a failed cast of a text that depends on the clock, so the planner cannot
 *       fold it early): the transaction aborts (the server skips the {@code COMMIT}, or rolls back the implicit
 *       transaction), nothing is committed, and the
 *       caller rolls back and sends the commit again in the checked form, whose check reports which
 *       expectation failed and the revision found.</li>
 *   <li><b>Conflicts it reports.</b> If the first write changed nothing (so nothing was written) and the commit's
 *       first expectation is on its record, the statement reports that expectation's conflict itself, with the
 *       record's revision: the one its snapshot shows ({@code s}) if that differs from the expected one (the
 *       snapshot is taken within the call, so the record had that revision at an instant of it); else the newest
 *       committed one ({@code s2}, a locking read, which at READ COMMITTED follows the record's updates made after the
 *       snapshot: the record changed while the commit waited for its key's lock), if that differs or the clock read
 *       after the locks is past that expectation's time bound. {@code s} and {@code s2} are read only in these
 *       cases. Otherwise (a later write failed; a record created after the snapshot, which a locking read does not
 *       see; the tables changed outside Collab) the statement raises the error above.</li>
 *   <li><b>The xid.</b> A failed self-checked commit wrote nothing; it took no xid ({@code t} takes one only when the
 *       commit has no writes, and then it has no expectations either) unless it reports a conflict from {@code s2},
 *       whose row lock takes one (that transaction's COMMIT then flushes WAL).</li>
 *   <li><b>Order inside the statement.</b> Data-modifying expressions run in an order PostgreSQL does not promise
 *       except where one reads another's result; every needed order is such a read: {@code t} after {@code l} (the
 *       clock after the locks are granted), the writes after {@code t} and each after the one before, {@code ok}
 *       after the last write and after {@code t}, the index deletes after {@code ok}, the index insert after the
 *       deletes (a record's new entry may have an old entry's name, which its own transaction's delete frees), and
 *       the events after {@code ok}. So the transaction has its xid (from its first changed row, or {@code
 *       pg_current_xact_id()} in {@code t} when nothing is written) before its first event id is taken, as {@link
 *       EventHorizon} requires, and event ids ascend in the events' order (one multi-row insert, {@code nextval} row
 *       by row).</li>
 *   <li><b>Revisions in events.</b> An event template's marker ({@link EventTemplates}) becomes the revision its
 *       write returned ({@code rv}, from {@code w<i>}), not a read of the record, which would see the snapshot's
 *       revision. A marker's text never occurs elsewhere in canonical JSON, so every event row is given every
 *       replacement.</li>
 *   <li><b>Rows of fixed width.</b> The result is integer columns, not arrays: pgjdbc may split a round
 *       trip before a statement it has described whose result has a column of unbounded width (it describes
 *       statements when parameters are sent untyped, {@code stringtype=unspecified}). A small commit's is one row,
 *       a scalar subquery per revision and per event id, sparing the server the rows' union, sort and window
 *       (a lease's two statements ran 32 to 42 µs on average against 38 to 46 before; docs/jdbc.md, "One
 *       statement").</li>
 *   <li><b>Planning.</b> The time and the revisions that templates name are selected once, outside the rows of the
 *       event insert: a subquery in each row is planned once per row, and planning grew with the square of the rows
 *       (about 10 s for an append of 16,000 events, found in review).</li>
 * </ul>
 *
 * <p>The text of a statement depends only on the commit's shape, not on its values, which are parameters; commits of
 * one shape share one text ({@link Texts}), which spares building it and lets the driver find its prepared statement
 * without hashing a new string. The shape is everything the text is built from: the form (and the checked form's
 * number of expectations), whether the statement locks one key or several, whether it reports its first write's
 * conflict, each write a create or an update, the index deletes' group sizes and rows' count, and each event's
 * markers ({@code StatementTextsProperties} checks that nothing is left out).
 *
 * <p>Immutable; one per commit.
 */
final class SingleStatement {
  /** Marks the failed cast the statement raises when a write did not change its row. */
  static final String NOT_HELD = "collab_statement_not_held";
  /** The parameters of an update, without a time bound: hash, value_json, collection, id, revision. */
  private static final int UPDATE_PARAMETERS = 5;
  /** The parameters of a create, without a time bound: collection, id, hash, value_json. */
  private static final int CREATE_PARAMETERS = 4;
  /** The parameters of an event row: event_type, actor, target, details. */
  private static final int EVENT_PARAMETERS = 4;
  /**
   * The parameters of reporting the first write's failure: its key twice (two reads), then its expected revision
   * twice, its time bound and its expected revision again.
   */
  private static final int REPORT_PARAMETERS = 8;
  /** The most writes, and the most events, of a commit whose statement returns one row ({@link #oneRow}). */
  static final int ONE_ROW_MAX = 8;

  private final String sql;
  private final int parameters;
  private final Binder binder;

  private SingleStatement(String sql, int parameters, Binder binder) {
    this.sql = sql;
    this.parameters = parameters;
    this.binder = binder;
  }

  /**
   * The statement texts of one storage's commits, by shape: what decides a text besides the storage's tables and
   * clock, which are fixed. A text longer than {@link #MAX_TEXT_CHARS} (a commit of hundreds of writes or events, or
   * one refused for its parameters) is built each time and not kept; the others are kept in a Caffeine cache bounded
   * to {@link #MAX_CHARS} characters of shapes and texts, which keeps the shapes used most (a steady load's
   * lease commits, claims and completions) when others come and go. Thread-safe.
   */
  static final class Texts {
    /** The longest text kept. */
    static final int MAX_TEXT_CHARS = 65_536;
    /** The most characters of shapes and texts kept, about 4 MB. */
    static final long MAX_CHARS = 4L << 20;
    private final Cache<String, String> byShape = Caffeine.newBuilder().maximumWeight(MAX_CHARS)
        .weigher((String shape, String text) -> shape.length() + text.length()).executor(Runnable::run).build();

    /**
     * @param shape the shape
     * @param build builds the text of a statement of that shape
     * @return the text kept for the shape, else the one built (kept if it is short enough)
     */
    String text(String shape, Supplier<String> build) {
      String text = byShape.getIfPresent(shape);
      if (text == null) {
        text = build.get();
        if (text.length() <= MAX_TEXT_CHARS) {
          String raced = byShape.asMap().putIfAbsent(shape, text);
          text = raced == null ? text : raced;
        }
      }
      return text;
    }

    /** @return about how many shapes are kept */
    long size() {
      byShape.cleanUp();
      return byShape.estimatedSize();
    }
  }

  /** Binds a statement's parameters from an index on; returns the next index. */
  @FunctionalInterface
  interface Binder {
    int bind(PreparedStatement ps, int first) throws SQLException;
  }

  /**
   * The statement of a commit that writes every record it expects, each record once and at one revision however
   * many expectations name it, with no deletes, and has writes or events: the whole round trip (besides BEGIN and
   * COMMIT, where it has them), the key locks included; each expectation is a condition of its record's write.
   *
   * @param texts the storage's statement texts by shape
   * @param tables the tables
   * @param sql the statements shared with the other forms (the index entries' deletes)
   * @param boundAndLock the statement bounding the lock wait by its first parameter and locking the keys of its
   *     second, as {@link InlineCommit#boundAndLock} takes them ({@link InlineCommit#bindLocks} binds them): one of
   *     two texts, for one key and for several
   * @param clockMicros an expression of the database clock in epoch microseconds
   * @param expectations the commit's expectations
   * @param writes the commit's writes
   * @param index the writes' index changes (a create's record has no entries to clear)
   * @param events the events, templates where {@code markers} name writes
   * @param markers per event, the positions of the writes whose revisions its details name
   * @param lockWaitMillis the lock wait's bound
   * @param locks the key locks, ascending
   * @return the statement, or empty if the commit does not qualify
   */
  static Optional<SingleStatement> selfChecked(Texts texts, Tables tables, SqlText sql, String boundAndLock,
      String clockMicros, List<Expectation> expectations, List<Write> writes, IndexWrites index,
      List<NewEvent> events, List<List<Integer>> markers, long lockWaitMillis, Long[] locks) {
    if (writes.isEmpty() && events.isEmpty()) {
      return Optional.empty();
    }
    Map<RecordKey, Long> revision = new HashMap<>();
    Map<RecordKey, Long> bound = new HashMap<>();
    for (Expectation e : expectations) {
      Long before = revision.putIfAbsent(e.key(), e.revision());
      if (before != null && before != e.revision()) {
        return Optional.empty(); // one of the two fails: the checked form reports which comes first
      }
      bound.merge(e.key(), micros(e), Math::min); // a lease guard and the lease's own revision: the earlier bound
    }
    Set<RecordKey> written = new HashSet<>();
    for (Write w : writes) {
      if (w.isDelete() || !revision.containsKey(w.key()) || !written.add(w.key())) {
        return Optional.empty();
      }
    }
    if (!written.equals(revision.keySet())) {
      return Optional.empty(); // an expectation on a record it does not write
    }
    // the first write's failure is reported as the conflict of the first expectation if that is the one on its record
    boolean reports = !writes.isEmpty() && expectations.get(0).key().equals(writes.get(0).key());
    StringBuilder shape = new StringBuilder(32).append('s').append(locks.length == 1 ? '1' : 'n')
        .append(reports ? 'r' : '-');
    String text = texts.text(shape(shape, writes, revision, index, markers), () -> selfCheckedText(tables, sql,
        boundAndLock, clockMicros, writes, revision, reports, index, events, markers));
    int parameters = 2 + (reports ? REPORT_PARAMETERS : 0) + changeParameters(writes, revision, index, events);
    parameters += writes.size(); // their time bounds
    return Optional.of(new SingleStatement(text, parameters, (ps, first) -> {
      int p = first;
      ps.setLong(p++, lockWaitMillis);
      p = InlineCommit.bindLocks(ps, p, locks);
      if (reports) {
        for (int k = 0; k < 2; k++) {
          ps.setString(p++, writes.get(0).key().collection());
          ps.setString(p++, writes.get(0).key().id());
        }
      }
      for (Write w : writes) {
        p = bindWrite(ps, p, w, revision.get(w.key()));
        ps.setLong(p++, bound.get(w.key())); // the clock read after the locks must not be after it
      }
      p = bindIndexAndEvents(ps, p, index, events);
      if (reports) {
        ps.setLong(p++, expectations.get(0).revision());
        ps.setLong(p++, expectations.get(0).revision());
        ps.setLong(p++, micros(expectations.get(0))); // its own bound: another one's on its record may fail first
        ps.setLong(p++, expectations.get(0).revision());
      }
      return p;
    }));
  }

  /**
   * Ends a commit's shape: after what the caller appended (the form and what else decides its text), each write a
   * create or an update, the index deletes' group sizes and the index rows' count, and each event's markers.
   *
   * @return the shape
   */
  private static String shape(StringBuilder shape, List<Write> writes, Map<RecordKey, Long> revision,
      IndexWrites index, List<List<Integer>> markers) {
    for (Write w : writes) {
      shape.append(revision.get(w.key()) == Expectation.ABSENT ? 'c' : 'u');
    }
    shape.append('|');
    for (List<RecordKey> keys : index.deletes()) {
      shape.append(keys.size()).append(',');
    }
    shape.append('|').append(index.rows.size()).append('|');
    for (List<Integer> m : markers) {
      for (int i : m) {
        shape.append(i).append(',');
      }
      shape.append(';');
    }
    return shape.toString();
  }

  /** The text of {@link #selfChecked}'s statement. */
  private static String selfCheckedText(Tables tables, SqlText sql, String boundAndLock, String clockMicros,
      List<Write> writes, Map<RecordKey, Long> revision, boolean reports, IndexWrites index, List<NewEvent> events,
      List<List<Integer>> markers) {
    StringBuilder text = new StringBuilder("WITH l AS MATERIALIZED (").append(boundAndLock)
        .append("), t AS MATERIALIZED (SELECT ").append(clockMicros)
        // without writes, nothing else gives the transaction its xid before the first event id is taken
        .append(writes.isEmpty() ? " AS n, pg_current_xact_id() AS x FROM l)" : " AS n FROM l)");
    if (reports) {
      // read only if the first write changed nothing: s from the statement's snapshot; s2, only if s still shows
      // the expected revision, the newest committed version (a locking read at READ COMMITTED follows the record's
      // updates made after the snapshot; FOR SHARE, since FOR KEY SHARE may lock and return the snapshot's version
      // when the update changed no key)
      text.append(", s AS MATERIALIZED (SELECT COALESCE((SELECT revision FROM ").append(tables.records())
          .append(" WHERE collection = ? AND id = ?), 0) AS r), s2 AS MATERIALIZED (SELECT COALESCE((SELECT revision")
          .append(" FROM ").append(tables.records()).append(" WHERE collection = ? AND id = ? FOR SHARE), 0) AS r)");
    }
    writes(text, tables, writes, revision, "t.n <= ?", "(SELECT n FROM t) <= ?", "t");
    text.append(", ok AS MATERIALIZED (SELECT ")
        .append(writes.isEmpty() ? "true" : "(SELECT count(*) FROM w" + (writes.size() - 1) + ") = 1")
        .append(" AS held FROM t)");
    indexAndEvents(text, tables, sql, index, events, markers);
    text.append(" SELECT 0, (SELECT n FROM t), CASE WHEN (SELECT held FROM ok) THEN -1");
    if (reports) {
      text.append(" WHEN (SELECT count(*) FROM w0) = 0 AND ((SELECT r FROM s) <> ?")
          .append(" OR (SELECT r FROM s2) <> ? OR (SELECT n FROM t) > ?) THEN 0");
    }
    text.append(" ELSE CAST('").append(NOT_HELD).append(":' || (SELECT n FROM t) AS BIGINT) END, ")
        .append(reports ? "CASE WHEN (SELECT held FROM ok) THEN 0 WHEN (SELECT r FROM s) <> ? THEN (SELECT r FROM s)"
            + " ELSE (SELECT r FROM s2) END" : "0");
    results(text, writes.size(), events.size(), "");
    return text.toString();
  }

  /**
   * The statement of any commit that may take one round trip ({@link InlineCommit#tryOneTrip}), sent after the
   * statement taking the key locks, so that its own snapshot is taken after they are granted: it reads the clock and
   * every expected record's revision, finds the first expectation in the commit's order that does not hold, and
   * makes the writes, index changes and events only if none, each write also on the revision it expects. It returns
   * the time, the failed expectation's position (-1 if none) and that record's revision; if every expectation held
   * but a write changed no row (the tables were changed outside Collab), it raises {@link #NOT_HELD}'s error.
   *
   * @param texts the storage's statement texts by shape
   * @param tables the tables
   * @param sql the statements shared with the other forms (the index entries' deletes)
   * @param clockMicros an expression of the database clock in epoch microseconds
   * @param expectations the commit's expectations, at most {@link InlineCommit#ONE_TRIP_EXPECTATIONS}
   * @param writes the commit's writes: updates of records expected at a revision, creates of ones expected absent
   *     (the revision of a record's first expectation)
   * @param index the writes' index changes (a create's record has no entries to clear)
   * @param events the events, templates where {@code markers} name writes
   * @param markers per event, the positions of the writes whose revisions its details name
   * @return the statement
   */
  static SingleStatement checked(Texts texts, Tables tables, SqlText sql, String clockMicros,
      List<Expectation> expectations, List<Write> writes, IndexWrites index, List<NewEvent> events,
      List<List<Integer>> markers) {
    Map<RecordKey, Long> revision = new HashMap<>();
    expectations.forEach(e -> revision.putIfAbsent(e.key(), e.revision()));
    int n = expectations.size();
    StringBuilder shape = new StringBuilder(32).append('k').append(n).append('-');
    String text = texts.text(shape(shape, writes, revision, index, markers),
        () -> checkedText(tables, sql, clockMicros, n, writes, revision, index, events, markers));
    int parameters = 4 * n + changeParameters(writes, revision, index, events);
    return new SingleStatement(text, parameters, (ps, first) -> {
      int p = first;
      for (Expectation e : expectations) {
        ps.setString(p++, e.key().collection());
        ps.setString(p++, e.key().id());
      }
      for (Expectation e : expectations) {
        ps.setLong(p++, e.revision());
        if (e.notAfter() == null) {
          ps.setNull(p++, Types.BIGINT);
        } else {
          ps.setLong(p++, InlineCommit.flooredMicros(e.notAfter())); // now > notAfter, in whole microseconds
        }
      }
      for (Write w : writes) {
        p = bindWrite(ps, p, w, revision.get(w.key()));
      }
      return bindIndexAndEvents(ps, p, index, events);
    });
  }

  /** The text of {@link #checked}'s statement, of a commit of {@code n} expectations. */
  private static String checkedText(Tables tables, SqlText sql, String clockMicros, int n, List<Write> writes,
      Map<RecordKey, Long> revision, IndexWrites index, List<NewEvent> events, List<List<Integer>> markers) {
    StringBuilder text = new StringBuilder("WITH t AS MATERIALIZED (SELECT ").append(clockMicros)
        .append(" AS n), c AS MATERIALIZED (SELECT t.n");
    for (int k = 0; k < n; k++) {
      text.append(", COALESCE((SELECT r.revision FROM ").append(tables.records())
          .append(" r WHERE r.collection = ? AND r.id = ?), 0) AS r").append(k);
    }
    text.append(" FROM t), f AS MATERIALIZED (SELECT c.n, ");
    if (n == 0) {
      text.append("-1 AS failed, CAST(ARRAY[0] AS BIGINT[]) AS r");
    } else {
      // a bound bound as NULL (none) makes "c.n > ?" NULL, which never fails the expectation
      text.append("CASE");
      for (int k = 0; k < n; k++) {
        text.append(" WHEN c.r").append(k).append(" <> ? OR c.n > ? THEN ").append(k);
      }
      text.append(" ELSE -1 END AS failed, ARRAY[");
      for (int k = 0; k < n; k++) {
        text.append(k > 0 ? ", " : "").append("c.r").append(k);
      }
      text.append("] AS r");
    }
    text.append(" FROM c)");
    if (writes.isEmpty() && !events.isEmpty()) {
      // without writes, nothing else gives the transaction its xid before the first event id is taken; only if
      // the check held, so that a conflict commits a transaction without one (no WAL to flush)
      text.append(", x AS MATERIALIZED (SELECT pg_current_xact_id() AS x FROM f WHERE f.failed < 0)");
    }
    writes(text, tables, writes, revision, "f.failed < 0", "(SELECT failed FROM f) < 0", "f");
    text.append(", ok AS MATERIALIZED (SELECT ")
        .append(writes.isEmpty() ? (events.isEmpty() ? "f.failed < 0" : "(SELECT count(*) FROM x) = 1")
            : "(SELECT count(*) FROM w" + (writes.size() - 1) + ") = 1")
        .append(" AS held FROM f)");
    indexAndEvents(text, tables, sql, index, events, markers);
    text.append(" SELECT 0, f.n, CASE WHEN f.failed >= 0 THEN f.failed WHEN (SELECT held FROM ok) THEN -1 ELSE CAST('")
        .append(NOT_HELD).append(":' || f.n AS BIGINT) END, CASE WHEN f.failed >= 0 THEN f.r[f.failed + 1] ELSE 0"
            + " END");
    results(text, writes.size(), events.size(), " FROM f");
    return text.toString();
  }

  /**
   * Appends the writes, each run only if the one before it changed its row: an update on its expected revision, a
   * create that inserts nothing if the record exists.
   *
   * @param createCondition the condition of a create, over {@code from}'s row
   * @param updateCondition the condition of an update
   * @param from the expression a create selects from
   */
  private static void writes(StringBuilder text, Tables tables, List<Write> writes, Map<RecordKey, Long> revision,
      String createCondition, String updateCondition, String from) {
    for (int i = 0; i < writes.size(); i++) {
      String previous = i == 0 ? "" : " AND (SELECT count(*) FROM w" + (i - 1) + ") = 1";
      text.append(", w").append(i).append(" AS (");
      if (revision.get(writes.get(i).key()) == Expectation.ABSENT) {
        text.append("INSERT INTO ").append(tables.records()).append(" (collection, id, revision, hash, value_json)")
            .append(" SELECT ?, ?, nextval('").append(tables.revisionSequence()).append("'), ?, ? FROM ").append(from)
            .append(" WHERE ").append(createCondition).append(previous)
            .append(" ON CONFLICT (collection, id) DO NOTHING RETURNING revision)");
      } else {
        text.append("UPDATE ").append(tables.records()).append(" SET revision = nextval('")
            .append(tables.revisionSequence()).append("'), hash = ?, value_json = ? WHERE collection = ? AND id = ?")
            .append(" AND revision = ? AND ").append(updateCondition).append(previous).append(" RETURNING revision)");
      }
    }
  }

  /** Appends the index deletes, the index insert after them, and the event insert, each only if {@code ok} holds. */
  private static void indexAndEvents(StringBuilder text, Tables tables, SqlText sql, IndexWrites index,
      List<NewEvent> events, List<List<Integer>> markers) {
    List<List<RecordKey>> deletes = index.deletes();
    for (int j = 0; j < deletes.size(); j++) {
      text.append(", d").append(j).append(" AS (").append(sql.deleteIndexEntriesIf(deletes.get(j).size(),
          "(SELECT held FROM ok)")).append(" RETURNING 1)");
    }
    if (!index.rows.isEmpty()) {
      StringBuilder after = new StringBuilder("(SELECT held FROM ok)");
      for (int j = 0; j < deletes.size(); j++) {
        after.append(" AND (SELECT count(*) FROM d").append(j).append(") >= 0");
      }
      text.append(", i AS (").append(sql.insertIndexEntriesIf(index.rows.size(), after.toString())).append(")");
    }
    if (!events.isEmpty()) {
      // the time and the revisions the templates name are selected once, outside the rows: a subquery in each row
      // would be planned once per row, and planning would grow with the square of the rows (seconds for thousands)
      TreeSet<Integer> named = new TreeSet<>();
      markers.forEach(named::addAll);
      if (!named.isEmpty()) {
        text.append(", rv AS MATERIALIZED (SELECT ");
        for (int i : named) {
          text.append(i == named.first() ? "" : ", ").append("CAST((SELECT revision FROM w").append(i)
              .append(") AS TEXT) AS r").append(i);
        }
        text.append(")");
      }
      // a marker's text never occurs elsewhere in canonical JSON (EventTemplates), so every row may be given every
      // replacement
      String details = "v.d";
      for (int i : named) {
        details = "replace(" + details + ", chr(1) || '" + i + "' || chr(2), rv.r" + i + ")";
      }
      text.append(", e AS (INSERT INTO ").append(tables.events())
          .append(" (id, ts_micros, event_type, actor, target, details) SELECT v.i, (SELECT n FROM t), v.ty, v.a,")
          .append(" v.tg, ").append(details).append(" FROM (VALUES ");
      for (int k = 0; k < events.size(); k++) {
        text.append(k > 0 ? ", " : "").append("(nextval('").append(tables.eventSequence()).append("'), ?, ?, ?, ")
            .append(markers.get(k).isEmpty() ? "?" : "CAST(? AS TEXT)").append(")");
      }
      text.append(") AS v(i, ty, a, tg, d)").append(named.isEmpty() ? "" : " CROSS JOIN rv")
          .append(" WHERE (SELECT held FROM ok) RETURNING id)");
    }
  }

  /**
   * @return whether a commit of this many writes and events has its statement return one row, not a row per write
   *     and event ({@link #results})
   */
  static boolean oneRow(int writes, int events) {
    return writes <= ONE_ROW_MAX && events <= ONE_ROW_MAX;
  }

  /**
   * Ends the first row (0, time, failed position, that record's revision) and appends the rest of the result.
   * Every column is an integer, of fixed width: pgjdbc may split a round trip before a statement it has described
   * whose result has a column of unbounded width (it describes statements when parameters are sent untyped, {@code
   * stringtype=unspecified}).
   * <ul>
   *   <li>A commit of at most {@link #ONE_ROW_MAX} writes and events ({@link #oneRow}): more columns of the first
   *       row, the number of writes, their revisions in the writes' order ({@code (SELECT revision FROM w<i>)}), then
   *       the events' ids in the order the insert returned them ({@code (SELECT id FROM e LIMIT 1 OFFSET k)}: the
   *       k-th row of {@code e}, the order in which {@code nextval} ran, which the caller checks ascends in the
   *       events' order). NULL when the commit did not hold (nothing written): the caller reads them only when it
   *       did. One row spares the server the rows' union, sort and window (measured: docs/jdbc.md, section "One
   *       statement").</li>
   *   <li>A larger one: a row (1, i, revision, 0) per write in the writes' order, then a row (2, k, id, 0) per
   *       event, k numbering them in the order the insert returned them, so that the caller can check the ids
   *       ascend in the events' order.</li>
   * </ul>
   *
   * @param from what ends the first row's select list ({@code " FROM f"} in the checked form, nothing in the
   *     self-checked)
   */
  private static void results(StringBuilder text, int writes, int events, String from) {
    if (oneRow(writes, events)) {
      text.append(", ").append(writes);
      for (int i = 0; i < writes; i++) {
        text.append(", (SELECT revision FROM w").append(i).append(")");
      }
      for (int k = 0; k < events; k++) {
        text.append(", (SELECT id FROM e LIMIT 1 OFFSET ").append(k).append(")");
      }
      text.append(from);
      return;
    }
    text.append(from);
    for (int i = 0; i < writes; i++) {
      text.append(" UNION ALL SELECT 1, ").append(i).append(", revision, 0 FROM w").append(i);
    }
    if (events > 0) {
      text.append(" UNION ALL SELECT 2, row_number() OVER (), id, 0 FROM e");
    }
    text.append(" ORDER BY 1, 2");
  }

  /** @return the parameters of the writes (without time bounds), index changes and events */
  private static int changeParameters(List<Write> writes, Map<RecordKey, Long> revision, IndexWrites index,
      List<NewEvent> events) {
    int parameters = events.size() * EVENT_PARAMETERS + index.rows.size() * IndexWrites.ROW_PARAMETERS;
    for (Write w : writes) {
      parameters += revision.get(w.key()) == Expectation.ABSENT ? CREATE_PARAMETERS : UPDATE_PARAMETERS;
    }
    for (List<RecordKey> keys : index.deletes()) {
      parameters += keys.size() * IndexWrites.KEY_PARAMETERS;
    }
    return parameters;
  }

  /** Binds a write's parameters but its time bound: a create's key and value, an update's value, key and revision. */
  private static int bindWrite(PreparedStatement ps, int p, Write w, long expected) throws SQLException {
    if (expected == Expectation.ABSENT) {
      ps.setString(p++, w.key().collection());
      ps.setString(p++, w.key().id());
      ps.setString(p++, w.hash());
      ps.setString(p++, w.json());
    } else {
      ps.setString(p++, w.hash());
      ps.setString(p++, w.json());
      ps.setString(p++, w.key().collection());
      ps.setString(p++, w.key().id());
      ps.setLong(p++, expected);
    }
    return p;
  }

  /** Binds the index changes' and the events' parameters. */
  private static int bindIndexAndEvents(PreparedStatement ps, int p, IndexWrites index, List<NewEvent> events)
      throws SQLException {
    for (List<RecordKey> keys : index.deletes()) {
      p = IndexWrites.bindKeys(ps, p, keys);
    }
    if (!index.rows.isEmpty()) {
      p = IndexWrites.bindRows(ps, p, index.rows);
    }
    for (NewEvent e : events) {
      ps.setString(p++, e.type());
      ps.setString(p++, e.actor());
      ps.setString(p++, e.target());
      ps.setString(p++, e.detailsJson());
    }
    return p;
  }

  /** @return an expectation's time bound in whole epoch microseconds; none is the largest */
  private static long micros(Expectation e) {
    return e.notAfter() == null ? Long.MAX_VALUE : InlineCommit.flooredMicros(e.notAfter());
  }

  /** @return the statement's text */
  String sql() {
    return sql;
  }

  /** @return how many parameters it has */
  int parameters() {
    return parameters;
  }

  /** @return what binds them */
  Binder binder() {
    return binder;
  }

  /**
   * @param e a failure of the round trip
   * @return whether it is the statement's own report that a write did not change its row: nothing was committed
   */
  static boolean notHeld(SQLException e) {
    return InlineCommit.failedCast(e, NOT_HELD);
  }
}
