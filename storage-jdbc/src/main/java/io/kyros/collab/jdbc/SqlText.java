package io.kyros.collab.jdbc;

import java.util.Optional;

/**
 * The statements of one storage, built once from its tables and its dialect: what is the same on every database is
 * written here, what differs comes from the {@link Dialect}.
 *
 * <p>Immutable and thread-safe.
 */
final class SqlText {
  /** Which columns a query of records by key returns, after {@code collection, id, revision}. */
  enum Columns {
    /** Only {@code collection, id, revision}: for checking expectations. */
    REVISION,
    /** Also {@code hash, value_json}: the whole record. */
    RECORD
  }

  final String[] lockCounters;
  final String readRecord;
  final String listRecords;
  final String upsert;
  final String insertIfAbsent;
  final String updateIfRevision;
  final String delete;
  final String deleteIfRevision;
  final String insertEvent;
  final String updateCounters;
  final String readEvents;
  final String lastEventId;
  /** The statement notifying other nodes of committed events, if the dialect has one. */
  final Optional<String> notifyEvents;
  private final Tables tables;

  SqlText(Tables t, Dialect d) {
    tables = t;
    lockCounters = d.lockCounters(t);
    readRecord = "SELECT revision, hash, value_json FROM " + t.records() + " WHERE collection = ? AND id = ?";
    listRecords = "SELECT id, revision, hash, value_json FROM " + t.records()
        + " WHERE collection = ? AND id > ? ORDER BY id LIMIT ?";
    upsert = d.upsert(t);
    insertIfAbsent = d.insertIfAbsent(t);
    updateIfRevision = "UPDATE " + t.records() + " SET revision = ?, hash = ?, value_json = ?"
        + " WHERE collection = ? AND id = ? AND revision = ?";
    delete = "DELETE FROM " + t.records() + " WHERE collection = ? AND id = ?";
    deleteIfRevision = delete + " AND revision = ?";
    insertEvent = "INSERT INTO " + t.events() + " (id, ts_micros, event_type, actor, target, details)"
        + " VALUES (?, ?, ?, ?, ?, ?)";
    updateCounters = "UPDATE " + t.meta() + " SET last_revision = ?, last_event_id = ? WHERE id = 1";
    readEvents = "SELECT id, ts_micros, event_type, actor, target, details FROM " + t.events()
        + " WHERE id > ? ORDER BY id LIMIT ?";
    lastEventId = "SELECT COALESCE(MAX(id), 0) FROM " + t.events();
    notifyEvents = d.supportsNotify() ? Optional.of(d.notifyEvents(t)) : Optional.empty();
  }

  /**
   * @param n how many keys, at least 1
   * @param columns which columns to return
   * @return the query selecting {@code collection, id, revision[, hash, value_json]} of {@code n} keys, bound as
   *     {@code collection, id} pairs
   */
  String selectRecords(int n, Columns columns) {
    StringBuilder q = new StringBuilder("SELECT collection, id, revision")
        .append(columns == Columns.RECORD ? ", hash, value_json" : "").append(" FROM ").append(tables.records())
        .append(" WHERE ");
    for (int i = 0; i < n; i++) {
      q.append(i == 0 ? "" : " OR ").append("(collection = ? AND id = ?)");
    }
    return q.toString();
  }

  /**
   * @param rows how many events, at least 1
   * @return one insert of {@code rows} events, six parameters each, in {@link #insertEvent}'s column order
   */
  String insertEvents(int rows) {
    return insertEvent + ", (?, ?, ?, ?, ?, ?)".repeat(rows - 1);
  }
}
