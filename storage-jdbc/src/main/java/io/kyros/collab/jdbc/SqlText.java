package io.kyros.collab.jdbc;

import java.util.Collections;

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
  /**
   * One page of an index with its records, in (key, record id) order: bound as {@link Queries} binds it for the
   * dialect's {@link #indexPageStart}: collection, index name, greatest key, the start position (row value: key,
   * record id; OR form: key, key, record id), limit; for two ranges, collection, index name, greatest key, key,
   * record id, limit, then collection, index name, greatest key, the key followed by a space, limit, and the limit.
   */
  final String scanIndex;
  /** How {@link #scanIndex} states its start position ({@link Dialect#indexPageStart}). */
  final Dialect.IndexPageStart indexPageStart;
  /** {@link #scanIndex} without its SELECT list, from FROM to the end. */
  private final String scanIndexBody;
  /** A page of index entries without its SELECT list: the index table, then from {@code WHERE} to {@code LIMIT}. */
  private final String entryPage;
  /** How several index queries are answered ({@link Dialect#indexScansTogether}). */
  final Dialect.IndexScansTogether indexScansTogether;
  private final Tables tables;
  /** The index table as a delete of records' entries names it ({@link Dialect#indexTableForRecordEntries}). */
  private final String indexForRecordEntries;
  /** How a commit deletes the entries of the records it writes ({@link Dialect#entryDeletes}). */
  final Dialect.EntryDeletes entryDeletes;

  SqlText(Tables t, Dialect d) {
    tables = t;
    lockCounters = d.lockCounters(t);
    readRecord = "SELECT revision, hash, value_json FROM " + t.records() + " WHERE collection = ? AND id = ?";
    boolean wholeKey = d.pagesOrderedByWholeKey();
    listRecords = "SELECT id, revision, hash, value_json FROM " + t.records()
        + " WHERE collection = ? AND id > ? ORDER BY " + (wholeKey ? "collection, id" : "id") + " LIMIT ?";
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
    indexPageStart = d.indexPageStart();
    indexScansTogether = d.indexScansTogether();
    if (indexPageStart == Dialect.IndexPageStart.TWO_RANGES
        && (indexScansTogether != Dialect.IndexScansTogether.ONE_BY_ONE || d.lateralIndexPages()
            || d.entryPagesFirst())) {
      throw new IllegalStateException("index pages of two ranges are their own form, answered one by one: not with "
          + indexScansTogether + ", lateral pages " + d.lateralIndexPages() + ", entry pages first "
          + d.entryPagesFirst());
    }
    String bounds = " WHERE i.collection = ? AND i.index_name = ? AND i.index_key <= ? AND ";
    String order = " ORDER BY " + (wholeKey ? "i.collection, i.index_name, " : "") + "i.index_key, i.record_id LIMIT ?";
    String page = bounds + (indexPageStart == Dialect.IndexPageStart.ROW_VALUE ? "(i.index_key, i.record_id) > (?, ?)"
        : "(i.index_key > ? OR (i.index_key = ? AND i.record_id > ?))") + order;
    entryPage = " FROM " + t.index() + " i" + page;
    if (indexPageStart == Dialect.IndexPageStart.TWO_RANGES) {
      // the rest of the position's key, then the keys after it, each its own page (Dialect.IndexPageStart)
      String entries = "SELECT * FROM (SELECT i.collection, i.index_key, i.record_id FROM " + t.index() + " i" + bounds;
      scanIndexBody = " FROM (" + entries + "i.index_key = ? AND i.record_id > ?" + order + ") a UNION ALL " + entries
          + "i.index_key >= ?" + order + ") b) i JOIN " + t.records()
          + " r ON r.collection = i.collection AND r.id = i.record_id ORDER BY i.index_key, i.record_id LIMIT ?";
    } else if (d.lateralIndexPages()) {
      // the page first, then one primary-key lookup per entry (Dialect.lateralIndexPages); the lookup's LIMIT 1 (the
      // key is unique) keeps PostgreSQL from flattening it into a plain join, which it may then plan differently
      scanIndexBody = " FROM (SELECT i.collection, i.index_key, i.record_id" + entryPage
          + ") i CROSS JOIN LATERAL (SELECT id, revision, hash, value_json FROM " + t.records()
          + " WHERE collection = i.collection AND id = i.record_id LIMIT 1) r ORDER BY i.index_key, i.record_id";
    } else if (d.entryPagesFirst()) {
      // the page of entries first, then its records (Dialect.entryPagesFirst)
      scanIndexBody = " FROM (SELECT i.collection, i.index_key, i.record_id" + entryPage + ") i JOIN " + t.records()
          + " r ON r.collection = i.collection AND r.id = i.record_id ORDER BY i.index_key, i.record_id";
    } else {
      scanIndexBody = " FROM " + t.index() + " i JOIN " + t.records()
          + " r ON r.collection = i.collection AND r.id = i.record_id" + page;
    }
    scanIndex = "SELECT i.index_key, r.id, r.revision, r.hash, r.value_json" + scanIndexBody;
    indexForRecordEntries = d.indexTableForRecordEntries(t);
    entryDeletes = d.entryDeletes();
  }

  /**
   * Several {@link #scanIndex} queries in one statement: each a derived table (so each keeps its own ORDER BY and
   * LIMIT) tagged with its position, their UNION ALL ordered by (position, key, record id). Returns
   * {@code q, index_key, id, revision, hash, value_json}; bound as {@link #scanIndex} is, once per query, in order.
   * Where the dialect says {@link Dialect.IndexScansTogether#RECORDS_JOINED_TO_UNITED_PAGES}, the derived tables hold
   * index entries only and the records are joined to their union once.
   *
   * @param n how many queries, at least 2
   * @return the statement
   */
  String scanIndexes(int n) {
    boolean recordsJoinedToUnitedPages =
        indexScansTogether == Dialect.IndexScansTogether.RECORDS_JOINED_TO_UNITED_PAGES;
    StringBuilder b = new StringBuilder();
    if (recordsJoinedToUnitedPages) {
      b.append("SELECT u.q, u.index_key, r.id, r.revision, r.hash, r.value_json FROM (");
    }
    for (int q = 0; q < n; q++) {
      if (q > 0) {
        b.append(" UNION ALL ");
      }
      if (recordsJoinedToUnitedPages) {
        b.append("SELECT * FROM (SELECT ").append(q).append(" AS q, i.collection AS collection,")
            .append(" i.index_key AS index_key, i.record_id AS record_id").append(entryPage).append(") s").append(q);
      } else {
        b.append("SELECT * FROM (SELECT ").append(q).append(" AS q, i.index_key AS index_key, r.id AS id,")
            .append(" r.revision AS revision, r.hash AS hash, r.value_json AS value_json").append(scanIndexBody)
            .append(") s").append(q);
      }
    }
    if (recordsJoinedToUnitedPages) {
      b.append(") u JOIN ").append(tables.records()).append(" r ON r.collection = u.collection AND r.id = u.record_id");
    }
    return b.append(" ORDER BY 1, 2, 3").toString();
  }

  /**
   * One {@code SELECT ... WHERE collection = ? AND id = ?} per key, joined by {@code UNION ALL}: each is planned on
   * its own as a primary-key lookup. Not one condition {@code (collection = ? AND id = ?) OR ...}: PostgreSQL pulls the
   * clause common to every arm out of such an OR, so keys of one collection read {@code collection = ? AND (id = ? OR
   * ...)}, and without statistics on the table (autovacuum off, or a table it has not analyzed yet) it planned that as
   * a scan of the collection's whole range of the key, filtering the ids: a cost that grows with the collection. An
   * {@code IN} list fared no better: its {@code id = ANY(...)} was left as a filter on the same scan.
   *
   * @param n how many keys, at least 1
   * @param columns which columns to return
   * @return the query selecting {@code collection, id, revision[, hash, value_json]} of {@code n} keys, bound as
   *     {@code collection, id} pairs
   */
  String selectRecords(int n, Columns columns) {
    String one = "SELECT collection, id, revision" + (columns == Columns.RECORD ? ", hash, value_json" : "") + " FROM "
        + tables.records() + " WHERE collection = ? AND id = ?";
    return String.join(" UNION ALL ", Collections.nCopies(n, one));
  }

  /**
   * The delete of the index entries of {@code n} records. On PostgreSQL the records are of distinct collections
   * ({@link IndexWrites#deletes}), never several of one: PostgreSQL would pull their collection out of the OR, as
   * {@link #selectRecords} explains (a claim commit's delete of the entries of 4 tasks read every task's entries:
   * about 290 buffers and 0.67 ms among 500 tasks). With a collection per arm no clause is common to all arms, and each
   * is planned as a lookup by the whole key.
   *
   * @param n how many records, at least 1
   * @return the delete of every index entry of {@code n} records, bound as {@code collection, id} pairs
   */
  String deleteIndexEntries(int n) {
    return "DELETE FROM " + indexForRecordEntries + " WHERE " + entriesOf(n);
  }

  /**
   * @param rows how many entries, at least 1
   * @return one insert of {@code rows} index entries, bound as {@code collection, index_name, index_key, record_id}
   */
  String insertIndexEntries(int rows) {
    return "INSERT INTO " + tables.index() + " (collection, index_name, index_key, record_id) VALUES (?, ?, ?, ?)"
        + ", (?, ?, ?, ?)".repeat(rows - 1);
  }

  /**
   * {@link #deleteIndexEntries} that deletes only if {@code guard} holds.
   *
   * @param n how many records, of distinct collections, at least 1
   * @param guard a condition without parameters
   * @return the statement
   */
  String deleteIndexEntriesIf(int n, String guard) {
    return "DELETE FROM " + indexForRecordEntries + " WHERE (" + entriesOf(n) + ") AND " + guard;
  }

  /** {@code (collection = ? AND record_id = ?) OR ...}, {@code n} times: the index entries of {@code n} records. */
  private static String entriesOf(int n) {
    return String.join(" OR ", Collections.nCopies(n, "(collection = ? AND record_id = ?)"));
  }

  /**
   * {@link #insertIndexEntries} that inserts only if {@code guard} holds.
   *
   * @param rows how many entries, at least 1
   * @param guard a condition without parameters
   * @return the statement
   */
  String insertIndexEntriesIf(int rows, String guard) {
    return "INSERT INTO " + tables.index() + " (collection, index_name, index_key, record_id) SELECT * FROM (VALUES"
        + " (?, ?, ?, ?)" + ", (?, ?, ?, ?)".repeat(rows - 1) + ") AS v WHERE " + guard;
  }

  /**
   * @param rows how many events, at least 1
   * @return one insert of {@code rows} events, six parameters each, in {@link #insertEvent}'s column order
   */
  String insertEvents(int rows) {
    return insertEvent + ", (?, ?, ?, ?, ?, ?)".repeat(rows - 1);
  }
}
