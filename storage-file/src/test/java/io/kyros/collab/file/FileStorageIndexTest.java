package io.kyros.collab.file;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.CanonicalJson;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.IndexEntry;
import io.kyros.collab.spi.IndexHit;
import io.kyros.collab.spi.IndexQuery;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Write;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The file store's secondary indexes in one JVM: the entries' format in documents, the journal and
 * {@code format.json}; the upgrade of a version-1 store; the in-memory index built from the documents on
 * first use, following this JVM's commits (also across its own checkpoints) and equal to a full scan of
 * the documents ({@link IndexAudit}); keys that need JSON escaping; damaged documents passed over.
 * Other processes' commits: {@code FileIndexProcessTest}.
 */
class FileStorageIndexTest {
  @TempDir
  Path dir;

  private static final String C = "ix";

  private static CommitResult commit(FileStorage s, Write w) {
    CommitResult r = s.commit(Commit.of(List.of(), List.of(w), List.of(new NewEvent("ix", "t", "ix", "{}"))));
    assertThat(r).isInstanceOf(CommitResult.Committed.class);
    return r;
  }

  private static Write put(String id, IndexEntry... entries) {
    String json = "{\"id\":\"" + id + "\"}";
    return Write.put(new RecordKey(C, id), json, CanonicalJson.hashCanonical(json.getBytes(UTF_8)), List.of(entries));
  }

  private static List<String> scan(FileStorage s, String index) {
    List<String> out = new ArrayList<>();
    IndexQuery q = IndexQuery.first(C, index, 5);
    for (List<IndexHit> page = s.scanIndex(q); !page.isEmpty(); page = s.scanIndex(q)) {
      page.forEach(h -> out.add(h.key() + " " + h.record().key().id()));
      q = q.after(page.get(page.size() - 1));
    }
    return out;
  }

  @Test
  void entriesAreStoredWithTheRecordInItsDocumentAndTheJournal() throws Exception {
    try (FileStorage s = FileStorage.open(dir)) {
      assertThat(s.indexes()).isTrue();
      commit(s, put("a", new IndexEntry("ready", "p1|0001"), new IndexEntry("status", "queued")));
      String doc = Files.readString(dir.resolve("state/ix/a.json"));
      assertThat(doc).startsWith("{\"key\":\"ix/a\",\"revision\":1,\"hash\":\"" + put("a").hash() + "\",\"index\":{\"ready\":\"p1|0001\",\"status\":\"queued\"},"
          + "\"value\":{\"id\":\"a\"},\"crc32c\":\"");
      String journal = new String(Files.readAllBytes(dir.resolve("journal.jsonl")), UTF_8);
      assertThat(journal).contains("\"hash\":\"" + put("a").hash() + "\",\"index\":{\"ready\":\"p1|0001\",\"status\":\"queued\"},\"json\":");
      assertThat(Files.readString(dir.resolve("format.json"))).contains("\"version\":2");
      commit(s, put("a"));
      assertThat(Files.readString(dir.resolve("state/ix/a.json"))).doesNotContain("\"index\"");
      assertThat(scan(s, "ready")).isEmpty();
      assertThat(FileStorage.check(dir).problems()).isEmpty();
    }
  }

  @Test
  void aVersionOneStoreOpensIsUpgradedAndItsRecordsHaveNoEntries() throws Exception {
    try (FileStorage s = FileStorage.open(dir)) {
      commit(s, put("old"));
    }
    Path format = dir.resolve("format.json");
    // as version 1 wrote it: no checksum
    Files.writeString(format, "{\"format\":\"collab-file\",\"version\":1,\"segmentBytes\":"
        + FileStorage.DEFAULT_SEGMENT_BYTES + "}\n");
    assertThat(FileStorage.check(dir).problems()).isEmpty(); // the checker reads version 1 too
    try (FileStorage s = FileStorage.open(dir)) {
      assertThat(Files.readString(format)).isEqualTo(new String(Lines.frame(("{\"format\":\"collab-file\",\"version\":2,"
          + "\"segmentBytes\":" + FileStorage.DEFAULT_SEGMENT_BYTES + "}").getBytes(UTF_8)), UTF_8));
      assertThat(s.read(new RecordKey(C, "old"))).isPresent();
      assertThat(scan(s, "ready")).isEmpty();
      commit(s, put("old", new IndexEntry("ready", "k")));
      assertThat(scan(s, "ready")).containsExactly("k old");
    }
  }

