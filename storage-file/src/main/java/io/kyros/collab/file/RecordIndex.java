package io.kyros.collab.file;

import io.kyros.collab.spi.IndexEntry;
import io.kyros.collab.spi.IndexQuery;
import io.kyros.collab.spi.RecordKey;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.TreeMap;

/**
 * The secondary indexes of one store in memory: for each (collection, index name) a sorted map from
 * (key, record id) to the revision of the record's value that carries the entry, and for each
 * indexed record its entries now, so a put replaces them and a delete removes them. The truth is on
 * disk with the records (documents and journal writes): {@link IndexFollower} builds and follows this
 * from them, and {@link SavedIndex} keeps a copy of it as a cache.
 *
 * <p>Positions are one string, {@code key + '\0' + id}: keys and ids are printable ASCII and
 * {@code '\0'} sorts below every printable character, so {@link String#compareTo} on it orders by key,
 * then id, byte-wise, as {@link io.kyros.collab.spi.Storage#scanIndex} requires.
 *
 * <p>Memory: one entry costs its position string (about 56 bytes plus the key and id lengths), a
 * {@link TreeMap} node (40 bytes), a boxed revision (16) and two slots of its record's array (8):
 * about 120 bytes plus key and id; an indexed record adds a {@link HashMap} node, its key and id
 * strings and its entry array, about 130 bytes plus its id. Records without entries cost nothing.
 * Measured (100,000 records, 20-character ids, 30-character keys, heap after GC on Java 17 with
 * compressed pointers): 330, 475 and 619 bytes per record with one, two and three entries, so 100,000
 * tasks with two entries take about 48 MB. Index and collection names are shared, one string per name.
 *
 * <p>Not thread-safe: the store changes it under the write side of its visibility lock and scans it
 * under the read side.
 */
final class RecordIndex {
  private static final char SEPARATOR = '\0';

  /** collection, then index name, then position, to revision. */
  private final Map<String, Map<String, TreeMap<String, Long>>> entries = new HashMap<>();
  /** Each indexed record's entries: index name, position, index name, position, ... */
  private final Map<RecordKey, String[]> byRecord = new HashMap<>();
  /** One string per collection and index name. */
  private final Map<String, String> names = new HashMap<>();
  /**
   * Records whose document was damaged when the index was built (or when a saved index's were read again): the index
   * lacks their entries until a write of the record (a put or a delete) comes through it, which replaces what it had.
   */
  private final Set<RecordKey> passedOver = new HashSet<>();
  private long size;

  /** A scanned entry: the record's key in the index, its id and the revision that carries the entry. */
  record Candidate(String key, String id, long revision) {}

  /** What {@link #forEachRecord} hands over for each indexed record. */
  @FunctionalInterface
  interface RecordVisitor {
    /**
     * @param key the record
     * @param revision the revision of its value that carries the entries
     * @param entries its entries, in the order they were put
     */
    void visit(RecordKey key, long revision, List<IndexEntry> entries);
  }

  /** Sets a record's entries (a put), replacing those it had. */
  void put(RecordKey key, long revision, List<IndexEntry> index) {
    remove(key);
    if (index.isEmpty()) {
      return;
    }
    String collection = name(key.collection());
    Map<String, TreeMap<String, Long>> indexes = entries.computeIfAbsent(collection, c -> new HashMap<>());
    String[] mine = new String[index.size() * 2];
    Long boxed = revision;
    for (int i = 0; i < index.size(); i++) {
      IndexEntry e = index.get(i);
      String name = name(e.index());
      String position = e.key() + SEPARATOR + key.id();
      indexes.computeIfAbsent(name, n -> new TreeMap<>()).put(position, boxed);
      mine[2 * i] = name;
      mine[2 * i + 1] = position;
      size++;
    }
    byRecord.put(new RecordKey(collection, key.id()), mine);
  }

  /**
   * Notes a record whose document is damaged: the index lacks its entries until the record is written.
   *
   * @param key the record
   */
  void passOver(RecordKey key) {
    remove(key);
    passedOver.add(key);
  }

  /** @return the records passed over as damaged and not written since, in no particular order (a copy) */
  List<RecordKey> passedOver() {
    return List.copyOf(passedOver);
  }

  /** Removes a record's entries (a delete, or before a put); it is no longer passed over. */
  void remove(RecordKey key) {
    passedOver.remove(key);
    String[] old = byRecord.remove(key);
    if (old == null) {
      return;
    }
    Map<String, TreeMap<String, Long>> indexes = entries.get(key.collection());
    for (int i = 0; i < old.length; i += 2) {
      TreeMap<String, Long> index = indexes.get(old[i]);
      index.remove(old[i + 1]);
      size--;
      if (index.isEmpty()) {
        indexes.remove(old[i]);
      }
    }
    if (indexes.isEmpty()) {
      entries.remove(key.collection());
    }
  }

  /**
   * @param query which index, from where, up to which key
   * @param max the most candidates to return
   * @return the entries after the query's position, up to its bound, in (key, id) order
   */
  List<Candidate> scan(IndexQuery query, int max) {
    Map<String, TreeMap<String, Long>> indexes = entries.get(query.collection());
    TreeMap<String, Long> index = indexes == null ? null : indexes.get(query.index());
    if (index == null) {
      return List.of();
    }
    NavigableMap<String, Long> tail = index.tailMap(query.afterKey() + SEPARATOR + query.afterId(), false);
    List<Candidate> out = new ArrayList<>(Math.min(max, 64));
    for (Map.Entry<String, Long> e : tail.entrySet()) {
      if (out.size() == max) {
        break;
      }
      String position = e.getKey();
      int cut = position.indexOf(SEPARATOR);
      String key = position.substring(0, cut);
      if (key.compareTo(query.untilKey()) > 0) {
        break;
      }
      out.add(new Candidate(key, position.substring(cut + 1), e.getValue()));
    }
    return out;
  }

  /** @return the number of entries */
  long size() {
    return size;
  }

  /** @return the number of records with entries */
  int records() {
    return byRecord.size();
  }

  /**
   * Visits every record that has entries, in no particular order ({@link SavedIndex} writes them).
   *
   * @param visitor what to call for each
   */
  void forEachRecord(RecordVisitor visitor) {
    byRecord.forEach((key, mine) -> {
      Map<String, TreeMap<String, Long>> indexes = entries.get(key.collection());
      List<IndexEntry> list = new ArrayList<>(mine.length / 2);
      long revision = indexes.get(mine[0]).get(mine[1]);
      for (int i = 0; i < mine.length; i += 2) {
        String position = mine[i + 1];
        list.add(new IndexEntry(mine[i], position.substring(0, position.indexOf(SEPARATOR))));
      }
      visitor.visit(key, revision, list);
    });
  }

  /**
   * @return every entry, as collection, index name, then (key, id) to revision: what a test
   *     compares with a full scan of the documents
   */
  Map<String, Map<String, Map<String, Long>>> snapshot() {
    Map<String, Map<String, Map<String, Long>>> out = new TreeMap<>();
    entries.forEach((c, indexes) -> indexes.forEach((name, index) -> index.forEach((position, revision) ->
        out.computeIfAbsent(c, x -> new TreeMap<>()).computeIfAbsent(name, x -> new TreeMap<>())
            .put(position.replace(SEPARATOR, ' '), revision))));
    return out;
  }

  private String name(String name) {
    String shared = names.putIfAbsent(name, name);
    return shared == null ? name : shared;
  }
}
