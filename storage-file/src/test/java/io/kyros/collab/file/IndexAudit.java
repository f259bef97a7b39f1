package io.kyros.collab.file;

import io.kyros.collab.file.DocumentCodec.StoredDocument;
import io.kyros.collab.spi.IndexEntry;
import io.kyros.collab.spi.IndexHit;
import io.kyros.collab.spi.IndexQuery;
import io.kyros.collab.spi.RecordKey;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Compares a file store's in-memory index with a full scan of the index entries stored in its
 * document files, read here with the codec and nothing of the index: the two must be equal, and
 * {@link FileStorage#scanIndex} paged through each index must return exactly the scanned entries, in
 * (key, id) order, with the documents' revisions. Test code; not thread-safe.
 */
final class IndexAudit {
  private IndexAudit() {}

  /**
   * What Collab's tasks and leases say of their index entries against a full scan of those records: core's
   * {@link io.kyros.collab.conformance.IndexAudit}, its failure as a problem.
   *
   * @param storage an open store whose writers have stopped, and whose unfinished sweeps (which a claim finishes) do
   *     not matter: its tasks have no dependencies
   * @return the differences, empty if none
   */
  static List<String> tasksAndLeases(FileStorage storage) {
    try {
      io.kyros.collab.conformance.IndexAudit.check(storage, storage.now());
      return List.of();
    } catch (AssertionError e) {
      return List.of("tasks' and leases' entries against a full scan of them: " + e.getMessage());
    }
  }

  /**
   * @param storage an open store whose writers have stopped
   * @return the differences, empty if none
   */
  static List<String> audit(FileStorage storage) throws IOException {
    Map<String, Map<String, Map<String, Long>>> stored = scanDocuments(storage.root().resolve("state"));
    // brings the index up to date (building it if this JVM never scanned)
    storage.scanIndex(IndexQuery.first("_audit", "none", 1));
    Map<String, Map<String, Map<String, Long>>> index = storage.store().indexSnapshot();
    List<String> problems = new ArrayList<>();
    if (!Objects.equals(index, stored)) {
      problems.add("in-memory index differs from the documents' entries:\n index:     " + index + "\n documents: "
          + stored);
    }
    stored.forEach((collection, indexes) -> indexes.forEach((name, entries) -> {
      List<String> scanned = new ArrayList<>();
      IndexQuery q = IndexQuery.first(collection, name, 7);
      for (List<IndexHit> page = storage.scanIndex(q); !page.isEmpty(); page = storage.scanIndex(q)) {
        for (IndexHit h : page) {
          scanned.add(h.key() + " " + h.record().key().id() + "=" + h.record().revision());
        }
        q = q.after(page.get(page.size() - 1));
      }
      List<String> expected = entries.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList();
      if (!scanned.equals(expected)) {
        problems.add("scanIndex(" + collection + ", " + name + ") returned " + scanned + ", the documents hold "
            + expected);
      }
    }));
    return problems;
  }

  /**
   * Audits a reopened (recovered) store, then changes it and audits the index it kept meanwhile: the
   * first audit builds the index (from the documents, or from {@code index.saved} and the journal when
   * an earlier engine saved one the journal can bring up to date); {@code changes} random puts (with, without or with
   * other entries) and deletes of {@code ix/audit-<n>} records follow, and the second audit compares the
   * index this JVM kept current through them (never built again) with the documents.
   *
   * @return the differences, empty if none
   */
  static List<String> auditWithChanges(FileStorage storage, long seed, int changes) throws IOException {
    List<String> problems = new ArrayList<>(audit(storage));
    java.util.Random random = new java.util.Random(seed);
    long builds = storage.store().indexBuilds();
    for (int i = 0; i < changes; i++) {
      RecordKey key = new RecordKey("ix", "audit-" + random.nextInt(12));
      int kind = random.nextInt(4);
      String json = "{\"n\":" + i + "}";
      io.kyros.collab.spi.Write w = kind == 0 ? io.kyros.collab.spi.Write.delete(key)
          : io.kyros.collab.spi.Write.put(key, json, io.kyros.collab.CanonicalJson.hashCanonical(
              json.getBytes(java.nio.charset.StandardCharsets.UTF_8)), kind == 1 ? List.of()
              : List.of(new IndexEntry("order", String.format("%03d", random.nextInt(50))),
                  new IndexEntry("by-thread", kind == 2 ? "audit" : "audit-" + random.nextInt(3))));
      storage.commit(io.kyros.collab.spi.Commit.of(List.of(), List.of(w),
          List.of(new io.kyros.collab.spi.NewEvent("crash.ix", "audit", "ix/" + key.id(), "{}"))));
    }
    problems.addAll(audit(storage));
    if (storage.store().indexBuilds() != builds) {
      problems.add("the index was built again while this JVM's own commits changed it");
    }
    return problems;
  }

  /**
   * Checks the {@code ix} acknowledgements of {@code CrashWriter} (each record written by one thread,
   * acknowledged in order): the record's document is now at the last acknowledged revision or later,
   * and at that revision it carries exactly the acknowledged entries (or is absent, for a delete). A record
   * absent after an acknowledged put is fine when the writer announced a delete of it after that ack
   * ({@code ix-delete <id>}): the delete may have committed without its ack.
   *
   * @param lines acknowledgement lines of every cycle so far
   * @return the problems, empty if none
   */
  static List<String> checkAcks(FileStorage storage, List<String> lines) throws IOException {
    Map<String, String[]> last = new TreeMap<>();
    // records whose last line is a delete about to commit ("ix-delete <id>", unacknowledged): absent is fine too
    java.util.Set<String> deleting = new java.util.HashSet<>();
    for (String line : lines) {
      String[] f = line.split(" ", 4);
      if (f[0].equals("ix") && f.length == 4) {
        last.put(f[1], f);
        deleting.remove(f[1]);
      } else if (f[0].equals("ix-delete") && f.length == 2) {
        deleting.add(f[1]);
      }
    }
    List<String> problems = new ArrayList<>();
    for (String[] f : last.values()) {
      long acked = Long.parseLong(f[2]);
      Path file = storage.root().resolve("state/ix/" + f[1] + ".json");
      StoredDocument d = Files.exists(file)
          ? DocumentCodec.decodeDocument(new RecordKey("ix", f[1]), Files.readAllBytes(file), file) : null;
      long now = d == null ? 0 : d.record().revision();
      String entries = d == null ? "deleted" : d.index().isEmpty() ? "-"
          : String.join(",", d.index().stream().map(e -> e.index() + "=" + e.key()).toList());
      if (now < acked && !((f[3].equals("deleted") || deleting.contains(f[1])) && d == null)) {
        problems.add("lost: ix/" + f[1] + " acknowledged at revision " + acked + " (" + f[3] + "), now " + now);
      } else if (now == acked && !entries.equals(f[3])) {
        problems.add("ix/" + f[1] + " at the acknowledged revision " + acked + " holds " + entries + ", acknowledged "
            + f[3]);
      }
    }
    return problems;
  }

  /** @return collection, index name, "key id" to revision, from every readable document file */
  static Map<String, Map<String, Map<String, Long>>> scanDocuments(Path state) throws IOException {
    Map<String, Map<String, Map<String, Long>>> out = new TreeMap<>();
    try (DirectoryStream<Path> dirs = Files.newDirectoryStream(state)) {
      for (Path dir : dirs) {
        String collection = dir.getFileName().toString();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*.json")) {
          for (Path f : files) {
            String name = f.getFileName().toString();
            if (name.startsWith(".")) {
              continue;
            }
            String id = name.substring(0, name.length() - ".json".length());
            StoredDocument d;
            try {
              d = DocumentCodec.decodeDocument(new RecordKey(collection, id), Files.readAllBytes(f), f);
            } catch (CorruptFileException e) {
              continue; // damaged documents are in no index
            }
            for (IndexEntry e : d.index()) {
              out.computeIfAbsent(collection, c -> new TreeMap<>()).computeIfAbsent(e.index(), x -> new TreeMap<>())
                  .put(e.key() + " " + id, d.record().revision());
            }
          }
        }
      }
    }
    return out;
  }
}
