package io.kyros.collab.file;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.CanonicalJson;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.IndexEntry;
import io.kyros.collab.spi.IndexHit;
import io.kyros.collab.spi.IndexQuery;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Write;
import io.kyros.collab.file.harness.ChildJvm;
import io.kyros.collab.file.harness.IndexWriter;
import io.kyros.collab.file.harness.LockHolder;
import io.kyros.collab.file.harness.PowerCutFileSystem;
import io.kyros.collab.file.harness.VolatileDisk;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
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
 * {@code index.saved} ({@link SavedIndex}): an engine that stops with its index built saves it, and the next engine's
 * first scan takes it and the journal instead of reading every document, whenever the journal holds every write after
 * the saved revision; otherwise (a checkpoint past it, damage, a file ahead of the store) the index is built from the
 * documents as before. Every phase ends with {@link IndexAudit}: the index equals a full scan of the documents. The
 * engines follow one another in this JVM (one engine per directory per JVM); the file is all they share besides the
 * store's own files, as processes would.
 */
class SavedIndexTest {
  @TempDir
  Path dir;

  private static final String C = "ix";

  private final Random random = new Random(11);
  /** id to key in index "k", what the documents hold. */
  private final Map<String, String> model = new TreeMap<>();

  /** Commits so far: each is one write and one event, so this is both counters of the store. */
  private long commits;

  private void commit(FileStorage s, Write w) {
    CommitResult r = s.commit(Commit.of(List.of(), List.of(w), List.of(new NewEvent("ix", "t", "ix", "{}"))));
    assertThat(r).isInstanceOf(CommitResult.Committed.class);
    commits++;
  }

  private static Write put(String id, IndexEntry... entries) {
    String json = "{\"id\":\"" + id + "\"}";
    return Write.put(new RecordKey(C, id), json, CanonicalJson.hashCanonical(json.getBytes(UTF_8)), List.of(entries));
  }

  /** Random puts (with entries, or without), and deletes over 60 ids, kept in {@link #model}. */
  private void change(FileStorage s, int commits) {
    for (int i = 0; i < commits; i++) {
      String id = "r" + random.nextInt(60);
      int what = random.nextInt(8);
      if (what == 0) {
        commit(s, Write.delete(new RecordKey(C, id)));
        model.remove(id);
      } else if (what == 1) {
        commit(s, put(id));
        model.remove(id);
      } else {
        String key = "k" + random.nextInt(12);
        commit(s, put(id, new IndexEntry("k", key), new IndexEntry("other", "o" + random.nextInt(3))));
        model.put(id, key);
      }
    }
  }

  private static List<String> scan(FileStorage s) {
    List<String> out = new ArrayList<>();
    IndexQuery q = IndexQuery.first(C, "k", 7);
    for (List<IndexHit> page = s.scanIndex(q); !page.isEmpty(); page = s.scanIndex(q)) {
      page.forEach(h -> out.add(h.key() + " " + h.record().key().id()));
      q = q.after(page.get(page.size() - 1));
    }
    return out;
  }

  private List<String> expected() {
    return model.entrySet().stream().map(e -> e.getValue() + " " + e.getKey()).sorted().toList();
  }

  private SavedIndex.Header saved() throws IOException {
    return SavedIndex.header(dir);
  }

  /** An engine changes the store, scans and stops: it saves its index. */
  private void savedAfter(int changes) {
    try (FileStorage s = FileStorage.open(dir)) {
      change(s, changes);
      scan(s);
    }
  }

  /** Opens an engine, scans (building or taking the index), checks it against the model and the documents. */
  private void scanAndAudit(long builds, long loads) throws IOException {
    try (FileStorage s = FileStorage.open(dir)) {
      assertThat(scan(s)).containsExactlyElementsOf(expected());
      assertThat(s.store().indexBuilds()).as("built from the documents").isEqualTo(builds);
      assertThat(s.store().indexLoads()).as("taken from index.saved").isEqualTo(loads);
      assertThat(IndexAudit.audit(s)).isEmpty();
    }
  }

