package io.kyros.collab.jdbc;

import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredEvent;
import io.kyros.collab.spi.Write;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * How one commit runs inside its transaction. The steps are the same on every database: take the writers' lock on
 * the counter row and read the counters; read the clock; read the expected keys' revisions and check every
 * expectation; apply the writes with revisions {@code last_revision + 1 ...}, each re-checking its own expectation by
 * row count, then their index entries ({@link IndexWrites}); insert the events with ids {@code last_event_id + 1 ...}; update the counters (and notify). How the
 * statements travel is the protocol's: {@link SequentialCommit} sends them one at a time, {@link InlineCommit} (where
 * {@link Dialect#sendsStatementsTogether()}) in two round trips, the second ending with COMMIT. See docs/jdbc.md,
 * "Commits".
 *
 * <p>Thread-safe (stateless between commits).
 */
abstract class CommitProtocol {
  final Dialect dialect;
  final Tables tables;
  final SqlText sql;
  final Queries queries;
  final DatabaseClock clock;

  CommitProtocol(Dialect dialect, Tables tables, SqlText sql, Queries queries, DatabaseClock clock) {
    this.dialect = dialect;
    this.tables = tables;
    this.sql = sql;
    this.queries = queries;
    this.clock = clock;
  }

  /**
   * @return the protocol the dialect is capable of: {@link InlineCommit} where the driver sends statements together,
   *     {@link SequentialCommit} elsewhere
   */
  static CommitProtocol of(Dialect dialect, Tables tables, SqlText sql, Queries queries, DatabaseClock clock) {
    return dialect.sendsStatementsTogether() ? new InlineCommit(dialect, tables, sql, queries, clock)
        : new SequentialCommit(dialect, tables, sql, queries, clock);
  }

  /**
   * The counters read under the writers' lock, the commit's time, and how many of the expected keys' revisions
   * were read together with them.
   */
  record Locked(long lastRevision, long lastEventId, Instant now, int expectedKeysRead) {}

  /**
   * What a commit changes, after its expectations held.
   *
   * @param writes the writes' statements, in order
   * @param index the writes' index changes, made after them
   * @param events the events with their ids and time
   * @param lastRevision the counter row's new last revision
   * @param lastEventId the counter row's new last event id
   */
  record Changes(List<WriteStatement> writes, IndexWrites index, List<StoredEvent> events, long lastRevision,
      long lastEventId) {
    /** @return true if nothing is written and no event recorded: the counter row stays as it is */
    boolean isEmpty() {
      return writes.isEmpty() && events.isEmpty();
    }
  }

  /**
   * Runs the commit in the attempt's transaction.
   *
   * @param a the attempt
   * @param commit the commit
   * @return committed, or the first expectation that did not hold (the attempt then rolls back)
   * @throws SQLException if the database fails
   */
  final CommitResult apply(Transactions.Attempt a, Commit commit) throws SQLException {
    List<RecordKey> expected = commit.expectations().stream().map(Expectation::key).distinct().toList();
    Map<RecordKey, Long> current = new HashMap<>();
    Locked locked = lock(a, expected, current);
    for (int from = locked.expectedKeysRead(); from < expected.size(); from += Queries.KEY_CHUNK) {
      queries.select(a.connection, expected.subList(from, Math.min(expected.size(), from + Queries.KEY_CHUNK)),
          SqlText.Columns.REVISION, (k, rs) -> current.put(k, rs.getLong(3)));
    }
    Instant now = locked.now();

    // expectations, read under the lock
    Map<RecordKey, Expectation> byKey = new HashMap<>();
    for (Expectation e : commit.expectations()) {
      long actual = current.getOrDefault(e.key(), Expectation.ABSENT);
      if (!e.isMetBy(actual, now)) {
        a.rollbackOnly();
        return new CommitResult.Conflict(e, actual);
      }
      byKey.putIfAbsent(e.key(), e);
    }

    // writes, each re-checking its own expectation by row count
    List<Write> writes = commit.writes();
    List<Long> revisions = new ArrayList<>(writes.size());
    List<WriteStatement> statements = new ArrayList<>(writes.size());
    for (int i = 0; i < writes.size(); i++) {
      Write w = writes.get(i);
      long revision = locked.lastRevision() + 1 + i;
      revisions.add(revision);
      statements.add(WriteStatement.of(w, revision, Optional.ofNullable(byKey.get(w.key())), sql));
    }
    List<NewEvent> events = commit.eventsFor(revisions);
    List<StoredEvent> stored = new ArrayList<>(events.size());
    for (int i = 0; i < events.size(); i++) {
      stored.add(StoredEvent.of(events.get(i), locked.lastEventId() + 1 + i, now));
    }
    Changes changes = new Changes(statements, IndexWrites.of(statements), stored, locked.lastRevision() + writes.size(),
        locked.lastEventId() + events.size());
    Optional<WriteStatement> failed = applyChanges(a, changes);
    if (failed.isPresent()) {
      a.rollbackOnly();
      WriteStatement w = failed.get();
      return new CommitResult.Conflict(w.expectation(), queries.currentRevision(a.connection, w.write.key()));
    }
    return new CommitResult.Committed(revisions, stored, now);
  }

  /**
   * Bounds the lock wait, takes the writers' lock, reads the counters and the clock, and possibly the revisions of a
   * first part of the expected keys.
   *
   * @param a the attempt
   * @param expected the expected keys, distinct
   * @param current receives the revisions read, by key
   * @return the counters, the time, and how many expected keys were read
   * @throws SQLException if the database fails, or the counter row is missing
   */
  abstract Locked lock(Transactions.Attempt a, List<RecordKey> expected, Map<RecordKey, Long> current)
      throws SQLException;

  /**
   * Applies the writes, inserts the events, updates the counters and notifies.
   *
   * @param a the attempt
   * @param changes what to change
   * @return the first write whose expectation did not hold, if any
   * @throws SQLException if the database fails
   */
  abstract Optional<WriteStatement> applyChanges(Transactions.Attempt a, Changes changes) throws SQLException;

  /** @return the failure of a commit that found no counter row, with the procedure that restores it */
  SQLException missingCounters() {
    return new SQLException("the counter row of " + tables.meta() + " is missing (deleted outside Collab); restore it"
        + " by calling createSchema() on a JdbcStorage of these tables, or by running the last statement of "
        + dialect.kind().schemaResource() + " with ${prefix} replaced by '" + tables.prefix() + "': either recreates"
        + " it from the largest revision in " + tables.records() + " and the largest id in " + tables.events(),
        "55000");
  }

  /**
   * Binds one event's six parameters.
   *
   * @return the next parameter's index
   */
  static int bindEvent(PreparedStatement ps, int p, StoredEvent s) throws SQLException {
    ps.setLong(p, s.id());
    ps.setLong(p + 1, DatabaseClock.micros(s.ts()));
    ps.setString(p + 2, s.type());
    ps.setString(p + 3, s.actor());
    ps.setString(p + 4, s.target());
    ps.setString(p + 5, s.detailsJson());
    return p + 6;
  }
}
