package io.kyros.collab.jdbc;

import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.IndexHit;
import io.kyros.collab.spi.IndexQuery;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredEvent;
import io.kyros.collab.spi.StoredRecord;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The storage's reads of records and events, each one short read on a borrowed connection, and the query of records
 * by key that commits use too. Reads never take a lock.
 *
 * <p>Thread-safe.
 */
final class Queries {
  /** The most keys one query of records by key names. */
  static final int KEY_CHUNK = 100;

  /** Receives one row of a query of records by key. */
  @FunctionalInterface
  interface RowHandler {
    void accept(RecordKey key, ResultSet rs) throws SQLException;
  }

  private final Transactions transactions;
  private final SqlText sql;
  /** Where commits run in parallel (PostgreSQL), how the log is read without skipping an event still in flight. */
  private final Optional<EventHorizon> horizon;

  Queries(Transactions transactions, SqlText sql, Optional<EventHorizon> horizon) {
    this.transactions = transactions;
    this.sql = sql;
    this.horizon = horizon;
  }

  Optional<StoredRecord> read(RecordKey key) {
    return transactions.read("read", a -> {
      try (PreparedStatement ps = a.connection.prepareStatement(sql.readRecord)) {
        ps.setString(1, key.collection());
        ps.setString(2, key.id());
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next() ? Optional.of(new StoredRecord(key, rs.getString(3), rs.getLong(1), rs.getString(2)))
              : Optional.<StoredRecord>empty();
        }
      }
    });
  }

  /** One query per {@value #KEY_CHUNK} keys; the keys are distinct. */
  List<StoredRecord> readAll(List<RecordKey> distinct) {
    return transactions.read("readAll", a -> {
      List<StoredRecord> out = new ArrayList<>(distinct.size());
      for (int from = 0; from < distinct.size(); from += KEY_CHUNK) {
        List<RecordKey> chunk = distinct.subList(from, Math.min(distinct.size(), from + KEY_CHUNK));
        select(a.connection, chunk, SqlText.Columns.RECORD, (k, rs) -> out.add(new StoredRecord(k, rs.getString(5),
            rs.getLong(3), rs.getString(4))));
      }
      return out;
    });
  }

  List<StoredRecord> list(String collection, String afterId, int limit) {
    return transactions.read("list", a -> {
      try (PreparedStatement ps = a.connection.prepareStatement(sql.listRecords)) {
        ps.setString(1, collection);
        ps.setString(2, afterId);
        ps.setInt(3, limit);
        List<StoredRecord> out = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            out.add(new StoredRecord(new RecordKey(collection, rs.getString(1)), rs.getString(4), rs.getLong(2),
                rs.getString(3)));
          }
        }
        return out;
      }
    });
  }

  /** One query: the index's entries in order, joined with their records (see {@link SqlText#scanIndex}). */
  List<IndexHit> scanIndex(IndexQuery q) {
    return transactions.read("scanIndex", a -> {
      try (PreparedStatement ps = a.connection.prepareStatement(sql.scanIndex)) {
        return scan(ps, q);
      }
    });
  }

  /** Runs {@link SqlText#scanIndex} for one query on a statement prepared from it. */
  private List<IndexHit> scan(PreparedStatement ps, IndexQuery q) throws SQLException {
    bindScan(ps, 1, q);
    List<IndexHit> out = new ArrayList<>();
    try (ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        out.add(hit(rs, 1, q.collection()));
      }
    }
    return out;
  }

  /**
   * One hit of an index scan, from the columns {@code index_key, id, revision, hash, value_json} starting at
   * {@code first}.
   */
  private static IndexHit hit(ResultSet rs, int first, String collection) throws SQLException {
    return new IndexHit(rs.getString(first), new StoredRecord(new RecordKey(collection, rs.getString(first + 1)),
        rs.getString(first + 4), rs.getLong(first + 2), rs.getString(first + 3)));
  }

  /** Binds one index query's parameters (see {@link SqlText#scanIndex}) from {@code p} on; returns the next index. */
  private int bindScan(PreparedStatement ps, int p, IndexQuery q) throws SQLException {
    ps.setString(p++, q.collection());
    ps.setString(p++, q.index());
    ps.setString(p++, q.untilKey());
    ps.setString(p++, q.afterKey());
    if (sql.indexPageStart == Dialect.IndexPageStart.KEY_OR_KEY_AND_ID) {
      ps.setString(p++, q.afterKey());
    }
    ps.setString(p++, q.afterId());
    ps.setInt(p++, q.limit());
    if (sql.indexPageStart == Dialect.IndexPageStart.TWO_RANGES) {
      ps.setString(p++, q.collection());
      ps.setString(p++, q.index());
      ps.setString(p++, q.untilKey());
      ps.setString(p++, q.afterKey() + " "); // every key greater than afterKey is at least this (IndexPageStart)
      ps.setInt(p++, q.limit());
      ps.setInt(p++, q.limit());
    }
    return p;
  }

  /**
   * Several index queries: in one statement and one round trip (see {@link SqlText#scanIndexes}), or where the
   * database runs in the JVM one after the other in one transaction ({@link Dialect#indexScansTogether}).
   */
  List<List<IndexHit>> scanIndexes(List<IndexQuery> qs) {
    if (qs.size() == 1) {
      return List.of(scanIndex(qs.get(0)));
    }
    if (sql.indexScansTogether == Dialect.IndexScansTogether.ONE_BY_ONE) {
      return transactions.read("scanIndexes", a -> {
        try (PreparedStatement ps = a.connection.prepareStatement(sql.scanIndex)) {
          List<List<IndexHit>> out = new ArrayList<>(qs.size());
          for (IndexQuery q : qs) {
            out.add(scan(ps, q));
          }
          return out;
        }
      });
    }
    return transactions.read("scanIndexes", a -> {
      try (PreparedStatement ps = a.connection.prepareStatement(sql.scanIndexes(qs.size()))) {
        int p = 1;
        for (IndexQuery q : qs) {
          p = bindScan(ps, p, q);
        }
        List<List<IndexHit>> out = new ArrayList<>(qs.size());
        qs.forEach(q -> out.add(new ArrayList<>()));
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            int q = rs.getInt(1);
            out.get(q).add(hit(rs, 2, qs.get(q).collection()));
          }
        }
        return out;
      }
    });
  }

  /**
   * Events after a position in id order: where commits run in parallel, {@link EventHorizon#read}; where they are
   * serialized, a range scan cut at the first missing id. Serialized commits take their ids in order under one lock
   * and a rolled-back commit takes none, so the ids are dense; but a statement's view of the committed rows need not
   * be a prefix of them: on MariaDB a read view is not taken at one instant (it collects the active transactions from
   * a hash one at a time), so a read overlapping two quick commits can see the second and not the first (found in
   * review: readers stepped over events that were in the log later). A missing id below a visible one is therefore a
   * commit still becoming visible: the read stops before it, and reads once more at once, since by then it has
   * almost always become visible.
   */
  List<StoredEvent> readEvents(long afterId, int limit) {
    if (horizon.isPresent()) {
      return transactions.read("readEvents", a -> horizon.get().read(a.connection, afterId, limit));
    }
    return transactions.read("readEvents", a -> {
      List<StoredEvent> out = new ArrayList<>();
      if (readDense(a.connection, afterId, limit, out)) {
        long last = out.isEmpty() ? afterId : out.get(out.size() - 1).id();
        readDense(a.connection, last, limit - out.size(), out); // once: the caller reads again later anyway
      }
      return out;
    });
  }

  /**
   * Reads up to {@code limit} events after {@code afterId} into {@code out}, stopping before the first id that does
   * not follow the one before it.
   *
   * @return whether it stopped at such a gap (more events may be there)
   */
  private boolean readDense(Connection c, long afterId, int limit, List<StoredEvent> out) throws SQLException {
    if (limit <= 0) {
      return false;
    }
    try (PreparedStatement ps = c.prepareStatement(sql.readEvents)) {
      ps.setLong(1, afterId);
      ps.setInt(2, limit);
      long expected = afterId + 1;
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          long id = rs.getLong(1);
          if (id != expected) {
            return true;
          }
          out.add(new StoredEvent(id, DatabaseClock.instant(rs.getLong(2)), rs.getString(3), rs.getString(4),
              rs.getString(5), rs.getString(6)));
          expected++;
        }
      }
    }
    return false;
  }

  /** @return the last event {@link #readEvents} can return now, 0 if none */
  long lastEventId() {
    if (horizon.isPresent()) {
      return transactions.read("lastEventId", a -> horizon.get().last(a.connection));
    }
    return transactions.read("lastEventId", a -> {
      try (Statement s = a.connection.createStatement(); ResultSet rs = s.executeQuery(sql.lastEventId)) {
        return rs.next() ? rs.getLong(1) : 0L;
      }
    });
  }

  /**
   * Selects {@code collection, id, revision[, hash, value_json]} of up to {@value #KEY_CHUNK} keys.
   *
   * @param c the connection
   * @param keys the keys
   * @param columns which columns
   * @param handler receives each row found
   * @throws SQLException if the query fails
   */
  void select(Connection c, List<RecordKey> keys, SqlText.Columns columns, RowHandler handler) throws SQLException {
    if (keys.isEmpty()) {
      return;
    }
    try (PreparedStatement ps = c.prepareStatement(sql.selectRecords(keys.size(), columns))) {
      bindKeys(ps, 1, keys);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          handler.accept(new RecordKey(rs.getString(1), rs.getString(2)), rs);
        }
      }
    }
  }

  /**
   * @param c the connection
   * @param key a key
   * @return its record's revision, or {@link Expectation#ABSENT}
   * @throws SQLException if the query fails
   */
  long currentRevision(Connection c, RecordKey key) throws SQLException {
    long[] revision = {Expectation.ABSENT};
    select(c, List.of(key), SqlText.Columns.REVISION, (k, rs) -> revision[0] = rs.getLong(3));
    return revision[0];
  }

  /**
   * Binds keys as {@code collection, id} pairs.
   *
   * @param ps the statement
   * @param first the first parameter's index
   * @param keys the keys
   * @throws SQLException if binding fails
   */
  static void bindKeys(PreparedStatement ps, int first, List<RecordKey> keys) throws SQLException {
    int p = first;
    for (RecordKey k : keys) {
      ps.setString(p++, k.collection());
      ps.setString(p++, k.id());
    }
  }
}