  @Test
  void anEngineThatStopsWithItsIndexSavesItAndTheNextTakesItWithTheJournalsLaterWrites() throws Exception {
    long revision;
    try (FileStorage s = FileStorage.open(dir)) {
      change(s, 150);
      assertThat(scan(s)).containsExactlyElementsOf(expected());
      change(s, 40);
      revision = commits;
    }
    assertThat(saved()).as("saved at the counters the engine stopped at").isEqualTo(
        new SavedIndex.Header(revision, revision));
    scanAndAudit(0, 1);

    // an engine that never scans changes the store without saving; the next takes the old file and the journal
    try (FileStorage s = FileStorage.open(dir)) {
      change(s, 80);
    }
    assertThat(saved().revision()).as("an engine without an index saves nothing").isEqualTo(revision);
    scanAndAudit(0, 1);
    assertThat(saved().revision()).as("still brought up to date by the journal: not written again")
        .isEqualTo(revision);
  }

  @Test
  void aCheckpointPastTheSavedRevisionMakesTheNextEngineBuildAndSaveAgain() throws Exception {
    savedAfter(50);
    long first = saved().revision();
    // another engine, which never scans, fills the journal past a checkpoint: the writes after the saved revision are
    // then only in the documents
    try (FileStorage s = FileStorage.builder(dir).checkpointBytes(4096).open()) {
      change(s, 120);
    }
    assertThat(Checkpoints.read(dir).revision()).isGreaterThan(first);
    long last;
    try (FileStorage s = FileStorage.open(dir)) {
      assertThat(scan(s)).containsExactlyElementsOf(expected());
      assertThat(s.store().indexBuilds()).isEqualTo(1);
      assertThat(s.store().indexLoads()).isZero();
      assertThat(IndexAudit.audit(s)).isEmpty();
      last = commits;
    }
    assertThat(saved().revision()).as("saved again: the old one could not be brought up to date").isEqualTo(last);
    scanAndAudit(0, 1);
  }

  @Test
  void anEngineThatTookACheckpointItselfSavesAnIndexTheNextCanTake() throws Exception {
    try (FileStorage s = FileStorage.builder(dir).checkpointBytes(4096).open()) {
      change(s, 30);
      scan(s);
      change(s, 200); // checkpoints on the way, followed by this engine's index
      assertThat(Checkpoints.read(dir).revision()).isPositive();
    }
    scanAndAudit(0, 1);
  }

  @Test
  void aDamagedSavedIndexIsDeletedTheIndexBuiltFromTheDocumentsAndSavedAgain() throws Exception {
    savedAfter(100);
    Path file = dir.resolve(SavedIndex.NAME);
    byte[] bytes = Files.readAllBytes(file);
    int at = new String(bytes, US_ASCII).indexOf(" k ") + 2; // a key of index k, in a record line
    bytes[at] = (byte) (bytes[at] == 'k' ? 'j' : 'k');
    Files.write(file, bytes);
    assertThatThrownBy(() -> SavedIndex.read(dir)).isInstanceOf(CorruptFileException.class)
        .hasMessageContaining("checksum mismatch");
    try (FileStorage s = FileStorage.open(dir)) {
      assertThat(scan(s)).containsExactlyElementsOf(expected());
      assertThat(s.store().indexBuilds()).isEqualTo(1);
      assertThat(s.store().indexLoads()).isZero();
      assertThat(file).as("deleted when found damaged").doesNotExist();
      assertThat(IndexAudit.audit(s)).isEmpty();
    }
    assertThat(file).as("saved again as the engine stopped").exists();
    scanAndAudit(0, 1);
  }

