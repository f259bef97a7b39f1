package io.kyros.collab.jdbc;

import io.kyros.collab.spi.IndexEntry;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Write;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * A commit's changes to the index table ({@code collab_index}, one row per entry:
 * {@code collection, index_name, index_key, record_id}), made in the commit's transaction after its record writes:
 * first the entries of every written record are deleted, then the puts' entries are inserted. So a put replaces its
 * record's entries and a delete removes them, atomically with the value (a scan joins the records, so it never
 * returns an entry without the value committed with it).
 *
 * <p>A create-only insert (a write expecting the record absent) deletes nothing: an absent record has no entries,
 * since every delete removes them in its own transaction. The record writes come first so that, where commits on
 * different records run in parallel, a write's row lock on its record orders the index changes of two commits on the
 * same record: the second deletes what the first inserted. The unique key {@code (collection, record_id,
 * index_name)} refuses a second entry of one record in one index, should that order ever break.
 *
 * <p>Immutable; not for sharing between commits.
 */
final class IndexWrites {
  /** The parameters of one record's key in {@link SqlText#deleteIndexEntries}. */
  static final int KEY_PARAMETERS = 2;
  /** The parameters of one entry in {@link SqlText#insertIndexEntries}. */
  static final int ROW_PARAMETERS = 4;
  /** The most entries one insert carries where statements are sent one at a time. */
  static final int ROWS_PER_INSERT = 100;

  /** One entry to insert: the record and its entry. */
  record Row(RecordKey key, IndexEntry entry) {}

  /** The records whose entries are deleted, in write order. */
  final List<RecordKey> cleared;
  /** The entries inserted, in write order. */
  final List<Row> rows;

  private IndexWrites(List<RecordKey> cleared, List<Row> rows) {
    this.cleared = cleared;
    this.rows = rows;
  }

  /**
   * @param writes a commit's writes, each key once
   * @return the index changes they make
   */
  static IndexWrites of(List<WriteStatement> writes) {
    List<RecordKey> cleared = new ArrayList<>();
    List<Row> rows = new ArrayList<>();
    for (WriteStatement w : writes) {
      Write write = w.write;
      if (w.check != WriteStatement.Check.ABSENT) {
        cleared.add(write.key());
      }
      for (IndexEntry e : write.index()) {
        rows.add(new Row(write.key(), e));
      }
    }
    return new IndexWrites(List.copyOf(cleared), List.copyOf(rows));
  }

  /**
   * @param writes a commit's writes, each key once
   * @param created whether a write is a create-only insert (its record expected absent): it has no entries to clear
   * @return the index changes they make: every written record's entries replaced by the write's
   */
  static IndexWrites replacing(List<Write> writes, Predicate<Write> created) {
    List<RecordKey> cleared = new ArrayList<>(writes.size());
    List<Row> rows = new ArrayList<>();
    for (Write w : writes) {
      if (!created.test(w)) {
        cleared.add(w.key());
      }
      for (IndexEntry e : w.index()) {
        rows.add(new Row(w.key(), e));
      }
    }
    return new IndexWrites(List.copyOf(cleared), List.copyOf(rows));
  }

  /**
   * The records whose entries are deleted, as PostgreSQL's deletes take them ({@link InlineCommit}): each delete's
   * records are of distinct collections (see {@link SqlText#deleteIndexEntries}), so a commit makes as many deletes as
   * it clears records of its most cleared collection (a completion, task and claim lease: one; a claim of 4 tasks: 4).
   * The other databases do not pull a common clause out of an OR that way: {@link #apply} deletes up to {@value
   * Queries#KEY_CHUNK} records of any collections per statement.
   *
   * @return the records of each delete, at most {@value Queries#KEY_CHUNK} each, in the order given within each
   */
  List<List<RecordKey>> deletes() {
    List<List<RecordKey>> out = new ArrayList<>();
    Map<String, Integer> seen = new HashMap<>();
    for (RecordKey key : cleared) {
      int delete = seen.merge(key.collection(), 1, Integer::sum) - 1; // the delete holding no record of its collection
      while (out.size() <= delete) {
        out.add(new ArrayList<>());
      }
      out.get(delete).add(key);
    }
    List<List<RecordKey>> chunked = new ArrayList<>(out.size());
    for (List<RecordKey> keys : out) {
      chunked.addAll(chunks(keys, Queries.KEY_CHUNK));
    }
    return chunked;
  }

  /**
   * Binds records' keys as {@code collection, record_id} pairs.
   *
   * @return the next parameter's index
   */
  static int bindKeys(PreparedStatement ps, int first, List<RecordKey> keys) throws SQLException {
    Queries.bindKeys(ps, first, keys);
    return first + keys.size() * KEY_PARAMETERS;
  }

  /**
   * Binds entries as {@code collection, index_name, index_key, record_id}.
   *
   * @return the next parameter's index
   */
  static int bindRows(PreparedStatement ps, int first, List<Row> rows) throws SQLException {
    int p = first;
    for (Row r : rows) {
      ps.setString(p++, r.key().collection());
      ps.setString(p++, r.entry().index());
      ps.setString(p++, r.entry().key());
      ps.setString(p++, r.key().id());
    }
    return p;
  }

  /**
   * Runs the deletes, one statement per {@value Queries#KEY_CHUNK} records (or per record, as one batch, where the
   * dialect says {@link Dialect.EntryDeletes#ONE_RECORD_PER_STATEMENT}), then the inserts, one per {@value
   * #ROWS_PER_INSERT} entries, one statement at a time (MariaDB, H2, SQLite).
   *
   * @param c the commit's connection
   * @param sql the storage's statements
   * @throws SQLException if a statement fails
   */
  void apply(Connection c, SqlText sql) throws SQLException {
    if (sql.entryDeletes == Dialect.EntryDeletes.ONE_RECORD_PER_STATEMENT) {
      if (!cleared.isEmpty()) {
        try (PreparedStatement ps = c.prepareStatement(sql.deleteIndexEntries(1))) {
          for (RecordKey key : cleared) {
            bindKeys(ps, 1, List.of(key));
            ps.addBatch();
          }
          ps.executeBatch();
        }
      }
    } else {
      for (List<RecordKey> chunk : chunks(cleared, Queries.KEY_CHUNK)) {
        try (PreparedStatement ps = c.prepareStatement(sql.deleteIndexEntries(chunk.size()))) {
          bindKeys(ps, 1, chunk);
          ps.executeUpdate();
        }
      }
    }
    for (List<Row> chunk : chunks(rows, ROWS_PER_INSERT)) {
      try (PreparedStatement ps = c.prepareStatement(sql.insertIndexEntries(chunk.size()))) {
        bindRows(ps, 1, chunk);
        ps.executeUpdate();
      }
    }
  }

  /**
   * @param items a list
   * @param size the most items per chunk, at least 1
   * @return consecutive views of at most {@code size} items each, none empty
   */
  static <T> List<List<T>> chunks(List<T> items, int size) {
    List<List<T>> out = new ArrayList<>();
    for (int from = 0; from < items.size(); from += size) {
      out.add(items.subList(from, Math.min(items.size(), from + size)));
    }
    return out;
  }
}
