package io.kyros.collab.file;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.StorageException;
import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredEvent;
import io.kyros.collab.spi.StoredRecord;
import io.kyros.collab.spi.Write;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.nio.file.Files;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** File-specific behaviour: the on-disk format, recovery from hand-made damage, limits, security. */
@Timeout(120)
class FileStorageTest {
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  @TempDir
  Path dir;

  private final MutableClock clock = new MutableClock(T0);

  private FileStorage open() {
    return FileStorage.builder(dir).clock(clock).open();
  }

  private static CommitResult.Committed put(FileStorage s, String collection, String id, String json, long expected) {
    RecordKey key = new RecordKey(collection, id);
    CommitResult r = s.commit(Commit.of(List.of(new Expectation(key, expected)),
        List.of(Write.put(key, json, "h" + json.length())),
        List.of(new NewEvent("document_written", "tester", collection + "/" + id, "{\"json\":" + json + "}"))));
    assertThat(r).isInstanceOf(CommitResult.Committed.class);
    return (CommitResult.Committed) r;
  }

  private static void append(FileStorage s, int count) {
    for (int i = 0; i < count; i++) {
      s.commit(Commit.of(List.of(), List.of(), List.of(new NewEvent("note", "tester", "t/" + i, "{\"n\":" + i + "}"))));
    }
  }

  private Path segment() throws IOException {
    try (Stream<Path> files = Files.list(dir.resolve("events"))) {
      return files.sorted().reduce((a, b) -> b).orElseThrow();
    }
  }

  @Test
  void documentsAreReadableJsonFilesWithRevisionAndHash() throws IOException {
    try (FileStorage s = open()) {
      CommitResult.Committed c = put(s, "notes", "n1", "{\"b\":[1,2],\"a\":\"x\"}", 0);
      String text = Files.readString(dir.resolve("state/notes/n1.json"));
      String object = "{\"key\":\"notes/n1\",\"revision\":" + c.revisions().get(0) + ",\"hash\":\"h19\",\"value\":{\"b\":[1,2],\"a\":\"x\"}}";
      assertThat(text).isEqualTo(new String(Lines.frame(object.getBytes(UTF_8)), UTF_8));
      assertThat(text).matches("\\{\"key\":\"notes/n1\",\"revision\":\\d+,\"hash\":\"h19\",\"value\":\\{\"b\":\\[1,2],\"a\":\"x\"},\"crc32c\":\"[0-9a-f]{8}\"}\n");
    }
  }

  @Test
  void documentsAreOverwrittenInPlaceAndCutToLength() throws IOException {
    try (FileStorage s = open()) {
      long r = put(s, "c", "a", "{\"long\":\"" + "x".repeat(5000) + "\"}", 0).revisions().get(0);
      Path file = dir.resolve("state/c/a.json");
      Object inode = Files.readAttributes(file, BasicFileAttributes.class).fileKey();
      r = put(s, "c", "a", "{\"short\":1}", r).revisions().get(0);
      assertThat(Files.readAttributes(file, BasicFileAttributes.class).fileKey()).isEqualTo(inode);
      assertThat(Files.readString(file)).startsWith("{\"key\":\"c/a\",\"revision\":" + r + ",").endsWith("\"}\n").hasLineCount(1);
      assertThat(s.read(new RecordKey("c", "a")).orElseThrow().json()).isEqualTo("{\"short\":1}");
    }
  }

  @Test
  void aLongerOldVersionsTailNotYetCutIsIgnored() throws IOException {
    try (FileStorage s = open()) {
      put(s, "c", "a", "{\"v\":1}", 0);
    }
    // what a reader meets between a writer's in-place write and its cut to length
    Path file = dir.resolve("state/c/a.json");
    byte[] current = Files.readAllBytes(file);
    Files.write(file, (new String(current, UTF_8) + "{\"revision\":1,\"hash\":\"old\",\"value\":{\"v\":0}}").getBytes(UTF_8));
    try (FileStorage s = open()) {
      assertThat(s.read(new RecordKey("c", "a")).orElseThrow().json()).isEqualTo("{\"v\":1}");
    }
  }