  @Test
  void aTruncatedSavedIndexOrOneWithoutItsChecksumLineIsNotTaken() throws Exception {
    savedAfter(100);
    Path file = dir.resolve(SavedIndex.NAME);
    byte[] bytes = Files.readAllBytes(file);
    String text = new String(bytes, US_ASCII);
    // cut after a whole record line, as a write the disk kept only partly could leave it
    Files.write(file, text.substring(0, text.indexOf('\n', text.length() / 2) + 1).getBytes(US_ASCII));
    assertThatThrownBy(() -> SavedIndex.read(dir)).isInstanceOf(CorruptFileException.class)
        .hasMessageContaining("checksum line");
    scanAndAudit(1, 0);
  }

  @Test
  void aSavedIndexAheadOfTheStoreIsNotTaken() throws Exception {
    savedAfter(60);
    long revision = commits;
    // a well-formed file claiming a later revision (a store put back from an older copy next to a newer file)
    RecordIndex other = new RecordIndex();
    other.put(new RecordKey(C, "ghost"), revision + 5, List.of(new IndexEntry("k", "k0")));
    SavedIndex.write(dir, other, revision + 5, revision + 5, FilePermissions.ownerOnly(dir.getFileSystem()));
    scanAndAudit(1, 0);
    assertThat(saved().revision()).as("replaced as the engine stopped").isEqualTo(revision);
  }

  /** Flips a bit in the middle of a record's document: it fails its checksum. @return its bytes before */
  private byte[] damage(String id) throws IOException {
    Path file = dir.resolve("state").resolve(C).resolve(id + ".json");
    byte[] good = Files.readAllBytes(file);
    byte[] damaged = good.clone();
    damaged[good.length / 2] ^= 1;
    Files.write(file, damaged);
    return good;
  }

  /** Puts {@code bytes} back as a record's document: a repair by hand, outside the journal. */
  private void repairByHand(String id, byte[] bytes) throws IOException {
    Files.write(dir.resolve("state").resolve(C).resolve(id + ".json"), bytes);
  }

  /** @return the damaged-record lines of {@code index.saved} ({@code ! <collection> <id>}) */
  private List<String> savedDamaged() throws IOException {
    return Files.readAllLines(dir.resolve(SavedIndex.NAME)).stream().filter(l -> l.startsWith("! ")).toList();
  }

  /**
   * Bug (found in review): an index built while passing over a damaged document (as documented) was saved as the
   * engine stopped. Once the document was repaired by hand, every later engine took {@code index.saved} (the journal
   * contradicts nothing) and left the record out of every scan, across restarts, although its document carries the
   * entry and reads fine. Then (the fix's cost, found in a later review) no engine saved an index while the damage
   * lasted, so every engine read every document. The saved index now names the damaged records, and the engine that
   * takes it reads their documents again: while still damaged they stay passed over, once repaired they are found.
   */
  @Test
  void anIndexBuiltOverADamagedDocumentIsSavedNamingItSoTheRepairedDocumentIsFound() throws Exception {
    try (FileStorage s = FileStorage.open(dir)) {
      commit(s, put("a", new IndexEntry("k", "ka")));
      commit(s, put("b", new IndexEntry("k", "kb")));
    }
    byte[] good = damage("b");
    try (FileStorage s = FileStorage.open(dir)) {
      assertThat(scan(s)).as("the damaged b is passed over, as documented").containsExactly("ka a");
      assertThat(s.store().indexBuilds()).isEqualTo(1);
    }
    assertThat(Files.readAllLines(dir.resolve(SavedIndex.NAME)).get(0)).startsWith("collab-index 2 ");
    assertThat(savedDamaged()).containsExactly("! ix b");
    try (FileStorage s = FileStorage.open(dir)) {
      assertThat(scan(s)).as("still damaged: still passed over").containsExactly("ka a");
      assertThat(s.store().indexBuilds()).isZero();
      assertThat(s.store().indexLoads()).isEqualTo(1);
    }
    assertThat(savedDamaged()).containsExactly("! ix b");

    repairByHand("b", good);
    model.put("a", "ka");
    model.put("b", "kb");
    scanAndAudit(0, 1); // taken, and the repaired document read again
  }

