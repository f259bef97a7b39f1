package io.kyros.collab.file;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Write;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Writes that never fully reached the disk or the file: what recovery cuts, and what is never overwritten in place. */
class TornWritesTest {
  @TempDir
  Path dir;

  private final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));

  private FileStorage open() {
    return FileStorage.builder(dir).clock(clock).checkpointBytes(1 << 20).open();
  }

  private static long put(FileStorage s, String id, String json, long expected) {
    RecordKey key = new RecordKey("c", id);
    CommitResult r = s.commit(Commit.of(List.of(new Expectation(key, expected)),
        List.of(Write.put(key, json, "h" + json.length())), List.of()));
    return ((CommitResult.Committed) r).revisions().get(0);
  }

  /**
   * Power loss during an unacknowledged group commit of two big lines: the page in the middle of the first line never
   * reached the disk (zeros), a later page with the end of line 1 and all of line 2 did. Nothing of it was acknowledged,
   * so recovery cuts it, as it does when the hole is at a line start.
   */
  @Test
  void aZeroHoleInsideAnUnacknowledgedLineIsCutLikeAHoleAtALineStart() throws Exception {
    try (FileStorage s = open()) {
      put(s, "base", "1", 0);
    }
    Path journal = dir.resolve("journal.jsonl");
    byte[] before = Files.readAllBytes(journal);
    int end = 0;
    while (before[end] != 0) {
      end++;
    }
    // the batch: two commits written with one write, never forced
    try (FileStorage s = open()) {
      put(s, "a", "\"" + "x".repeat(9000) + "\"", 0);
      put(s, "b", "\"" + "y".repeat(9000) + "\"", 0);
    }
    byte[] bytes = Files.readAllBytes(journal);
    // page-aligned 4 KiB hole inside line 1 (starts at `end`), as after a power loss
    int hole = ((end / 4096) + 1) * 4096;
    Arrays.fill(bytes, hole, hole + 4096, (byte) 0);
    Files.write(journal, bytes);
    Files.write(dir.resolve("collab.lock"), new byte[0]); // another boot: the header is gone
    try (FileStorage s = open()) {
      assertThat(s.read(new RecordKey("c", "base"))).isPresent();
      // (the batch's documents are in the files here because this JVM applied them; after a real power loss during
      // the force they would not exist: documents are written only once the journal is forced)
      assertThat(s.lastEventId()).isZero();
    }
  }

  /**
   * A document without a checksum (written by hand, or before documents were checksummed) cannot be told apart from
   * a mix of old and new bytes, so its next write replaces it by rename (a new file) instead of overwriting it in
   * place; from then on it is checksummed and overwritten in place.
   */
  @Test
  void aDocumentWithoutChecksumIsReplacedByRenameNotOverwrittenInPlace() throws Exception {
    try (FileStorage s = open()) {
      put(s, "a", "1", 0);
    }
    Path file = dir.resolve("state/c/a.json");
    Files.writeString(file, "{\"revision\":1,\"hash\":\"hA\",\"value\":{\"v\":\"aaaaaaaaaaaaaaaa\"}}\n");
    Object handWritten = Files.readAttributes(file, BasicFileAttributes.class).fileKey();
    try (FileStorage s = open()) {
      long r = put(s, "a", "{\"v\":\"bbbbbbbbbbbbbbbb\"}", 1);
      Object replaced = Files.readAttributes(file, BasicFileAttributes.class).fileKey();
      assertThat(replaced).isNotEqualTo(handWritten);
      assertThat(Files.readString(file)).contains("\"crc32c\":\"");
      put(s, "a", "{\"v\":\"c\"}", r);
      assertThat(Files.readAttributes(file, BasicFileAttributes.class).fileKey()).isEqualTo(replaced);
      assertThat(s.read(new RecordKey("c", "a")).orElseThrow().json()).isEqualTo("{\"v\":\"c\"}");
    }
  }

  /**
   * Power loss after appends that were never forced: the disk wrote back a later page of the newest segment but not
   * an earlier one, so whole lines follow a hole of zeros. The journal still holds those events (nothing was
   * checkpointed since), so recovery must cut the segment at the hole and append them again, not keep the whole
   * last line and leave the log unreadable in the middle.
   */
  @Test
  void aHoleInTheNewestSegmentsUnforcedTailIsCutAndReplayedFromTheJournal() throws Exception {
    List<String> details = new java.util.ArrayList<>();
    try (FileStorage s = open()) {
      for (int i = 0; i < 60; i++) {
        String d = "{\"n\":" + i + ",\"pad\":\"" + "p".repeat(200) + "\"}";
        details.add(d);
        s.commit(Commit.of(List.of(), List.of(), List.of(new NewEvent("e", "a", "t", d))));
      }
    }
    Path segment;
    try (var files = Files.list(dir.resolve("events"))) {
      segment = files.max(java.util.Comparator.naturalOrder()).orElseThrow();
    }
    byte[] bytes = Files.readAllBytes(segment);
    assertThat(bytes.length).as("the unforced tail spans more than two pages").isGreaterThan(3 * 4096);
    Arrays.fill(bytes, 4096, 2 * 4096, (byte) 0); // page 1 never reached the disk; pages 0 and 2.. did
    Files.write(segment, bytes);
    Files.write(dir.resolve("collab.lock"), new byte[0]); // another boot: the header is gone
    try (FileStorage s = open()) {
      var events = s.readEvents(0, 1000);
      assertThat(events).hasSize(60);
      for (int i = 0; i < 60; i++) {
        assertThat(events.get(i).id()).isEqualTo(i + 1);
        assertThat(events.get(i).detailsJson()).isEqualTo(details.get(i));
      }
      assertThat(s.lastEventId()).isEqualTo(60);
    }
  }
}
