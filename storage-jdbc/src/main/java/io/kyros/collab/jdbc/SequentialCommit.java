package io.kyros.collab.jdbc;

import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredEvent;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The generic commit protocol: every statement is sent on its own, in order, and the transaction's COMMIT is the
 * driver's, after the work ({@link Transactions}). Row counts are checked here, between statements; MariaDB/MySQL
 * and H2 report a create-only insert's existing row by a duplicate-key error that leaves the transaction usable.
 *
 * <p>Thread-safe (stateless between commits).
 */
final class SequentialCommit extends CommitProtocol {

  SequentialCommit(Dialect dialect, Tables tables, SqlText sql, Queries queries, DatabaseClock clock) {
    super(dialect, tables, sql, queries, clock);
  }

  /** Bounds the lock wait, takes the writers' lock and reads the clock, one statement at a time. */
  @Override
  Locked lock(Transactions.Attempt a, List<RecordKey> expected, Map<RecordKey, Long> current) throws SQLException {
    Connection c = a.connection;
    String[] lock = sql.lockCounters;
    String bound = dialect.boundLockWait(a.lockWaitMillis());
    long lastRevision;
    long lastEventId;
    try (Statement s = c.createStatement()) {
      if (bound != null) {
        s.execute(bound); // a stalled lock holder fails this commit after the retry timeout instead of hanging it
      }
      for (int i = 0; i < lock.length - 1; i++) {
        s.executeUpdate(lock[i]);
      }
      try (ResultSet rs = s.executeQuery(lock[lock.length - 1])) {
        if (!rs.next()) {
          throw missingCounters();
        }
        lastRevision = rs.getLong(1);
        lastEventId = rs.getLong(2);
      }
    }
    return new Locked(lastRevision, lastEventId, clock.commitTime(c), 0);
  }

  @Override
  Optional<WriteStatement> applyChanges(Transactions.Attempt a, Changes changes) throws SQLException {
    Connection c = a.connection;
    for (WriteStatement w : changes.writes()) {
      if (!w.apply(c, dialect)) {
        return Optional.of(w);
      }
    }
    changes.index().apply(c, sql);
    List<StoredEvent> events = changes.events();
    if (!events.isEmpty()) {
      try (PreparedStatement ps = c.prepareStatement(sql.insertEvent)) {
        for (StoredEvent s : events) {
          bindEvent(ps, 1, s);
          ps.addBatch();
        }
        ps.executeBatch();
      }
    }
    if (!changes.isEmpty()) {
      try (PreparedStatement ps = c.prepareStatement(sql.updateCounters)) {
        ps.setLong(1, changes.lastRevision());
        ps.setLong(2, changes.lastEventId());
        if (ps.executeUpdate() != 1) {
          throw new SQLException("the counter row of " + tables.meta() + " vanished during a commit", "55000");
        }
      }
    }
    if (!events.isEmpty() && sql.notifyEvents.isPresent()) {
      try (Statement s = c.createStatement()) {
        s.execute(sql.notifyEvents.get());
      }
    }
    return Optional.empty();
  }
}