  /**
   * Bug (found in review): an engine whose build passed over a damaged document left the {@code index.saved} it found
   * (here passed by another engine's checkpoint) and replaced it as it stopped with its own copy, which misses the
   * damaged record's entries without naming the record. The file is deleted as soon as the build finds damage, and the
   * copy saved as the engine stops names the damaged record.
   */
  @Test
  void anEngineWhoseBuildFindsDamageDeletesTheSavedIndexAndSavesOneNamingTheDamage() throws Exception {
    savedAfter(40);
    try (FileStorage s = FileStorage.builder(dir).checkpointBytes(4096).open()) {
      change(s, 120); // checkpoints past the saved revision: the next engine builds from the documents
    }
    assertThat(Checkpoints.read(dir).revision()).isGreaterThan(saved().revision());
    String id = model.keySet().iterator().next();
    byte[] good = damage(id);
    try (FileStorage s = FileStorage.open(dir)) {
      assertThat(scan(s)).as("the damaged %s is passed over", id).doesNotContain(model.get(id) + " " + id)
          .hasSize(model.size() - 1);
      assertThat(s.store().indexBuilds()).isEqualTo(1);
      assertThat(dir.resolve(SavedIndex.NAME)).as("deleted when the build found damage").doesNotExist();
    }
    assertThat(savedDamaged()).as("saved as the engine stopped, naming the damage").containsExactly("! ix " + id);

    repairByHand(id, good);
    scanAndAudit(0, 1);
  }

  /**
   * Bug (found in review): an engine whose build passed over a damaged document refused to save its index as it
   * stopped even when the damaged record had been written since (by this engine: here the repair's delete, then a
   * put), although the write gave the index the record's entries; the next engine then read every document again.
   */
  @Test
  void aDamagedRecordWrittenSinceTheBuildIsNoLongerPassedOver() throws Exception {
    try (FileStorage s = FileStorage.open(dir)) {
      commit(s, put("a", new IndexEntry("k", "ka")));
      commit(s, put("b", new IndexEntry("k", "kb")));
      commit(s, put("c", new IndexEntry("k", "kc")));
    }
    damage("b");
    damage("c");
    try (FileStorage s = FileStorage.open(dir)) {
      assertThat(scan(s)).containsExactly("ka a");
      s.removeDamaged(new RecordKey(C, "b"));
      commits++;
      commit(s, put("c", new IndexEntry("k", "kc2"))); // a write without expectation replaces a damaged document
      assertThat(scan(s)).containsExactly("ka a", "kc2 c");
    }
    assertThat(Files.readAllLines(dir.resolve(SavedIndex.NAME)).get(0)).startsWith("collab-index 1 ");
    assertThat(savedDamaged()).isEmpty();
    model.put("a", "ka");
    model.put("c", "kc2");
    scanAndAudit(0, 1);
  }

  /** Another process's write of a damaged record, read from the journal, ends its passing over too. */
  @Test
  void aDamagedRecordWrittenByAnotherEngineIsNoLongerPassedOver() throws Exception {
    try (FileStorage s = FileStorage.open(dir)) {
      commit(s, put("a", new IndexEntry("k", "ka")));
      commit(s, put("b", new IndexEntry("k", "kb")));
    }
    damage("b");
    try (FileStorage s = FileStorage.open(dir)) {
      assertThat(scan(s)).containsExactly("ka a");
    }
    assertThat(savedDamaged()).containsExactly("! ix b");
    try (FileStorage s = FileStorage.open(dir)) {
      commit(s, put("b", new IndexEntry("k", "kb2"))); // no scan: nothing taken, nothing saved
    }
    model.put("a", "ka");
    model.put("b", "kb2");
    scanAndAudit(0, 1); // taken: the journal's write of b replaces the passing over
  }

