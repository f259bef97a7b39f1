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
 * How one commit runs inside its transaction. The steps are the same on every database: take the locks the protocol
 * needs and learn the revisions the writes get; read the clock; read the expected keys' revisions and check every
 * expectation; apply the writes, each re-checking its own expectation by row count, then their index entries
 * ({@link IndexWrites}); insert the events; (serialized
 * protocol) update the counters (other nodes are notified after the commit, by {@link CommitNotifier}). How the statements travel and where revisions and event ids come from is the
 * protocol's: {@link SequentialCommit} takes the counter row's lock and numbers from it, one statement at a time;
 * {@link InlineCommit} (PostgreSQL, where {@link Dialect#parallelCommits()}) locks only the commit's own keys, takes
 * numbers from sequences and sends everything in one round trip where the commit allows ({@link #tryOneTrip}), else
 * in two, the last ending with COMMIT. See docs/jdbc.md,
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
   * @return the protocol the dialect is capable of: {@link InlineCommit} where commits run in parallel (PostgreSQL),
   *     {@link SequentialCommit} elsewhere
   */
  static CommitProtocol of(Dialect dialect, Tables tables, SqlText sql, Queries queries, DatabaseClock clock) {
    return dialect.parallelCommits() ? new InlineCommit(dialect, tables, sql, queries, clock)
        : new SequentialCommit(dialect, tables, sql, queries, clock);
  }

  /**
   * What the first step learned: the revisions the writes get (in order), the counter row's last revision and event
   * id (the serialized protocol; -1 in the parallel one, which takes event ids when it inserts the events), the
   * commit's time, and how many of the expected keys' revisions were read together with them.
   */
  record Locked(List<Long> revisions, long lastRevision, long lastEventId, Instant now, int expectedKeysRead) {}

  /**
   * What a commit changes, after its expectations held.
   *
   * @param writes the writes' statements, in order
   * @param index the writes' index changes, made after them
   * @param events the events, in order
   * @param locked what the first step learned
   */
  record Changes(List<WriteStatement> writes, IndexWrites index, List<NewEvent> events, Locked locked) {
    /** @return true if nothing is written and no event recorded */
    boolean isEmpty() {
      return writes.isEmpty() && events.isEmpty();
    }
  }

  /**
   * What applying the changes did.
   *
   * @param failed the first write whose expectation did not hold, if any (then nothing is committed)
   * @param eventIds the ids the events got, in the events' order (empty if a write failed)
   */
  record Applied(Optional<WriteStatement> failed, List<Long> eventIds) {
    static Applied conflict(WriteStatement w) {
      return new Applied(Optional.of(w), List.of());
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
    Optional<CommitResult> oneTrip = tryOneTrip(a, commit);
    if (oneTrip.isPresent()) {
      return oneTrip.get();
    }
    Map<RecordKey, Long> current = new HashMap<>();
    Locked locked = lock(a, commit, expected, current);
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
    List<Long> revisions = locked.revisions();
    List<WriteStatement> statements = new ArrayList<>(writes.size());
    for (int i = 0; i < writes.size(); i++) {
      Write w = writes.get(i);
      statements.add(WriteStatement.of(w, revisions.get(i), Optional.ofNullable(byKey.get(w.key())), sql));
    }
    List<NewEvent> events = commit.eventsFor(revisions);
    Applied applied = applyChanges(a, new Changes(statements, IndexWrites.of(statements), events, locked));
    if (applied.failed().isPresent()) {
      a.rollbackOnly();
      WriteStatement w = applied.failed().get();
      return new CommitResult.Conflict(w.expectation(), queries.currentRevision(a.connection, w.write.key()));
    }
    List<StoredEvent> stored = new ArrayList<>(events.size());
    for (int i = 0; i < events.size(); i++) {
      stored.add(StoredEvent.of(events.get(i), applied.eventIds().get(i), now));
    }
    return new CommitResult.Committed(revisions, stored, now);
  }

  /**
   * Runs the commit in one round trip, where the protocol can and the commit allows it ({@link InlineCommit}).
   *
   * @param a the attempt
   * @param commit the commit
   * @return the result; or empty if the commit takes the general path ({@link #lock}, then {@link #applyChanges}):
   *     then nothing was committed, and the attempt's transaction is rolled back and goes on
   * @throws SQLException if the database fails
   */
  Optional<CommitResult> tryOneTrip(Transactions.Attempt a, Commit commit) throws SQLException {
    return Optional.empty();
  }

  /**
   * @return how the commit's transaction is run: {@link Transactions.Mode#WRITE}, unless the protocol sends BEGIN
   *     with its own first round trip
   */
  Transactions.Mode transactionMode() {
    return Transactions.Mode.WRITE;
  }

  /**
   * Bounds the lock wait, takes the protocol's locks, learns the writes' revisions, reads the clock, and possibly the
   * revisions of a first part of the expected keys.
   *
   * @param a the attempt
   * @param commit the commit
   * @param expected the expected keys, distinct
   * @param current receives the revisions read, by key
   * @return the revisions, the time, and how many expected keys were read
   * @throws SQLException if the database fails, or the counter row is missing
   */
  abstract Locked lock(Transactions.Attempt a, Commit commit, List<RecordKey> expected, Map<RecordKey, Long> current)
      throws SQLException;

  /**
   * Applies the writes, inserts the events and updates the counters (serialized protocol).
   *
   * @param a the attempt
   * @param changes what to change
   * @return the first write whose expectation did not hold, if any, else the events' ids
   * @throws SQLException if the database fails
   */
  abstract Applied applyChanges(Transactions.Attempt a, Changes changes) throws SQLException;

  /** @return the failure of a commit that found no counter row, with the procedure that restores it */
  SQLException missingCounters() {
    return new SQLException("the counter row of " + tables.meta() + " is missing (deleted outside Collab); restore it"
        + " by calling createSchema() on a JdbcStorage of these tables, or by running the last statement of "
        + dialect.kind().schemaResource() + " with ${prefix} replaced by '" + tables.prefix() + "': either recreates"
        + " it from the largest revision in " + tables.records() + " and the largest id in " + tables.events(),
        "55000");
  }

  /**
   * Binds one event's columns after its id: ts_micros, event_type, actor, target, details.
   *
   * @return the next parameter's index
   */
  static int bindEvent(PreparedStatement ps, int p, NewEvent e, Instant ts) throws SQLException {
    ps.setLong(p, DatabaseClock.micros(ts));
    ps.setString(p + 1, e.type());
    ps.setString(p + 2, e.actor());
    ps.setString(p + 3, e.target());
    ps.setString(p + 4, e.detailsJson());
    return p + 5;
  }
}