  @Test
  void aDocumentFailingItsChecksumIsReportedAndAHandWrittenOneWithoutChecksumIsRead() throws IOException {
    try (FileStorage s = open()) {
      put(s, "c", "a", "{\"v\":11}", 0);
      put(s, "c", "b", "{\"v\":2}", 0);
    }
    Path a = dir.resolve("state/c/a.json");
    Files.writeString(a, Files.readString(a).replace("\"v\":11", "\"v\":12")); // a hand edit keeping the old checksum
    Files.writeString(dir.resolve("state/c/b.json"), "{\n  \"revision\": 2,\n  \"hash\": \"hb\",\n  \"value\": {\"v\": 3}\n}\n");
    try (FileStorage s = open()) {
      assertThatThrownBy(() -> s.read(new RecordKey("c", "a"))).isInstanceOfSatisfying(CorruptFileException.class,
          e -> assertThat(e.file()).isEqualTo(a)).hasMessageContaining("checksum mismatch");
      StoredRecord b = s.read(new RecordKey("c", "b")).orElseThrow();
      assertThat(b.json()).isEqualTo("{\"v\": 3}");
      assertThat(b.revision()).isEqualTo(2);
    }
  }

  @Test
  void aDocumentTornByAKilledWriterIsCompletedFromTheJournalWhenRead() throws IOException {
    try (FileStorage s = open()) {
      long r = put(s, "c", "a", "{\"v\":\"" + "x".repeat(3000) + "\"}", 0).revisions().get(0);
      // another process journaled a new version, started overwriting the file in place, and was killed
      JournalCodec.JournalEntry entry = new JournalCodec.JournalEntry(r + 1, s.lastEventId(), List.of(
          new JournalCodec.JournalWrite(new RecordKey("c", "a"), r + 1, "{\"v\":\"new\"}", "hn")), List.of());
      writeAtJournalEnd(JournalCodec.encodeEntry(entry));
      Path file = dir.resolve("state/c/a.json");
      byte[] bytes = Files.readAllBytes(file);
      byte[] torn = DocumentCodec.encodeDocument(new RecordKey("c", "a"), r + 1, "hn", "{\"v\":\"new\"}", List.of());
      System.arraycopy(torn, 0, bytes, 0, 30); // only its first bytes (to its revision) reached the file
      Files.write(file, bytes);
      StoredRecord read = s.read(new RecordKey("c", "a")).orElseThrow();
      assertThat(read.revision()).isEqualTo(r + 1);
      assertThat(read.json()).isEqualTo("{\"v\":\"new\"}");
    }
  }

  @Test
  void valuesOfEveryJsonKindComeBackExactly() {
    List<String> values = List.of("\"text with \\\"quotes\\\" and \\u00e9\"", "12.5", "-3", "true", "false", "null",
        "[]", "{}", "[{\"a\":{}}]", "\"\"", "1e+21");
    try (FileStorage s = open()) {
      for (int i = 0; i < values.size(); i++) {
        put(s, "kinds", "k" + i, values.get(i), 0);
      }
      for (int i = 0; i < values.size(); i++) {
        assertThat(s.read(new RecordKey("kinds", "k" + i)).orElseThrow().json()).isEqualTo(values.get(i));
      }
    }
    try (FileStorage s = open()) {
      List<StoredEvent> events = s.readEvents(0, 100);
      for (int i = 0; i < values.size(); i++) {
        assertThat(events.get(i).detailsJson()).isEqualTo("{\"json\":" + values.get(i) + "}");
      }
    }
  }

  @Test
  void eventLinesCarryTheFieldsAndAChecksumJqCanRead() throws IOException {
    try (FileStorage s = open()) {
      append(s, 2);
    }
    List<String> lines = Files.readAllLines(segment());
    assertThat(segment().getFileName().toString()).isEqualTo("00000000000000000001.jsonl");
    assertThat(lines).hasSize(2);
    assertThat(lines.get(0)).matches("\\{\"id\":1,\"ts\":\"2026-01-01T00:00:00Z\",\"event\":\"note\",\"actor\":\"tester\","
        + "\"target\":\"t/0\",\"details\":\\{\"n\":0\\},\"crc32c\":\"[0-9a-f]{8}\"}");
    byte[] line = (lines.get(1) + "\n").getBytes(UTF_8);
    assertThat(Lines.verify(line, 0, line.length - 1)).isTrue();
  }