  @Test
  void aSavedIndexWhoseDamagedLinesDoNotMatchItsHeaderIsDeletedAndTheIndexBuilt() throws Exception {
    try (FileStorage s = FileStorage.open(dir)) {
      commit(s, put("a", new IndexEntry("k", "ka")));
      commit(s, put("b", new IndexEntry("k", "kb")));
    }
    damage("b");
    try (FileStorage s = FileStorage.open(dir)) {
      scan(s);
    }
    Path file = dir.resolve(SavedIndex.NAME);
    List<String> lines = Files.readAllLines(file);
    String body = String.join("\n", lines.subList(0, lines.size() - 1)).replace(" 1 1\n", " 1 2\n") + "\n";
    assertThat(body).startsWith("collab-index 2 ").contains(" 1 2\n");
    java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
    crc.update(body.getBytes(UTF_8));
    Files.writeString(file, body + "crc32c " + java.util.HexFormat.of().toHexDigits((int) crc.getValue()) + "\n");
    assertThatThrownBy(() -> SavedIndex.read(dir)).isInstanceOf(CorruptFileException.class)
        .hasMessageContaining("damaged-record lines");
    try (FileStorage s = FileStorage.open(dir)) {
      assertThat(scan(s)).containsExactly("ka a");
      assertThat(s.store().indexBuilds()).isEqualTo(1);
    }
  }

  @Test
  void anEngineThatNeverScannedSavesNothingAndOneWithoutForcesForcesTheJournalAndSaves() throws Exception {
    try (FileStorage s = FileStorage.builder(dir).durability(FileStorage.Durability.NONE).open()) {
      change(s, 40);
      assertThat(scan(s)).containsExactlyElementsOf(expected());
    }
    assertThat(saved()).as("the journal is forced before saving, whatever the durability")
        .isEqualTo(new SavedIndex.Header(commits, commits));
    Files.delete(dir.resolve(SavedIndex.NAME));
    try (FileStorage s = FileStorage.open(dir)) {
      change(s, 10);
    }
    assertThat(dir.resolve(SavedIndex.NAME)).as("never scanned: nothing built, nothing saved").doesNotExist();
    scanAndAudit(1, 0);
    assertThat(dir.resolve(SavedIndex.NAME)).exists();
  }

  /**
   * The copy never reflects a write a power cut can take (review of the first version): a process journals a line and
   * is killed before forcing it; the next engine to stop replays that line as it catches up, then saves. Were the line
   * not forced before the save, a power cut could keep the copy and drop the line, the revision would be handed out
   * again to another record, and the next engine would take the copy and miss that record. Two forces prevent it, each
   * enough alone here: the replay's ({@link PowerCutReplayTest}) and the save's (the next test). Without both, 3 of these
   * 24 seeds missed the acknowledged record and 6 others failed on a torn replayed document.
   */
  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void theCopyNeverReflectsAWriteAPowerCutCanTake() throws Exception {
    for (int seed = 0; seed < 24; seed++) {
      Path store = Files.createDirectories(dir.resolve("cut-" + seed)).toRealPath();
      VolatileDisk disk = VolatileDisk.load(store, Long.MAX_VALUE);
      Path onDisk = PowerCutFileSystem.on(disk).getPath(store.toString());
      try (FileStorage s = FileStorage.open(onDisk)) {
        for (int i = 1; i <= 5; i++) {
          s.commit(Commit.of(List.of(), List.of(put("r" + i, new IndexEntry("k", "k" + i))), List.of()));
        }
      }
      FileStorage engine = FileStorage.open(onDisk);
      assertThat(engine.scanIndex(IndexQuery.first(C, "k", 10))).hasSize(5);
      // another process journals revision 6 after the others' lines and dies before forcing it
      DeadWritersLine.append(onDisk.resolve(Journal.NAME), 6, new RecordKey(C, "x"), "{\"id\":\"x\"}",
          List.of(new IndexEntry("k", "k0")));
      engine.close(); // replays the line as it catches up, then saves
      assertThat(SavedIndex.header(store)).isEqualTo(new SavedIndex.Header(6, 0));
      disk.cutNow();
      disk.materialize(new Random(seed));

      try (FileStorage s = FileStorage.open(store)) { // a process that never scans
        s.commit(Commit.of(List.of(), List.of(put("y", new IndexEntry("k", "k9"))), List.of()));
      }
      try (FileStorage s = FileStorage.open(store)) {
        List<String> ids = new ArrayList<>();
        s.scanIndex(IndexQuery.first(C, "k", 10)).forEach(h -> ids.add(h.record().key().id()));
        assertThat(ids).as("seed %d", seed).contains("y");
        assertThat(IndexAudit.audit(s)).as("seed %d", seed).isEmpty();
      }
    }
  }

