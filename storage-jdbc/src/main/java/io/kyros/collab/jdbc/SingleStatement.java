package io.kyros.collab.jdbc;

import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Write;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A one-round-trip commit on PostgreSQL ({@link InlineCommit#tryOneTrip}) as one statement of data-modifying common
 * table expressions instead of one statement per step, for a commit whose every expectation is on a record it writes
 * (a lease's acquire, renew and release, a claim or completion of a task without dependencies, a document's update,
 * an append). Each statement of a round trip costs the server a parse, bind and execute of its own; measured with one
 * client and with eight, a lease acquire as one statement commits 12 to 23 % more often than as the seven of the
 * general one-round-trip form (benchmarks/experiments/pg-commit-function, "Follow-up (session 41)").
 *
 * <p>The round trip, between {@code BEGIN ISOLATION LEVEL READ COMMITTED} and {@code COMMIT}:
 *
 * <pre>
 * WITH l AS MATERIALIZED (&lt;the lock wait's bound and the key locks, as InlineCommit takes them&gt;),
 *   t AS MATERIALIZED (SELECT &lt;clock&gt; AS n, pg_current_xact_id() AS x FROM l),
 *   w0 AS (UPDATE records SET revision = nextval(revision_seq), hash = ?, value_json = ?
 *          WHERE collection = ? AND id = ? AND revision = ? AND (SELECT n FROM t) &lt;= ? RETURNING revision),
 *   w1 AS (INSERT INTO records (collection, id, revision, hash, value_json)
 *          SELECT ?, ?, nextval(revision_seq), ?, ? FROM t WHERE t.n &lt;= ? AND (SELECT count(*) FROM w0) = 1
 *          ON CONFLICT (collection, id) DO NOTHING RETURNING revision),
 *   ok AS MATERIALIZED (SELECT (SELECT count(*) FROM w1) = 1 AS held FROM t),
 *   d0 AS (DELETE FROM index WHERE ((collection = ? AND record_id = ?) OR ...) AND (SELECT held FROM ok) RETURNING 1),
 *   i AS (INSERT INTO index (collection, index_name, index_key, record_id) SELECT * FROM (VALUES (?, ?, ?, ?), ...)
 *         AS v WHERE (SELECT held FROM ok) AND (SELECT count(*) FROM d0) &gt;= 0),
 *   e AS (INSERT INTO events (id, ts_micros, event_type, actor, target, details) SELECT * FROM
 *         (VALUES (nextval(event_seq), (SELECT n FROM t), ?, ?, ?, &lt;details&gt;), ...) AS v
 *         WHERE (SELECT held FROM ok) RETURNING id)
 * SELECT (SELECT n FROM t), CASE WHEN (SELECT held FROM ok) THEN 0 ELSE CAST('collab_statement_not_held:' || ...
 *        AS BIGINT) END, ARRAY[(SELECT revision FROM w0), (SELECT revision FROM w1)], ARRAY(SELECT id FROM e ORDER BY id)
 * </pre>
 *
 * <p>Why it commits exactly what the statement-per-step form commits:
 * <ul>
 *   <li><b>One snapshot, taken before the key locks.</b> The statement's snapshot predates the locks it waits for, so
 *       unlike the statement-per-step form it cannot read an expectation; instead each expectation is a condition of
 *       the write of its own record (which is why only commits that write every record they expect qualify), and
 *       those conditions are checked on the newest committed version, not the snapshot's: an update whose row
 *       another transaction changed after the snapshot re-checks its {@code WHERE} on the newest version (READ
 *       COMMITTED's re-check of a concurrently updated row), and a create finds a row inserted after the snapshot
 *       through the primary key's uniqueness check, which looks at every committed row. Under the key locks no other
 *       Collab commit changes these records while the statement runs, so what the writes find is what the
 *       statement-per-step form's check would have read after the locks.</li>
 *   <li><b>All or nothing.</b> Each write runs only if the one before it changed its row (the chain of {@code
 *       count(*) = 1}), in the writes' order, so revisions ascend as the writes go; {@code ok} holds if the last
 *       one did. The index entries and the events are made only if {@code ok} holds. If it does not (an
 *       expectation failed, its time bound passed, or the tables were changed outside Collab), the final
 *       {@code SELECT} raises an error (a failed cast of a text that depends on the clock, so the planner cannot
 *       fold it early): the transaction aborts, the server skips the {@code COMMIT}, nothing is committed, and the
 *       caller rolls back and sends the commit again in the statement-per-step form, whose check reports which
 *       expectation failed and the revision found.</li>
 *   <li><b>Order inside the statement.</b> Data-modifying expressions run in an order PostgreSQL does not promise
 *       except where one reads another's result; every needed order is such a read: {@code t} after {@code l} (the
 *       clock after the locks are granted), the writes after {@code t} and each after the one before, {@code ok}
 *       after the last write and after {@code t}, the index deletes after {@code ok}, the index insert after the
 *       deletes (a record's new entry may have an old entry's name, which its own transaction's delete frees), and
 *       the events after {@code ok}. So the transaction has its xid ({@code pg_current_xact_id()} in {@code t})
 *       before its first event id is taken, as {@link EventHorizon} requires, and event ids ascend in the events'
 *       order (one multi-row insert, {@code nextval} row by row).</li>
 *   <li><b>Revisions in events.</b> An event template's marker ({@link EventTemplates}) becomes the revision its
 *       write returned ({@code (SELECT CAST(revision AS TEXT) FROM w<i>)}), not a read of the record, which would
 *       see the snapshot's revision.</li>
 * </ul>
 *
 * <p>Immutable; one per commit.
 */
final class SingleStatement {
  /** Marks the failed cast the statement raises when a write did not change its row. */
  static final String NOT_HELD = "collab_statement_not_held";
  /** The SQLState of that failed cast. */
  private static final String INVALID_TEXT_REPRESENTATION = "22P02";
  /** The parameters of an update: hash, value_json, collection, id, revision, time bound. */
  private static final int UPDATE_PARAMETERS = 6;
  /** The parameters of a create: collection, id, hash, value_json, time bound. */
  private static final int CREATE_PARAMETERS = 5;
  /** The parameters of an event row: event_type, actor, target, details. */
  private static final int EVENT_PARAMETERS = 4;
  /** The parameters of reporting the first write's failure: its key, then its expected revision and time bound. */
  private static final int REPORT_PARAMETERS = 4;
  /** When the transaction began (its BEGIN, before the statement's snapshot), in epoch microseconds. */
  private static final String TRANSACTION_START = "(EXTRACT(EPOCH FROM now()) * 1000000)::BIGINT";

  private final String sql;
  private final int parameters;
  private final Binder binder;

  private SingleStatement(String sql, int parameters, Binder binder) {
    this.sql = sql;
    this.parameters = parameters;
    this.binder = binder;
  }

  /** Binds a statement's parameters from an index on; returns the next index. */
  @FunctionalInterface
  interface Binder {
    int bind(PreparedStatement ps, int first) throws SQLException;
  }

  /**
   * The statement of a commit, if it qualifies: it writes (updates or creates, no deletes) every record it expects,
   * each record once, and expects each at one revision; it has writes or events.
   *
   * @param tables the tables
   * @param sql the statements shared with the other forms (the index entries' deletes)
   * @param boundAndLockKeys the statement bounding the lock wait by its first parameter and locking the keys of its
   *     second, as {@link InlineCommit} takes them
   * @param clockMicros an expression of the database clock in epoch microseconds
   * @param expectations the commit's expectations
   * @param writes the commit's writes
   * @param index the writes' index changes (a create's record has no entries to clear)
   * @param events the events, templates where {@code markers} name writes
   * @param markers per event, the positions of the writes whose revisions its details name
   * @param lockWaitMillis the lock wait's bound
   * @param locks the key locks, ascending
   * @param connection the connection, for the locks' array
   * @return the statement, or empty if the commit does not qualify
   */
  static Optional<SingleStatement> of(Tables tables, SqlText sql, String boundAndLockKeys, String clockMicros,
      List<Expectation> expectations, List<Write> writes, IndexWrites index, List<NewEvent> events,
      List<List<Integer>> markers, long lockWaitMillis, Long[] locks, Connection connection) {
    if (writes.isEmpty() && events.isEmpty()) {
      return Optional.empty();
    }
    Map<RecordKey, Long> revision = new HashMap<>();
    Map<RecordKey, Long> bound = new HashMap<>();
    for (Expectation e : expectations) {
      if (revision.putIfAbsent(e.key(), e.revision()) != null) {
        return Optional.empty(); // two on one record: the statement-per-step form reports the first that fails
      }
      bound.put(e.key(), e.notAfter() == null ? Long.MAX_VALUE : InlineCommit.flooredMicros(e.notAfter()));
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
    StringBuilder text = new StringBuilder("WITH l AS MATERIALIZED (").append(boundAndLockKeys)
        .append("), t AS MATERIALIZED (SELECT ").append(clockMicros)
        // without writes, nothing else gives the transaction its xid before the first event id is taken
        .append(writes.isEmpty() ? " AS n, pg_current_xact_id() AS x FROM l)" : " AS n FROM l)");
    if (reports) {
      text.append(", s AS MATERIALIZED (SELECT COALESCE((SELECT revision FROM ").append(tables.records())
          .append(" WHERE collection = ? AND id = ?), 0) AS r)");
    }
    for (int i = 0; i < writes.size(); i++) {
      String previous = i == 0 ? "" : " AND (SELECT count(*) FROM w" + (i - 1) + ") = 1";
      text.append(", w").append(i).append(" AS (");
      if (revision.get(writes.get(i).key()) == Expectation.ABSENT) {
        text.append("INSERT INTO ").append(tables.records()).append(" (collection, id, revision, hash, value_json)")
            .append(" SELECT ?, ?, nextval('").append(tables.revisionSequence()).append("'), ?, ? FROM t WHERE t.n <= ?")
            .append(previous).append(" ON CONFLICT (collection, id) DO NOTHING RETURNING revision)");
      } else {
        text.append("UPDATE ").append(tables.records()).append(" SET revision = nextval('")
            .append(tables.revisionSequence()).append("'), hash = ?, value_json = ? WHERE collection = ? AND id = ?")
            .append(" AND revision = ? AND (SELECT n FROM t) <= ?").append(previous).append(" RETURNING revision)");
      }
    }
    text.append(", ok AS MATERIALIZED (SELECT ")
        .append(writes.isEmpty() ? "true" : "(SELECT count(*) FROM w" + (writes.size() - 1) + ") = 1")
        .append(" AS held FROM t)");
    List<List<RecordKey>> deletes = index.deletes();
    for (int j = 0; j < deletes.size(); j++) {
      text.append(", d").append(j).append(" AS (").append(sql.deleteIndexEntriesIf(deletes.get(j).size(),
          "(SELECT held FROM ok)")).append(" RETURNING 1)");
    }
    List<IndexWrites.Row> rows = index.rows;
    if (!rows.isEmpty()) {
      StringBuilder after = new StringBuilder("(SELECT held FROM ok)");
      for (int j = 0; j < deletes.size(); j++) {
        after.append(" AND (SELECT count(*) FROM d").append(j).append(") >= 0");
      }
      text.append(", i AS (").append(sql.insertIndexEntriesIf(rows.size(), after.toString())).append(")");
    }
    if (!events.isEmpty()) {
      text.append(", e AS (INSERT INTO ").append(tables.events())
          .append(" (id, ts_micros, event_type, actor, target, details) SELECT * FROM (VALUES ");
      for (int k = 0; k < events.size(); k++) {
        text.append(k > 0 ? ", " : "").append("(nextval('").append(tables.eventSequence())
            .append("'), (SELECT n FROM t), ?, ?, ?, ").append(details(markers.get(k))).append(")");
      }
      text.append(") AS v WHERE (SELECT held FROM ok) RETURNING id)");
    }
    text.append(" SELECT (SELECT n FROM t), CASE WHEN (SELECT held FROM ok) THEN -1");
    if (reports) {
      text.append(" WHEN (SELECT count(*) FROM w0) = 0 AND ((SELECT r FROM s) <> ? OR ").append(TRANSACTION_START)
          .append(" > ?) THEN 0");
    }
    text.append(" ELSE CAST('").append(NOT_HELD).append(":' || (SELECT n FROM t) AS BIGINT) END, ")
        .append(reports ? "CASE WHEN (SELECT held FROM ok) THEN 0 ELSE (SELECT r FROM s) END, " : "0, ");
    if (writes.isEmpty()) {
      text.append("CAST(ARRAY[] AS BIGINT[])");
    } else {
      text.append("ARRAY[");
      for (int i = 0; i < writes.size(); i++) {
        text.append(i > 0 ? ", " : "").append("(SELECT revision FROM w").append(i).append(")");
      }
      text.append("]");
    }
    text.append(", ").append(events.isEmpty() ? "CAST(ARRAY[] AS BIGINT[])" : "ARRAY(SELECT id FROM e ORDER BY id)");
    int parameters = 2 + (reports ? REPORT_PARAMETERS : 0) + events.size() * EVENT_PARAMETERS
        + rows.size() * IndexWrites.ROW_PARAMETERS;
    for (Write w : writes) {
      parameters += revision.get(w.key()) == Expectation.ABSENT ? CREATE_PARAMETERS : UPDATE_PARAMETERS;
    }
    for (List<RecordKey> keys : deletes) {
      parameters += keys.size() * IndexWrites.KEY_PARAMETERS;
    }
    return Optional.of(new SingleStatement(text.toString(), parameters, (ps, first) -> {
      int p = first;
      ps.setLong(p++, lockWaitMillis);
      ps.setArray(p++, connection.createArrayOf("bigint", locks));
      if (reports) {
        ps.setString(p++, writes.get(0).key().collection());
        ps.setString(p++, writes.get(0).key().id());
      }
      for (Write w : writes) {
        long expected = revision.get(w.key());
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
        ps.setLong(p++, bound.get(w.key())); // the clock read after the locks must not be after it
      }
      for (List<RecordKey> keys : deletes) {
        p = IndexWrites.bindKeys(ps, p, keys);
      }
      if (!rows.isEmpty()) {
        p = IndexWrites.bindRows(ps, p, rows);
      }
      for (NewEvent e : events) {
        ps.setString(p++, e.type());
        ps.setString(p++, e.actor());
        ps.setString(p++, e.target());
        ps.setString(p++, e.detailsJson());
      }
      if (reports) {
        ps.setLong(p++, revision.get(writes.get(0).key()));
        ps.setLong(p++, bound.get(writes.get(0).key()));
      }
      return p;
    }));
  }

  /**
   * @param markers the writes whose revisions an event's details name, or none
   * @return the details' expression: the bound text, each marker replaced by the decimal text of the revision its
   *     write returned
   */
  private static String details(List<Integer> markers) {
    String details = markers.isEmpty() ? "?" : "CAST(? AS TEXT)";
    for (int i : markers) {
      details = "replace(" + details + ", chr(1) || '" + i + "' || chr(2), (SELECT CAST(revision AS TEXT) FROM w" + i
          + "))";
    }
    return details;
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
    return INVALID_TEXT_REPRESENTATION.equals(e.getSQLState()) && e.getMessage() != null
        && e.getMessage().contains(NOT_HELD);
  }
}