  @Test
  void theIndexIsBuiltFromTheDocumentsOnFirstUseAndFollowsThisJvmsCommitsAndCheckpoints() throws Exception {
    Random random = new Random(7);
    Map<String, String> model = new TreeMap<>(); // id -> key in index "k"
    try (FileStorage s = FileStorage.builder(dir).checkpointBytes(4096).open()) {
      for (int i = 0; i < 300; i++) {
        String id = "r" + random.nextInt(40);
        if (random.nextInt(5) == 0) {
          commit(s, Write.delete(new RecordKey(C, id)));
          model.remove(id);
        } else if (random.nextInt(6) == 0) {
          commit(s, put(id)); // a put without entries removes them
          model.remove(id);
        } else {
          String key = "k" + random.nextInt(10);
          commit(s, put(id, new IndexEntry("k", key), new IndexEntry("other", "o")));
          model.put(id, key);
        }
        if (i % 37 == 0) {
          assertThat(scan(s, "k")).containsExactlyElementsOf(expected(model));
        }
      }
      assertThat(scan(s, "k")).containsExactlyElementsOf(expected(model));
      assertThat(s.store().indexBuilds()).as("own commits and checkpoints never rebuild the index").isEqualTo(1);
      assertThat(IndexAudit.audit(s)).isEmpty();
    }
    assertThat(dir.resolve(SavedIndex.NAME)).as("saved as the engine stopped").exists();
    Files.delete(dir.resolve(SavedIndex.NAME)); // SavedIndexTest covers taking it
    try (FileStorage s = FileStorage.open(dir)) {
      assertThat(s.store().indexSnapshot()).as("not built before the first scan").isNull();
      assertThat(scan(s, "k")).containsExactlyElementsOf(expected(model));
      assertThat(s.store().indexBuilds()).isEqualTo(1);
      assertThat(IndexAudit.audit(s)).isEmpty();
    }
  }

  private static List<String> expected(Map<String, String> model) {
    return model.entrySet().stream().map(e -> e.getValue() + " " + e.getKey()).sorted().toList();
  }

  @Test
  void keysNeedingJsonEscapesSurviveTheJournalAndAReplay() throws Exception {
    String key = "a\"b\\c{}";
    try (FileStorage s = FileStorage.open(dir)) {
      commit(s, put("q", new IndexEntry("weird\\\"", key)));
      assertThat(s.scanIndex(IndexQuery.first(C, "weird\\\"", 10))).extracting(IndexHit::key).containsExactly(key);
    }
    // the header lost: the next open replays the whole journal over the document
    Files.write(dir.resolve("collab.lock"), new byte[0]);
    Files.delete(dir.resolve("state/ix/q.json"));
    try (FileStorage s = FileStorage.open(dir)) {
      assertThat(s.scanIndex(IndexQuery.first(C, "weird\\\"", 10))).extracting(IndexHit::key).containsExactly(key);
      assertThat(IndexAudit.audit(s)).isEmpty();
    }
  }

  @Test
  void theCheckerReportsAMalformedIndexEntry() throws Exception {
    try (FileStorage s = FileStorage.open(dir)) {
      commit(s, put("a", new IndexEntry("k", "1")));
    }
    Path a = dir.resolve("state/ix/a.json");
    String line = Files.readString(a);
    // a hand edit: no checksum, an index key with a space (not printable ASCII 0x21-0x7E)
    Files.writeString(a, line.substring(0, line.indexOf(",\"crc32c\"")).replace("\"k\":\"1\"", "\"k\":\"1 2\"") + "}\n");
    assertThat(FileStorage.check(dir).problems()).singleElement()
        .satisfies(p -> assertThat(p.description()).contains("key must be printable ASCII"));
  }

  @Test
  void aDamagedDocumentIsPassedOverAndOtherHitsStillRead() throws Exception {
    try (FileStorage s = FileStorage.open(dir)) {
      commit(s, put("a", new IndexEntry("k", "1")));
      commit(s, put("b", new IndexEntry("k", "2")));
      commit(s, put("c", new IndexEntry("k", "3")));
      assertThat(scan(s, "k")).containsExactly("1 a", "2 b", "3 c");
      Files.writeString(dir.resolve("state/ix/b.json"), "{\"revision\":2,\"hash\":\"x\",\"value\":{\"x\"");
      assertThat(scan(s, "k")).containsExactly("1 a", "3 c");
      assertThat(s.scanIndex(IndexQuery.first(C, "k", 2))).extracting(IndexHit::key).containsExactly("1", "3");
      s.removeDamaged(new RecordKey(C, "b"));
      assertThat(scan(s, "k")).containsExactly("1 a", "3 c");
    }
  }
}