  /**
   * An engine that does not force its commits ({@code Durability.NONE}) still saves a copy no power cut can outlive:
   * the save forces the journal first (second review: without that force, 2 of these 48 seeds took a copy that held
   * records the cut had taken, and missed records committed after it).
   */
  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void aCopySavedByAnEngineWithoutForcesSurvivesAPowerCut() throws Exception {
    for (int seed = 0; seed < 48; seed++) {
      Path store = Files.createDirectories(dir.resolve("none-" + seed)).toRealPath();
      FileStorage.open(store).close(); // the store's files exist before the disk is loaded
      VolatileDisk disk = VolatileDisk.load(store, Long.MAX_VALUE);
      Path onDisk = PowerCutFileSystem.on(disk).getPath(store.toString());
      try (FileStorage s = FileStorage.builder(onDisk).durability(FileStorage.Durability.NONE).open()) {
        for (int i = 1; i <= 5; i++) {
          s.commit(Commit.of(List.of(), List.of(put("r" + i, new IndexEntry("k", "k" + i))), List.of()));
        }
        s.scanIndex(IndexQuery.first(C, "k", 10));
      } // saves
      disk.cutNow();
      disk.materialize(new Random(seed));

      FileStorage producer;
      try {
        producer = FileStorage.open(store);
      } catch (CorruptFileException e) {
        // Durability.NONE survives process crashes only: a store whose unforced commits a power cut took may be
        // refused (file-format.md); the copy matters only for a store that opens
        continue;
      }
      try (FileStorage s = producer) { // a process that never scans
        for (int i = 1; i <= 5; i++) {
          s.commit(Commit.of(List.of(), List.of(put("y" + i, new IndexEntry("k", "k9"))), List.of()));
        }
      }
      try (FileStorage s = FileStorage.open(store)) {
        s.scanIndex(IndexQuery.first(C, "k", 100));
        assertThat(IndexAudit.audit(s)).as("seed %d", seed).isEmpty();
      }
    }
  }

  /**
   * A stopping engine whose index another process's checkpoint passed does not read every document to save it: it
   * saves nothing (review of the first version, which built the index again under the OS lock as it closed).
   */
  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void aStoppingEngineNeverBuildsTheIndexFromTheDocuments() throws Exception {
    FileStorage s = FileStorage.open(dir);
    try {
      aStoppingEngineNeverBuilds(s);
    } finally {
      s.close(); // idempotent
    }
    assertThat(s.store().indexBuilds()).as("not built again while closing").isEqualTo(1);
    assertThat(dir.resolve(SavedIndex.NAME)).as("nothing to save: the journal cannot bring the index up to date")
        .doesNotExist();
  }

