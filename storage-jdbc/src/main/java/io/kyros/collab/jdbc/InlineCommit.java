package io.kyros.collab.jdbc;

import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredEvent;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The commit protocol of drivers that send several {@code ;}-separated statements with parameters in one round trip
 * (PostgreSQL): the lock wait's bound, the lock, the clock and the first expected revisions in one round trip; the
 * writes, their index entries ({@link IndexWrites}), the events (multi-row inserts), the counters, NOTIFY and COMMIT in a second one (split into several when
 * they would carry more parameters than the driver allows, COMMIT in the last). The server still runs
 * the statements one after the other, each with a fresh snapshot. Since COMMIT travels with the writes, the row
 * counts that must be 1 are checked on the server ({@link #checkedOnServer}), and an error in that round trip means
 * COMMIT did not run, unless the connection failed (then the outcome is unknown). See docs/jdbc.md, "Commits".
 *
 * <p>Thread-safe (stateless between commits).
 */
final class InlineCommit extends CommitProtocol {
  /** Marks the server-side check of a write's or the counters' row count; see {@link #checkedOnServer}. */
  private static final String ROW_COUNT_FAILED = "collab_row_count_failed";
  /** The parameters of one event row: id, ts_micros, event_type, actor, target, details. */
  private static final int EVENT_PARAMETERS = 6;

  InlineCommit(Dialect dialect, Tables tables, SqlText sql, Queries queries, DatabaseClock clock) {
    super(dialect, tables, sql, queries, clock);
  }

  /**
   * Bounds the lock wait, takes the writers' lock, reads the clock and the revisions of the first chunk of expected
   * keys in one round trip. The statements still run one after the other on the server, so the clock and the
   * revisions are read after the lock is granted, each statement with a fresh snapshot (READ COMMITTED).
   */
  @Override
  Locked lock(Transactions.Attempt a, List<RecordKey> expected, Map<RecordKey, Long> current) throws SQLException {
    List<RecordKey> first = expected.subList(0, Math.min(expected.size(), Queries.KEY_CHUNK));
    List<String> parts = new ArrayList<>();
    parts.add(dialect.boundLockWaitParameterized());
    parts.addAll(List.of(sql.lockCounters));
    if (clock.isDatabase()) {
      parts.add(clock.query());
    }
    if (!first.isEmpty()) {
      parts.add(sql.selectRecords(first.size(), SqlText.Columns.REVISION));
    }
    try (PreparedStatement ps = a.connection.prepareStatement(String.join("; ", parts))) {
      ps.setLong(1, a.lockWaitMillis());
      Queries.bindKeys(ps, 2, first);
      boolean isQuery = ps.execute();
      // results: the bound, the lock's updates (if any), the counters, the clock, the revisions
      for (int i = 0; i < sql.lockCounters.length; i++) {
        isQuery = ps.getMoreResults();
      }
      long lastRevision;
      long lastEventId;
      try (ResultSet rs = resultSet(ps, isQuery)) {
        if (!rs.next()) {
          throw missingCounters();
        }
        lastRevision = rs.getLong(1);
        lastEventId = rs.getLong(2);
      }
      Instant now;
      if (clock.isDatabase()) {
        try (ResultSet rs = resultSet(ps, ps.getMoreResults())) {
          rs.next();
          now = clock.remember(rs.getLong(1));
        }
      } else {
        now = clock.configuredNow();
      }
      if (!first.isEmpty()) {
        try (ResultSet rs = resultSet(ps, ps.getMoreResults())) {
          while (rs.next()) {
            current.put(new RecordKey(rs.getString(1), rs.getString(2)), rs.getLong(3));
          }
        }
      }
      return new Locked(lastRevision, lastEventId, now, first.size());
    }
  }

  private static ResultSet resultSet(PreparedStatement ps, boolean isQuery) throws SQLException {
    if (!isQuery) {
      throw new SQLException("expected a result set from the commit's combined statements", "XX000");
    }
    return ps.getResultSet();
  }

  /** One statement of the write round trip(s), how many parameters it has, and how to bind them. */
  private record Part(String sql, int parameters, Binder binder) {}

  /** Binds a part's parameters from an index on; returns the next index. */
  @FunctionalInterface
  private interface Binder {
    int bind(PreparedStatement ps, int first) throws SQLException;
  }

  /**
   * Applies the writes, inserts the events (multi-row inserts), updates the counters, notifies and COMMITs, in one
   * round trip unless that would carry more parameters than the driver allows ({@link Dialect#maxParameters()}):
   * then in as few round trips as fit, COMMIT in the last one. The row counts that must be 1 (a conditional write,
   * the counters) are checked on the server (see {@link #checkedOnServer}): a failed one raises an error, so the
   * statements after it and the COMMIT do not run. Under the writers' lock the expectations read in the first round
   * trip cannot change, so that happens only if the tables were changed outside Collab; the commit then reports the
   * conflict and nothing is committed.
   */
  @Override
  Optional<WriteStatement> applyChanges(Transactions.Attempt a, Changes changes) throws SQLException {
    if (changes.isEmpty()) {
      return Optional.empty();
    }
    Connection c = a.connection;
    List<List<Part>> roundTrips = roundTrips(parts(changes), dialect.maxParameters());
    try {
      for (int i = 0; i < roundTrips.size(); i++) {
        boolean last = i == roundTrips.size() - 1;
        List<String> statements = new ArrayList<>();
        roundTrips.get(i).forEach(part -> statements.add(part.sql()));
        if (last) {
          statements.add("COMMIT");
        }
        try (PreparedStatement ps = c.prepareStatement(String.join("; ", statements))) {
          int p = 1;
          for (Part part : roundTrips.get(i)) {
            p = part.binder().bind(ps, p);
          }
          if (last) {
            a.committingInline();
          }
          ps.execute();
        }
      }
      return Optional.empty();
    } catch (SQLException e) {
      if (e.getMessage() == null || !e.getMessage().contains(ROW_COUNT_FAILED)) {
        if (reportedByServer(e)) {
          // the server answered with an error, so it skipped the rest of the round trip: COMMIT did not run (or
          // failed and rolled back); a retryable error is retried like any other
          a.notCommitted();
        }
        throw e; // else the connection failed: whether COMMIT ran is unknown (if it was sent)
      }
      a.notCommitted();
      c.rollback();
      for (WriteStatement w : changes.writes()) {
        if (w.conditional() && !w.expectation().isMetBy(queries.currentRevision(c, w.write.key()), Instant.MIN)) {
          return Optional.of(w);
        }
      }
      throw new SQLException("a row count checked inside a commit did not hold: the counter row of " + tables.meta()
          + " vanished, or the tables were changed outside Collab; rolled back", "55000", e);
    }
  }

  /** The statements of the write round trip(s), in order, without COMMIT. */
  private List<Part> parts(Changes changes) {
    List<Part> parts = new ArrayList<>();
    for (WriteStatement w : changes.writes()) {
      parts.add(new Part(w.conditional() ? checkedOnServer(w.sql) : w.sql, w.parameters(), w::bind));
    }
    IndexWrites index = changes.index();
    for (List<RecordKey> keys : IndexWrites.chunks(index.cleared, Queries.KEY_CHUNK)) {
      parts.add(new Part(sql.deleteIndexEntries(keys.size()), keys.size() * IndexWrites.KEY_PARAMETERS,
          (ps, first) -> IndexWrites.bindKeys(ps, first, keys)));
    }
    int entriesPerInsert = Math.max(1, dialect.maxParameters() / IndexWrites.ROW_PARAMETERS);
    for (List<IndexWrites.Row> rows : IndexWrites.chunks(index.rows, entriesPerInsert)) {
      parts.add(new Part(sql.insertIndexEntries(rows.size()), rows.size() * IndexWrites.ROW_PARAMETERS,
          (ps, first) -> IndexWrites.bindRows(ps, first, rows)));
    }
    List<StoredEvent> events = changes.events();
    int rows = Math.max(1, dialect.maxParameters() / EVENT_PARAMETERS);
    for (int from = 0; from < events.size(); from += rows) {
      List<StoredEvent> chunk = events.subList(from, Math.min(events.size(), from + rows));
      parts.add(new Part(sql.insertEvents(chunk.size()), chunk.size() * EVENT_PARAMETERS, (ps, first) -> {
        int p = first;
        for (StoredEvent s : chunk) {
          p = bindEvent(ps, p, s);
        }
        return p;
      }));
    }
    parts.add(new Part(checkedOnServer(sql.updateCounters), 2, (ps, p) -> {
      ps.setLong(p, changes.lastRevision());
      ps.setLong(p + 1, changes.lastEventId());
      return p + 2;
    }));
    if (!events.isEmpty() && sql.notifyEvents.isPresent()) {
      parts.add(new Part(sql.notifyEvents.get(), 0, (ps, p) -> p));
    }
    return parts;
  }

  /** Packs parts into round trips of at most {@code maxParameters} parameters each, in order. */
  private static List<List<Part>> roundTrips(List<Part> parts, int maxParameters) {
    List<List<Part>> trips = new ArrayList<>();
    List<Part> current = new ArrayList<>();
    int parameters = 0;
    for (Part part : parts) {
      if (!current.isEmpty() && parameters + part.parameters() > maxParameters) {
        trips.add(current);
        current = new ArrayList<>();
        parameters = 0;
      }
      current.add(part);
      parameters += part.parameters();
    }
    trips.add(current);
    return trips;
  }

  /**
   * @return whether an error is the server's answer to a statement, rather than the connection failing (SQLState
   *     class 08, or none: an I/O error) or the server ending the session (class 57: shutdown, termination), after
   *     which whether a COMMIT already sent ran is unknown
   */
  private static boolean reportedByServer(SQLException e) {
    String state = e.getSQLState();
    return state != null && state.length() == 5 && !state.startsWith("08") && !state.startsWith("57");
  }

  /**
   * Wraps a data-changing statement so the server raises an error unless it changed exactly one row: a failed check
   * aborts the transaction before the statements after it, COMMIT included. (The cast of a text that is not a
   * number fails only when the count is not 1: it depends on the count, so the planner cannot fold it early.)
   */
  private static String checkedOnServer(String statement) {
    return "WITH changed AS (" + statement + " RETURNING 1) SELECT CASE WHEN count(*) = 1 THEN 0 ELSE CAST('"
        + ROW_COUNT_FAILED + ":' || count(*) AS INTEGER) END FROM changed";
  }
}
