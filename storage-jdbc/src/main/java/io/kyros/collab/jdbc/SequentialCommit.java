package io.kyros.collab.jdbc;

import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
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
  Locked lock(Transactions.Attempt a, Commit commit, List<RecordKey> expected, Map<RecordKey, Long> current)
      throws SQLException {
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
    int writes = commit.writes().size();
    List<Long> revisions = new ArrayList<>(writes);
    for (int i = 1; i <= writes; i++) {
      revisions.add(lastRevision + i);
    }
    return new Locked(revisions, lastRevision, lastEventId, clock.commitTime(c), 0);
  }

  @Override
  Applied applyChanges(Transactions.Attempt a, Changes changes) throws SQLException {
    Connection c = a.connection;
    for (WriteStatement w : changes.writes()) {
      if (!w.apply(c, dialect)) {
        return Applied.conflict(w);
      }
    }
    changes.index().apply(c, sql);
    Locked locked = changes.locked();
    List<NewEvent> events = changes.events();
    List<Long> ids = new ArrayList<>(events.size());
    if (!events.isEmpty()) {
      try (PreparedStatement ps = c.prepareStatement(sql.insertEvent)) {
        for (NewEvent e : events) {
          long id = locked.lastEventId() + 1 + ids.size();
          ids.add(id);
          ps.setLong(1, id);
          bindEvent(ps, 2, e, locked.now());
          ps.addBatch();
        }
        ps.executeBatch();
      }
    }
    if (!changes.isEmpty()) {
      try (PreparedStatement ps = c.prepareStatement(sql.updateCounters)) {
        ps.setLong(1, locked.lastRevision() + locked.revisions().size());
        ps.setLong(2, locked.lastEventId() + events.size());
        if (ps.executeUpdate() != 1) {
          throw new SQLException("the counter row of " + tables.meta() + " vanished during a commit", "55000");
        }
      }
    }
    return new Applied(Optional.empty(), ids);
  }
}