  @Test
  void stateSurvivesReopeningWithRevisionsAndEventIdsContinuing() {
    long revision;
    try (FileStorage s = open()) {
      revision = put(s, "c", "a", "1", 0).revisions().get(0);
      put(s, "c", "a", "2", revision);
      s.commit(Commit.of(List.of(), List.of(Write.delete(new RecordKey("c", "a"))), List.of()));
    }
    try (FileStorage s = open()) {
      assertThat(s.read(new RecordKey("c", "a"))).isEmpty();
      CommitResult.Committed c = put(s, "c", "a", "3", 0);
      assertThat(c.revisions().get(0)).isEqualTo(revision + 3); // the delete consumed a revision
      assertThat(c.events().get(0).id()).isEqualTo(3);
      assertThat(s.lastEventId()).isEqualTo(3);
    }
  }

  @Test
  void readsAfterAnyPositionAcrossManySegments() {
    Random random = new Random(42);
    try (FileStorage s = FileStorage.builder(dir).clock(clock).segmentBytes(4096).open()) {
      append(s, 1500);
      assertThat(s.lastEventId()).isEqualTo(1500);
      for (int i = 0; i < 200; i++) {
        long after = random.nextInt(1500);
        int limit = 1 + random.nextInt(300);
        List<StoredEvent> got = s.readEvents(after, limit);
        assertThat(got).hasSize((int) Math.min(limit, 1500 - after));
        for (int j = 0; j < got.size(); j++) {
          assertThat(got.get(j).id()).isEqualTo(after + 1 + j);
          assertThat(got.get(j).target()).isEqualTo("t/" + (after + j));
        }
      }
      // a tailing reader continuing where it stopped
      long seen = 0;
      List<Long> ids = new ArrayList<>();
      for (List<StoredEvent> page; !(page = s.readEvents(seen, 64)).isEmpty(); seen = page.get(page.size() - 1).id()) {
        page.forEach(e -> ids.add(e.id()));
      }
      assertThat(ids).hasSize(1500).isSorted().doesNotHaveDuplicates();
    }
    try (Stream<Path> files = Files.list(dir.resolve("events"))) {
      assertThat(files.count()).isGreaterThan(20);
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void aTailReadingOneEventAtATimeGetsEveryEventWholeWhateverItsSize() {
    // sizes around the reader's buffer: a read sizes it to the bytes there are (a line or two for a tail), at most
    // 64 KiB, and grows it for a longer line; segments of 4 KiB, so most events start a new segment
    int[] sizes = {10, 4_000, 70_000, 1, 65_400, 65_600, 200_000, 3, 131_000, 5_000, 20};
    try (FileStorage s = FileStorage.builder(dir).clock(clock).segmentBytes(4096).open()) {
      long seen = 0;
      assertThat(s.readEvents(seen, 1)).isEmpty();
      for (int i = 0; i < sizes.length; i++) {
        String details = "{\"text\":\"" + "x".repeat(sizes[i]) + "\"}";
        s.commit(Commit.of(List.of(), List.of(), List.of(new NewEvent("note", "tester", "t/" + i, details))));
        List<StoredEvent> got = s.readEvents(seen, 1);
        assertThat(got).as("event %d", i + 1).hasSize(1);
        assertThat(got.get(0).id()).isEqualTo(i + 1);
        assertThat(got.get(0).detailsJson()).isEqualTo(details);
        seen = got.get(0).id();
        assertThat(s.readEvents(seen, 1)).as("after event %d", seen).isEmpty();
      }
      // and in one read from the start, whose first buffer is a full block
      List<StoredEvent> all = s.readEvents(0, 100);
      assertThat(all).extracting(StoredEvent::id).containsExactly(LongStream.rangeClosed(1, sizes.length).boxed()
          .toArray(Long[]::new));
      for (int i = 0; i < sizes.length; i++) {
        assertThat(all.get(i).detailsJson()).hasSize(sizes[i] + 11);
      }
    }
  }

  @Test
  void aTailGetsAnotherProcesssEventsAsTheyComeInSegmentsFullAndNot() throws IOException {
    // another process's writer, done by hand: lines appended to the newest segment until it holds segmentBytes, then
    // the next segment, named by its first id, which this JVM's writer never created (a read finds it once the segment
    // before it is full); every read in between ends at a segment that is not full
    try (FileStorage s = FileStorage.builder(dir).clock(clock).segmentBytes(4096)
        .durability(FileStorage.Durability.NONE).open()) {
      append(s, 1);
      long seen = s.readEvents(0, 10).get(0).id();
      long segmentStart = 1;
      for (long id = 2; id <= 40; id++) {
        Path segment = dir.resolve("events/" + EventSegments.segmentName(segmentStart));
        if (Files.size(segment) >= 4096) {
          segmentStart = id;
          segment = dir.resolve("events/" + EventSegments.segmentName(segmentStart));
        }
        byte[] line = Codec.encodeEvent(new StoredEvent(id, Instant.parse("2026-12-06T00:00:00Z"), "n", "other",
            "t/" + id, "{\"p\":\"" + "y".repeat(700) + "\"}"));
        Files.write(segment, line, StandardOpenOption.CREATE, StandardOpenOption.APPEND);

        List<StoredEvent> got = s.readEvents(seen, 10);
        assertThat(got).as("after %d", seen).extracting(StoredEvent::id).containsExactly(id);
        assertThat(got.get(0).target()).isEqualTo("t/" + id);
        seen = id;
        assertThat(s.readEvents(seen, 10)).as("after %d", seen).isEmpty();
      }
      try (Stream<Path> segments = Files.list(dir.resolve("events"))) {
        assertThat(segments.count()).as("segments").isGreaterThanOrEqualTo(5);
      }
      assertThat(s.readEvents(0, 100)).extracting(StoredEvent::id)
          .containsExactly(LongStream.rangeClosed(1, 40).boxed().toArray(Long[]::new));
    }
  }

  // ------------------------------------------------------------------------------- recovery

  @Test
  void aTornLastLineIsCutOffOnOpen() throws IOException {
    try (FileStorage s = open()) {
      append(s, 3);
    }
    Path seg = segment();
    long size = Files.size(seg);
    Files.write(seg, "{\"id\":4,\"ts\":\"2026-01-01T00:0".getBytes(UTF_8), StandardOpenOption.APPEND);
    try (FileStorage s = open()) {
      assertThat(Files.size(seg)).isEqualTo(size);
      assertThat(s.readEvents(0, 10)).extracting(StoredEvent::id).containsExactly(1L, 2L, 3L);
      append(s, 1);
      assertThat(s.readEvents(3, 10)).extracting(StoredEvent::target).containsExactly("t/0");
    }
  }

  @Test
  void aLastLineWithABadChecksumIsCutOffOnOpen() throws IOException {
    try (FileStorage s = open()) {
      append(s, 3);
    }
    Path seg = segment();
    byte[] bytes = Files.readAllBytes(seg);
    int at = bytes.length - 30; // inside the last line's checksum or details
    bytes[at] = (byte) (bytes[at] == '0' ? '1' : '0');
    Files.write(seg, bytes);
    try (FileStorage s = open()) {
      // event 3 was acknowledged: its damaged line is cut and rewritten from the journal, never forgotten
      assertThat(s.readEvents(0, 10)).extracting(StoredEvent::id).containsExactly(1L, 2L, 3L);
      assertThat(s.lastEventId()).isEqualTo(3);
    }
  }

  @Test
  void aFlippedByteMidLogIsReportedWithFileAndOffsetNotSkipped() throws IOException {
    try (FileStorage s = open()) {
      append(s, 5);
      put(s, "c", "kept", "{\"ok\":true}", 0);
    }
    Path seg = segment();
    List<String> lines = Files.readAllLines(seg);
    long offset = (lines.get(0) + "\n" + lines.get(1) + "\n").getBytes(UTF_8).length;
    byte[] bytes = Files.readAllBytes(seg);
    int inDetails = (int) offset + lines.get(2).indexOf("\"n\":2") + 4;
    bytes[inDetails] = '7';
    Files.write(seg, bytes);
    Path realSegment = seg.toRealPath();
    try (FileStorage s = open()) {
      // damage past the events before it does not fail their read; the read that would return it fails
      assertThat(s.readEvents(0, 10)).extracting(StoredEvent::id).containsExactly(1L, 2L);
      assertThatThrownBy(() -> s.readEvents(2, 10))
          .isInstanceOfSatisfying(CorruptFileException.class, e -> {
            assertThat(e.file()).isEqualTo(realSegment);
            assertThat(e.offset()).isEqualTo(offset);
          })
          .hasMessageContaining(seg.getFileName().toString())
          .hasMessageContaining("offset " + offset)
          .hasMessageContaining("checksum");
      assertThat(s.readEvents(0, 2)).hasSize(2);
      assertThat(s.readEvents(3, 10)).extracting(StoredEvent::id).containsExactly(4L, 5L, 6L);
      assertThat(s.read(new RecordKey("c", "kept"))).isPresent();
    }
  }

  @Test
  void aHandEditedDocumentThatIsNotJsonIsReportedAndOthersStayReadable() throws IOException {
    try (FileStorage s = open()) {
      put(s, "c", "good", "{\"a\":1}", 0);
      put(s, "c", "bad", "{\"a\":2}", 0);
    }
    Path bad = dir.resolve("state/c/bad.json");
    Files.writeString(bad, "{\"revision\":2,\"hash\":\"h7\",\"value\":{\"a\":2,}\n");
    try (FileStorage s = open()) {
      assertThatThrownBy(() -> s.read(new RecordKey("c", "bad")))
          .isInstanceOfSatisfying(CorruptFileException.class, e -> {
            assertThat(e.file().getFileName().toString()).isEqualTo("bad.json");
            assertThat(e.offset()).isEqualTo(41); // the stray closing brace
          })
          .hasMessageContaining("bad.json").hasMessageContaining("offset 41");
      assertThat(s.read(new RecordKey("c", "good")).orElseThrow().json()).isEqualTo("{\"a\":1}");
      // a list passes over it (with a warning naming it) instead of failing for the whole collection
      assertThat(s.list("c", null, 10)).extracting(StoredRecord::json).containsExactly("{\"a\":1}");
      // a write conditioned on the damaged document fails loudly; others go through
      RecordKey badKey = new RecordKey("c", "bad");
      assertThatThrownBy(() -> s.commit(Commit.of(List.of(new Expectation(badKey, 2)),
          List.of(Write.put(badKey, "1", "h")), List.of()))).isInstanceOf(CorruptFileException.class);
      put(s, "c", "other", "3", 0);
    }
  }

  @Test
  void leftoverTemporaryFilesAreRemovedOnOpen() throws IOException {
    try (FileStorage s = open()) {
      put(s, "c", "a", "1", 0);
    }
    Path tempDoc = dir.resolve("state/c/.a.json.5f3a.tmp");
    Path tempCheckpoint = dir.resolve(".checkpoint.json.77.tmp");
    Files.writeString(tempDoc, "{\"revision\":9,\"hash\":\"h\",\"val");
    Files.writeString(tempCheckpoint, "{\"revi");
    try (FileStorage s = open()) {
      assertThat(tempDoc).doesNotExist();
      assertThat(tempCheckpoint).doesNotExist();
      assertThat(s.list("c", null, 10)).extracting(StoredRecord::json).containsExactly("1");
    }
  }

  @Test
  void aJournaledButUnappliedCommitIsCompletedOnOpen() throws IOException {
    long revision;
    try (FileStorage s = open()) {
      revision = put(s, "c", "a", "1", 0).revisions().get(0);
    }
    // what a process killed between forcing the journal and applying it leaves behind
    RecordKey a = new RecordKey("c", "a");
    RecordKey b = new RecordKey("c", "b");
    StoredEvent e1 = new StoredEvent(2, T0, "x", "w", "c/a", "{}");
    StoredEvent e2 = new StoredEvent(3, T0, "y", "w", "c/b", "{\"z\":[1]}");
    JournalCodec.JournalEntry entry = new JournalCodec.JournalEntry(revision + 2, 3, List.of(
        new JournalCodec.JournalWrite(a, revision + 1, null, null),
        new JournalCodec.JournalWrite(b, revision + 2, "{\"new\":true}", "hb")), List.of(e1, e2));
    writeAtJournalEnd(JournalCodec.encodeEntry(entry));
    try (FileStorage s = open()) {
      assertThat(s.read(a)).isEmpty();
      StoredRecord rb = s.read(b).orElseThrow();
      assertThat(rb.revision()).isEqualTo(revision + 2);
      assertThat(rb.json()).isEqualTo("{\"new\":true}");
      assertThat(s.readEvents(1, 10)).containsExactly(e1, e2);
      assertThat(put(s, "c", "d", "4", 0).revisions().get(0)).isEqualTo(revision + 3);
    }
  }

  @Test
  void aFullReplayAfterALostHeaderIsIdempotent() throws IOException {
    try (FileStorage s = FileStorage.builder(dir).clock(clock).checkpointBytes(1 << 20).open()) {
      long r = put(s, "c", "a", "1", 0).revisions().get(0);
      r = put(s, "c", "a", "2", r).revisions().get(0);
      s.commit(Commit.of(List.of(), List.of(Write.delete(new RecordKey("c", "a"))), List.of()));
      put(s, "c", "b", "3", 0);
    }
    assertThat(journalLength()).isPositive();
    // as after a reboot: the header (kept in the page cache only) is gone
    Files.write(dir.resolve("collab.lock"), new byte[0]);
    try (FileStorage s = open()) {
      assertThat(s.read(new RecordKey("c", "a"))).isEmpty();
      assertThat(s.read(new RecordKey("c", "b")).orElseThrow().json()).isEqualTo("3");
      assertThat(s.readEvents(0, 10)).hasSize(3);
      assertThat(put(s, "c", "e", "5", 0).revisions().get(0)).isEqualTo(5);
      assertThat(journalLength()).isLessThan(1000); // checkpointed after replay
    }
  }

  @Test
  void aTornJournalTailIsCutAndNeverApplied() throws IOException {
    try (FileStorage s = open()) {
      put(s, "c", "a", "1", 0);
    }
    long length = journalLength();
    writeAtJournalEnd("{\"revision\":9,\"eventId\":2,\"writes\":[{\"collection\":\"c\",\"id\":\"x\"".getBytes(UTF_8));
    try (FileStorage s = open()) {
      assertThat(journalLength()).isEqualTo(length);
      assertThat(s.read(new RecordKey("c", "x"))).isEmpty();
      assertThat(s.lastEventId()).isEqualTo(1);
      assertThat(put(s, "c", "y", "2", 0).revisions()).containsExactly(2L);
    }
    try (FileStorage s = open()) {
      assertThat(s.read(new RecordKey("c", "y")).orElseThrow().json()).isEqualTo("2");
    }
  }

  @Test
  void bytesPastTheZerosOfThePreallocatedJournalAreCut() throws IOException {
    // a write whose first page never reached the disk while a later one did: never acknowledged
    try (FileStorage s = open()) {
      put(s, "c", "a", "1", 0);
    }
    Path journal = dir.resolve("journal.jsonl");
    long length = journalLength();
    assertThat(Files.size(journal)).isGreaterThan(length + 100);
    try (FileChannel ch = FileChannel.open(journal, StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.wrap("garbage\n".getBytes(UTF_8)), length + 100);
    }
    try (FileStorage s = open()) {
      assertThat(journalLength()).isEqualTo(length);
      assertThat(Arrays.copyOfRange(Files.readAllBytes(journal), (int) length, (int) Files.size(journal)))
          .containsOnly((byte) 0);
      assertThat(put(s, "c", "b", "2", 0).revisions()).containsExactly(2L);
    }
  }

  @Test
  void aJournalEntryWithDetailsAsTextFromTheEarlierJournalFormatIsReplayed() throws IOException {
    try (FileStorage s = open()) {
      put(s, "c", "a", "1", 0);
    }
    // journals written before events were embedded raw held each event's details as a JSON string
    String object = "{\"revision\":1,\"eventId\":2,\"writes\":[],\"events\":[{\"id\":2,\"ts\":\"" + T0
        + "\",\"event\":\"x\",\"actor\":\"w\",\"target\":\"t\",\"details\":\"{\\\"k\\\":[1]}\"}]}";
    writeAtJournalEnd(Lines.frame(object.getBytes(UTF_8)));
    try (FileStorage s = open()) {
      assertThat(s.readEvents(1, 10)).containsExactly(new StoredEvent(2, T0, "x", "w", "t", "{\"k\":[1]}"));
    }
  }

  /** The journal's logical length: up to the first zero byte of its preallocated tail. */
  private long journalLength() throws IOException {
    byte[] bytes = Files.readAllBytes(dir.resolve("journal.jsonl"));
    for (int i = 0; i < bytes.length; i++) {
      if (bytes[i] == 0) {
        return i;
      }
    }
    return bytes.length;
  }

  /** Writes bytes where the next journal line would go, as a process killed after writing them leaves them. */
  private void writeAtJournalEnd(byte[] bytes) throws IOException {
    long at = journalLength();
    try (FileChannel ch = FileChannel.open(dir.resolve("journal.jsonl"), StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.wrap(bytes), at);
    }
  }

  @Test
  void damageInsideTheJournalStopsTheOpenWithFileAndOffset() throws IOException {
    try (FileStorage s = open()) {
      put(s, "c", "a", "1", 0);
      put(s, "c", "b", "2", 0);
    }
    Path journal = dir.resolve("journal.jsonl");
    byte[] bytes = Files.readAllBytes(journal);
    bytes[20] ^= 1;
    Files.write(journal, bytes);
    Files.write(dir.resolve("collab.lock"), new byte[0]); // force a full replay
    assertThatThrownBy(this::open).isInstanceOfSatisfying(CorruptFileException.class,
        e -> assertThat(e.offset()).isZero()).hasMessageContaining("journal.jsonl");
  }

  @Test
  void checkpointsKeepTheJournalSmall() throws IOException {
    try (FileStorage s = FileStorage.builder(dir).clock(clock).checkpointBytes(4096).open()) {
      long r = 0;
      for (int i = 0; i < 200; i++) {
        r = put(s, "c", "a", "{\"i\":" + i + "}", r).revisions().get(0);
      }
      assertThat(journalLength()).isLessThan(4096 + 1024);
      assertThat(Files.size(dir.resolve("journal.jsonl"))).isLessThanOrEqualTo(2 * 4096); // preallocated
      assertThat(Files.readString(dir.resolve("checkpoint.json"))).startsWith("{\"revision\":");
    }
    try (FileStorage s = open()) {
      assertThat(s.read(new RecordKey("c", "a")).orElseThrow().json()).isEqualTo("{\"i\":199}");
      assertThat(s.lastEventId()).isEqualTo(200);
    }
  }

  // ------------------------------------------------------------------------------- security

  @Test
  void filesAreOwnerOnly() throws IOException {
    Path root = dir.resolve("fresh");
    try (FileStorage s = FileStorage.builder(root).clock(clock).open()) {
      put(s, "c", "a", "1", 0);
    }
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(root))).isEqualTo("rwx------");
    for (String d : List.of("state", "state/c", "events")) {
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(root.resolve(d)))).as(d)
          .isEqualTo("rwx------");
    }
    for (String f : List.of("state/c/a.json", "collab.lock", "journal.jsonl", "format.json",
        "events/00000000000000000001.jsonl")) {
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(root.resolve(f)))).as(f)
          .isEqualTo("rw-------");
    }
  }

  @Test
  void namesThatCouldEscapeTheRootAreRejectedBeforeAnyPathIsBuilt() {
    try (FileStorage s = open()) {
      for (String bad : List.of("..", ".", "../x", "a/b", "/etc", "a\\b", "", ".hidden", "x".repeat(129))) {
        assertThatThrownBy(() -> s.read(new RecordKey("c", bad))).as(bad)
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("id must match");
        assertThatThrownBy(() -> s.list(bad, null, 1)).as(bad)
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("collection must match");
        RecordKey key = new RecordKey(bad, "x");
        assertThatThrownBy(() -> s.commit(Commit.of(List.of(), List.of(Write.put(key, "1", "h")), List.of())))
            .as(bad).isInstanceOf(IllegalArgumentException.class);
      }
      assertThat(s.lastEventId()).isZero();
    }
  }

  @Test
  void aCollectionDirectoryThatIsALinkOutOfTheRootIsRefused() throws IOException {
    Path outside = Files.createDirectory(dir.resolve("outside"));
    Path root = dir.resolve("root");
    try (FileStorage s = FileStorage.builder(root).clock(clock).open()) {
      Files.createSymbolicLink(root.resolve("state/c"), outside);
      assertThatThrownBy(() -> put(s, "c", "a", "1", 0)).isInstanceOf(StorageException.class)
          .hasMessageContaining("not a directory inside the store");
      assertThatThrownBy(() -> s.read(new RecordKey("c", "a"))).isInstanceOf(StorageException.class);
    }
    try (Stream<Path> files = Files.list(outside)) {
      assertThat(files).isEmpty();
    }
  }

  @Test
  void aDocumentFileThatIsALinkIsNotFollowed() throws IOException {
    Path secret = Files.writeString(dir.resolve("secret.json"), "{\"revision\":1,\"hash\":\"h\",\"value\":\"secret\"}");
    Path root = dir.resolve("root");
    try (FileStorage s = FileStorage.builder(root).clock(clock).open()) {
      put(s, "c", "a", "1", 0);
      Files.createSymbolicLink(root.resolve("state/c/b.json"), secret);
      assertThatThrownBy(() -> s.read(new RecordKey("c", "b"))).isInstanceOf(StorageException.class);
    }
  }

  // -------------------------------------------------------------------------------- handles

  @Test
  void concurrentWritersShareJournalForces() throws Exception {
    try (FileStorage s = open()) {
      int threads = 16;
      int each = 40;
      java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(threads);
      List<java.util.concurrent.Future<?>> futures = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        String id = "w" + t;
        futures.add(pool.submit(() -> {
          long r = 0;
          for (int i = 0; i < each; i++) {
            r = put(s, "c", id, "{\"i\":" + i + "}", r).revisions().get(0);
          }
        }));
      }
      for (java.util.concurrent.Future<?> f : futures) {
        f.get();
      }
      pool.shutdown();
      long[] stats = s.commitStatistics();
      assertThat(stats[1]).isEqualTo((long) threads * each);
      // every commit is durable, so the journal is forced, yet batches share one force: fewer forces than commits
      assertThat(stats[0]).as("journal forces for %d commits", stats[1]).isPositive().isLessThan(stats[1] * 3 / 4);
      assertThat(s.lastEventId()).isEqualTo((long) threads * each);
    }
  }

  @Test
  void anInterruptedCallerNeitherBreaksTheStoreNorLosesItsInterrupt() throws Exception {
    try (FileStorage s = open()) {
      java.util.concurrent.atomic.AtomicReference<Object> outcome = new java.util.concurrent.atomic.AtomicReference<>();
      Thread t = new Thread(() -> {
        Thread.currentThread().interrupt();
        outcome.set(put(s, "c", "a", "1", 0));
        outcome.set(Thread.currentThread().isInterrupted() ? outcome.get() : "interrupt status lost");
        try {
          s.readEvents(0, 10); // may fail for this thread only: its own channel was closed
        } catch (StorageException expected) {
          // fine
        }
      });
      t.start();
      t.join();
      assertThat(outcome.get()).isInstanceOf(CommitResult.Committed.class);
      put(s, "c", "b", "2", 0);
      assertThat(s.readEvents(0, 10)).hasSize(2);
    }
    try (FileStorage s = open()) {
      assertThat(s.list("c", null, 10)).hasSize(2);
    }
  }

  @Test
  void handlesOnOneDirectoryShareOneEngineAndOptionsMustAgree() {
    try (FileStorage a = open(); FileStorage b = open()) {
      put(a, "c", "x", "1", 0);
      assertThat(b.read(new RecordKey("c", "x"))).isPresent();
      assertThatThrownBy(() -> FileStorage.builder(dir).durability(FileStorage.Durability.NONE).open())
          .isInstanceOf(IllegalStateException.class).hasMessageContaining("other options");
      a.close();
      assertThat(b.lastEventId()).isEqualTo(1);
      assertThatThrownBy(() -> a.read(new RecordKey("c", "x"))).isInstanceOf(StorageException.class)
          .hasMessageContaining("closed");
    }
  }

  @Test
  void builderOptionsAreCheckedAndSetOnce() {
    FileStorage.Builder b = FileStorage.builder(dir);
    assertThatThrownBy(() -> b.segmentBytes(100)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("segmentBytes must be at least 4096: 100");
    assertThatThrownBy(() -> b.pollInterval(java.time.Duration.ZERO)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("pollInterval must be between");
    b.clock(clock);
    assertThatThrownBy(() -> b.clock(clock)).isInstanceOf(IllegalStateException.class)
        .hasMessage("clock is already set");
    assertThatThrownBy(() -> FileStorage.open(null)).isInstanceOf(NullPointerException.class).hasMessage("root");
  }

  @Test
  void anotherFormatIsRefused() throws IOException {
    Files.writeString(dir.resolve("format.json"), "{\"format\":\"collab-file\",\"version\":99,\"segmentBytes\":4096}");
    assertThatThrownBy(this::open).isInstanceOf(StorageException.class)
        .hasMessageContaining("unsupported store format version 99");
  }
}