  private void aStoppingEngineNeverBuilds(FileStorage s) throws Exception {
    change(s, 20);
    scan(s);
    assertThat(s.store().indexBuilds()).isEqualTo(1);
    try (ChildJvm child = ChildJvm.start("index-writer", IndexWriter.class, dir.resolveSibling(dir.getFileName()
        + "-writer.err"), List.of(dir.toString(), "4096"))) {
      assertThat(child.awaitLine("ready"::equals, Duration.ofSeconds(60))).isTrue();
      child.send("put a 0 200 k"); // checkpoints every 4 KiB of journal: past this engine's index
      assertThat(child.awaitLine("done put a 0 200 k"::equals, Duration.ofSeconds(60))).isTrue();
      child.send("quit");
      assertThat(child.waitFor(Duration.ofSeconds(60))).isTrue();
    }
    assertThat(Checkpoints.read(dir).revision()).isGreaterThan(commits);
  }

  /**
   * Closing does not wait for another process that holds the OS lock (review of the first version, whose close waited
   * as long as the holder kept it, holding the JVM's registry of stores meanwhile): it gives up saving. Without the
   * bound, the close waits for the holder's release, which comes only after 30 s of waiting for the close: the test
   * fails.
   */
  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void closingGivesUpSavingRatherThanWaitForAnotherProcesssLock() throws Exception {
    FileStorage s = FileStorage.open(dir);
    change(s, 20);
    scan(s);
    try (ChildJvm holder = ChildJvm.start("lock-holder", LockHolder.class, dir.resolveSibling(dir.getFileName()
        + "-holder.err"), List.of(dir.resolve(LockFile.NAME).toString()))) {
      assertThat(holder.awaitLine("locked"::equals, Duration.ofSeconds(60))).isTrue();
      Thread closer = new Thread(s::close, "closer");
      closer.start();
      closer.join(Duration.ofSeconds(30).toMillis()); // a liveness bound: the holder only lets go below
      boolean closedWhileHeld = !closer.isAlive();
      holder.send("release");
      assertThat(holder.awaitLine("released"::equals, Duration.ofSeconds(60))).isTrue();
      closer.join();
      assertThat(closedWhileHeld).as("the close returned while the other process held the lock").isTrue();
      assertThat(dir.resolve(SavedIndex.NAME)).doesNotExist();
    }
    scanAndAudit(1, 0);
  }

  @Test
  void theFileRoundTripsEveryEntryAndRejectsDuplicateOrMalformedLines() throws Exception {
    RecordIndex index = new RecordIndex();
    index.put(new RecordKey("_tasks", "t-1"), 7, List.of(new IndexEntry("ready:w", "0000000001.x"),
        new IndexEntry("status:queued", "a\"b\\c{}")));
    index.put(new RecordKey("_task-leases", "t-1"), 9, List.of(new IndexEntry("expires", "000000000123")));
    FilePermissions permissions = FilePermissions.ownerOnly(dir.getFileSystem());
    SavedIndex.write(dir, index, 9, 4, permissions);
    SavedIndex.Loaded loaded = SavedIndex.read(dir);
    assertThat(loaded.revision()).isEqualTo(9);
    assertThat(loaded.eventId()).isEqualTo(4);
    assertThat(loaded.index().snapshot()).isEqualTo(index.snapshot());

    String text = Files.readString(dir.resolve(SavedIndex.NAME), US_ASCII);
    String[] lines = text.split("\n");
    for (String bad : List.of(lines[1] + "\n" + lines[1], "_tasks t-1 0 k v", "_tasks t-1 10 k v", "_tasks t-1 7 k",
        "_tasks ../x 7 k v", "_tasks t-1 7 k v  x y")) {
      String header = "collab-index 1 9 4 " + (bad.contains("\n") ? 2 : 1) + "\n";
      String body = header + bad + "\n";
      java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
      crc.update(body.getBytes(US_ASCII));
      Files.writeString(dir.resolve(SavedIndex.NAME), body + "crc32c "
          + java.util.HexFormat.of().toHexDigits((int) crc.getValue()) + "\n", US_ASCII);
      assertThatThrownBy(() -> SavedIndex.read(dir)).as(bad).isInstanceOf(CorruptFileException.class);
    }
  }
}
