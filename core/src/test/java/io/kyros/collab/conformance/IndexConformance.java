package io.kyros.collab.conformance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.IndexEntry;
import io.kyros.collab.spi.IndexHit;
import io.kyros.collab.spi.IndexQuery;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredRecord;
import io.kyros.collab.spi.Write;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * The secondary-index primitives ({@link io.kyros.collab.spi.Storage#scanIndex}) of a backend whose
 * {@link io.kyros.collab.spi.Storage#indexes()} is true; skipped otherwise. Entries are ordered by key
 * then record id, byte-wise; pages continue strictly after a position and stop at an inclusive bound; a
 * put replaces a record's entries and a delete removes them, atomically with the value; a conflicting
 * commit changes none; a scan sees only its own collection and index name.
 */
public abstract class IndexConformance extends SpiConformance {
  private static final String C = "ix";

  /** Skips an index test on a backend without indexes (a method, not a @BeforeEach: that would skip every subclass test). */
  private void requireIndexes() {
    assumeTrue(storage.indexes(), "the backend keeps no indexes");
  }

  private static RecordKey key(String id) {
    return new RecordKey(C, id);
  }

  private static Write put(RecordKey key, IndexEntry... entries) {
    return Write.put(key, "{\"id\":\"" + key.id() + "\"}", "h-" + key.id(), List.of(entries));
  }

  private CommitResult commit(List<Expectation> expectations, Write... writes) {
    return storage.commit(Commit.of(expectations, List.of(writes), List.of(new NewEvent("ix", "tester", "t", "{}"))));
  }

  private void commitAll(Write... writes) {
    assertThat(commit(List.of(), writes)).isInstanceOf(CommitResult.Committed.class);
  }

  private List<String> scan(IndexQuery q) {
    return storage.scanIndex(q).stream().map(h -> h.key() + "/" + h.record().key().id()).toList();
  }

  /** Every hit of a whole index, read page by page. */
  private List<IndexHit> scanAll(String collection, String index, int page) {
    List<IndexHit> out = new ArrayList<>();
    IndexQuery q = IndexQuery.first(collection, index, page);
    while (true) {
      List<IndexHit> hits = storage.scanIndex(q);
      assertThat(hits.size()).isLessThanOrEqualTo(page);
      out.addAll(hits);
      if (hits.size() < page) {
        return out;
      }
      q = q.after(hits.get(hits.size() - 1));
    }
  }

  @Test
  void index_ordersByKeyThenIdByteWise() {
    requireIndexes();
    commitAll(
        put(key("r1"), new IndexEntry("x", "a")),
        put(key("r2"), new IndexEntry("x", "B")),
        put(key("r3"), new IndexEntry("x", "10")),
        put(key("r4"), new IndexEntry("x", "9")),
        put(key("r5"), new IndexEntry("x", "a")),
        put(key("r0"), new IndexEntry("x", "a")),
        put(key("r6"), new IndexEntry("x", "_")),
        put(key("r7"), new IndexEntry("x", "a~")),
        put(key("r8"), new IndexEntry("x", "Z")));
    // byte-wise: digits < upper case < '_' < lower case; "10" < "9"; "a" < "a~"
    assertThat(scan(IndexQuery.first(C, "x", 100)))
        .containsExactly("10/r3", "9/r4", "B/r2", "Z/r8", "_/r6", "a/r0", "a/r1", "a/r5", "a~/r7");
  }

  @Test
  void index_severalScansAtOnceAnswerEachAsAScanWould() {
    requireIndexes();
    commitAll(
        put(key("r1"), new IndexEntry("x", "a"), new IndexEntry("y", "5")),
        put(key("r2"), new IndexEntry("x", "b")),
        put(key("r3"), new IndexEntry("x", "b"), new IndexEntry("y", "1")),
        put(new RecordKey("ix2", "r1"), new IndexEntry("x", "a")));
    List<IndexQuery> queries = List.of(
        IndexQuery.first(C, "x", 2),
        IndexQuery.first(C, "y", 10),
        IndexQuery.first(C, "none", 10),
        IndexQuery.first(C, "x", 10).until("a"),
        IndexQuery.first("ix2", "x", 10),
        IndexQuery.first(C, "x", 1));
    List<List<IndexHit>> together = storage.scanIndexes(queries);
    assertThat(together).hasSize(queries.size());
    for (int i = 0; i < queries.size(); i++) {
      assertThat(together.get(i)).as("query %s", i).isEqualTo(storage.scanIndex(queries.get(i)));
    }
    assertThat(together.get(0)).extracting(h -> h.key() + "/" + h.record().key().id()).containsExactly("a/r1", "b/r2");
    assertThat(together.get(1)).extracting(h -> h.record().key().id()).containsExactly("r3", "r1");
    assertThat(together.get(2)).isEmpty();
    assertThat(together.get(4)).extracting(h -> h.record().key().collection()).containsExactly("ix2");
    assertThat(storage.scanIndexes(List.of())).isEmpty();
    assertThat(storage.scanIndexes(List.of(IndexQuery.first(C, "y", 1)))).containsExactly(together.get(1).subList(0, 1));
  }

  @Test
  void index_idsTieBreakByteWise() {
    requireIndexes();
    commitAll(
        put(key("b"), new IndexEntry("x", "k")),
        put(key("B"), new IndexEntry("x", "k")),
        put(key("a-1"), new IndexEntry("x", "k")),
        put(key("a.1"), new IndexEntry("x", "k")),
        put(key("a_1"), new IndexEntry("x", "k")));
    assertThat(scan(IndexQuery.first(C, "x", 100))).containsExactly("k/B", "k/a-1", "k/a.1", "k/a_1", "k/b");
  }

  @Test
  void index_pagesContinueStrictlyAfterThePosition() {
    requireIndexes();
    for (int i = 0; i < 10; i++) {
      commitAll(put(key("r" + i), new IndexEntry("x", i < 5 ? "k1" : "k2")));
    }
    IndexQuery q = IndexQuery.first(C, "x", 3);
    List<IndexHit> first = storage.scanIndex(q);
    assertThat(first).extracting(h -> h.record().key().id()).containsExactly("r0", "r1", "r2");
    List<IndexHit> second = storage.scanIndex(q.after(first.get(2)));
    assertThat(second).extracting(h -> h.record().key().id()).containsExactly("r3", "r4", "r5");
    assertThat(second).extracting(IndexHit::key).containsExactly("k1", "k1", "k2");
    // a position with an empty id starts at its key, inclusive
    assertThat(scan(new IndexQuery(C, "x", "k2", IndexQuery.START, IndexQuery.UNBOUNDED, 2)))
        .containsExactly("k2/r5", "k2/r6");
    // a position between keys
    assertThat(scan(new IndexQuery(C, "x", "k10", "zzz", IndexQuery.UNBOUNDED, 1))).containsExactly("k2/r5");
    // past the end
    assertThat(scan(new IndexQuery(C, "x", "k2", "r9", IndexQuery.UNBOUNDED, 5))).isEmpty();
  }

  @Test
  void index_boundIsInclusive() {
    requireIndexes();
    commitAll(
        put(key("a"), new IndexEntry("x", "1")),
        put(key("b"), new IndexEntry("x", "2")),
        put(key("c"), new IndexEntry("x", "2")),
        put(key("d"), new IndexEntry("x", "20")),
        put(key("e"), new IndexEntry("x", "3")));
    assertThat(scan(IndexQuery.first(C, "x", 100).until("2"))).containsExactly("1/a", "2/b", "2/c");
    assertThat(scan(IndexQuery.first(C, "x", 100).until("1"))).containsExactly("1/a");
    assertThat(scan(IndexQuery.first(C, "x", 100).until("0"))).isEmpty();
    assertThat(scan(IndexQuery.first(C, "x", 1).until("2"))).containsExactly("1/a");
    IndexQuery bounded = new IndexQuery(C, "x", "2", "b", "20", 100);
    assertThat(scan(bounded)).containsExactly("2/c", "20/d");
  }

  @Test
  void index_hitCarriesTheRecordCommittedWithTheEntry() {
    requireIndexes();
    commitAll(put(key("a"), new IndexEntry("x", "k")));
    StoredRecord current = storage.read(key("a")).orElseThrow();
    assertThat(storage.scanIndex(IndexQuery.first(C, "x", 10)))
        .singleElement()
        .satisfies(h -> {
          assertThat(h.key()).isEqualTo("k");
          assertThat(h.record()).isEqualTo(current);
        });
  }

  @Test
  void index_putReplacesTheRecordsEntries() {
    requireIndexes();
    commitAll(put(key("a"), new IndexEntry("x", "1"), new IndexEntry("y", "1")),
        put(key("b"), new IndexEntry("x", "2")));
    commitAll(put(key("a"), new IndexEntry("x", "3"), new IndexEntry("z", "9")));
    assertThat(scan(IndexQuery.first(C, "x", 10))).containsExactly("2/b", "3/a");
    assertThat(scan(IndexQuery.first(C, "y", 10))).isEmpty();
    assertThat(scan(IndexQuery.first(C, "z", 10))).containsExactly("9/a");
    StoredRecord a = storage.read(key("a")).orElseThrow();
    assertThat(storage.scanIndex(IndexQuery.first(C, "z", 10)).get(0).record()).isEqualTo(a);
    // a put without entries leaves the record in no index
    commitAll(Write.put(key("a"), "{\"id\":\"a\",\"v\":2}", "h-a2"));
    assertThat(scan(IndexQuery.first(C, "x", 10))).containsExactly("2/b");
    assertThat(scan(IndexQuery.first(C, "z", 10))).isEmpty();
    assertThat(storage.read(key("a"))).map(StoredRecord::hash).contains("h-a2");
  }

  @Test
  void index_deleteRemovesTheRecordsEntries() {
    requireIndexes();
    commitAll(put(key("a"), new IndexEntry("x", "1"), new IndexEntry("y", "1")),
        put(key("b"), new IndexEntry("x", "1")));
    commitAll(Write.delete(key("a")));
    assertThat(scan(IndexQuery.first(C, "x", 10))).containsExactly("1/b");
    assertThat(scan(IndexQuery.first(C, "y", 10))).isEmpty();
    // re-created without entries: still in no index
    commitAll(Write.put(key("a"), "{}", "h"));
    assertThat(scan(IndexQuery.first(C, "y", 10))).isEmpty();
    // re-created with entries
    commitAll(put(key("a"), new IndexEntry("y", "2")));
    assertThat(scan(IndexQuery.first(C, "y", 10))).containsExactly("2/a");
  }

  @Test
  void index_conflictingCommitChangesNoEntry() {
    requireIndexes();
    commitAll(put(key("a"), new IndexEntry("x", "1")));
    long rev = storage.read(key("a")).orElseThrow().revision();
    CommitResult r = commit(List.of(Expectation.revision(key("a"), rev + 1000)),
        put(key("a"), new IndexEntry("x", "2"), new IndexEntry("y", "2")),
        put(key("b"), new IndexEntry("x", "0")));
    assertThat(r).isInstanceOf(CommitResult.Conflict.class);
    assertThat(scan(IndexQuery.first(C, "x", 10))).containsExactly("1/a");
    assertThat(scan(IndexQuery.first(C, "y", 10))).isEmpty();
    CommitResult d = commit(List.of(Expectation.absent(key("a"))), Write.delete(key("a")));
    assertThat(d).isInstanceOf(CommitResult.Conflict.class);
    assertThat(scan(IndexQuery.first(C, "x", 10))).containsExactly("1/a");
  }

  @Test
  void index_scanSeesOnlyItsCollectionAndIndexName() {
    requireIndexes();
    commitAll(
        put(key("a"), new IndexEntry("x", "1"), new IndexEntry("xy", "1")),
        put(new RecordKey("ix2", "a"), new IndexEntry("x", "0")),
        put(new RecordKey("i", "b"), new IndexEntry("x", "0")),
        put(key("b"), new IndexEntry("X", "0"), new IndexEntry("x:1", "0")));
    assertThat(scan(IndexQuery.first(C, "x", 10))).containsExactly("1/a");
    assertThat(scan(IndexQuery.first(C, "xy", 10))).containsExactly("1/a");
    assertThat(scan(IndexQuery.first(C, "X", 10))).containsExactly("0/b");
    assertThat(scan(IndexQuery.first("ix2", "x", 10))).containsExactly("0/a");
    assertThat(scan(IndexQuery.first(C, "none", 10))).isEmpty();
    assertThat(scan(IndexQuery.first("nocollection", "x", 10))).isEmpty();
  }

  @Test
  void index_longestNamesAndKeysRoundTrip() {
    requireIndexes();
    String name = "n".repeat(IndexEntry.MAX_INDEX_LENGTH);
    String k1 = "~".repeat(IndexEntry.MAX_KEY_LENGTH);
    String k2 = "!".repeat(IndexEntry.MAX_KEY_LENGTH);
    commitAll(put(key("a"), new IndexEntry(name, k1)), put(key("b"), new IndexEntry(name, k2)));
    assertThat(scan(IndexQuery.first(C, name, 10))).containsExactly(k2 + "/b", k1 + "/a");
  }

  @Test
  void index_manyRecordsAgreeWithAModel() {
    requireIndexes();
    Random random = new Random(12);
    // model: index name -> (key, id) sorted -> present
    Map<String, String> xKeyOf = new TreeMap<>();
    Map<String, String> yKeyOf = new TreeMap<>();
    for (int round = 0; round < 40; round++) {
      List<Write> writes = new ArrayList<>();
      java.util.Set<String> touched = new java.util.HashSet<>();
      for (int i = 0; i < 50; i++) {
        String id = "r" + random.nextInt(600);
        if (!touched.add(id)) {
          continue;
        }
        int what = random.nextInt(10);
        if (what == 0 && xKeyOf.containsKey(id)) {
          writes.add(Write.delete(key(id)));
          xKeyOf.remove(id);
          yKeyOf.remove(id);
        } else {
          List<IndexEntry> entries = new ArrayList<>();
          String kx = String.format("%03d", random.nextInt(120));
          entries.add(new IndexEntry("x", kx));
          xKeyOf.put(id, kx);
          if (what < 4) {
            String ky = Integer.toString(random.nextInt(50));
            entries.add(new IndexEntry("y", ky));
            yKeyOf.put(id, ky);
          } else {
            yKeyOf.remove(id);
          }
          writes.add(Write.put(key(id), "{\"id\":\"" + id + "\",\"r\":" + round + "}", "h" + round, entries));
        }
      }
      commitAll(writes.toArray(Write[]::new));
    }
    assertAgrees("x", xKeyOf);
    assertAgrees("y", yKeyOf);
    // a bounded scan from the middle
    Map<String, String> middle = new TreeMap<>(xKeyOf);
    middle.values().removeIf(k -> k.compareTo("050") <= 0 || k.compareTo("060") > 0);
    List<String> expected = sorted(middle);
    List<String> got = new ArrayList<>();
    IndexQuery q = new IndexQuery(C, "x", "050", "~", "060", 13);
    while (true) {
      List<IndexHit> hits = storage.scanIndex(q);
      hits.forEach(h -> got.add(h.key() + "/" + h.record().key().id()));
      if (hits.size() < 13) {
        break;
      }
      q = q.after(hits.get(hits.size() - 1));
    }
    assertThat(got).isEqualTo(expected);
  }

  private void assertAgrees(String index, Map<String, String> keyOf) {
    List<String> expected = sorted(keyOf);
    for (int page : new int[] {1, 7, 1000}) {
      List<IndexHit> hits = scanAll(C, index, page);
      assertThat(hits).extracting(h -> h.key() + "/" + h.record().key().id()).isEqualTo(expected);
      for (IndexHit h : hits) {
        assertThat(storage.read(h.record().key())).contains(h.record());
      }
    }
  }

  private static List<String> sorted(Map<String, String> keyOf) {
    return keyOf.entrySet().stream()
        .sorted(Comparator.<Map.Entry<String, String>, String>comparing(Map.Entry::getValue)
            .thenComparing(Map.Entry::getKey))
        .map(e -> e.getValue() + "/" + e.getKey())
        .toList();
  }
}
