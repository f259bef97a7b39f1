package io.kyros.collab.file;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.NewEvent;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bug (found in review of the fix that stopped the open cutting forced event lines): the damaged last line's event id
 * was taken from the line before it without checking that line was whole. A byte of the forced last line turned into
 * a newline splits it in two, and the head's id passed the tail off as the next, unforced event, which was cut; a line
 * before with a damaged id let the forced line be cut too. A line before that is not whole now means the damage is
 * reported, with nothing cut.
 */
@Timeout(120)
class ForcedEventLineTest {
  @TempDir
  Path dir;

  private FileStorage open() {
    return FileStorage.builder(dir).durability(FileStorage.Durability.NONE).open();
  }

  private static void append(FileStorage s, int count) {
    for (int i = 0; i < count; i++) {
      s.commit(Commit.of(List.of(), List.of(), List.of(new NewEvent("note", "tester", "t/" + i, "{\"n\":" + i + "}"))));
    }
  }

  private long checkpointEventId() throws IOException {
    byte[] b = Files.readAllBytes(dir.resolve("checkpoint.json"));
    return Codec.decodeCounters(b, b.length).eventId();
  }

  /** Events until a checkpoint covers every one (the journal holds none of them); the store closed; the newest segment. */
  private Path eventsAllCheckpointed() throws IOException {
    try (FileStorage s = FileStorage.builder(dir).durability(FileStorage.Durability.NONE).checkpointBytes(4096)
        .open()) {
      int n = 0;
      do {
        append(s, 1);
        n++;
      } while (checkpointEventId() != s.lastEventId() && n < 1000);
      assertThat(checkpointEventId()).isEqualTo(s.lastEventId());
    }
    try (Stream<Path> files = Files.list(dir.resolve("events"))) {
      List<Path> segments = files.filter(f -> f.getFileName().toString().endsWith(".jsonl")).sorted().toList();
      return segments.get(segments.size() - 1);
    }
  }

  private static int lastLineStart(byte[] bytes) {
    int start = bytes.length - 1;
    while (start > 0 && bytes[start - 1] != '\n') {
      start--;
    }
    return start;
  }

  private static int previousLineStart(byte[] bytes, int lastStart) {
    int start = lastStart - 1;
    while (start > 0 && bytes[start - 1] != '\n') {
      start--;
    }
    return start;
  }

  private void theOpenReportsItAndCutsNothing(Path segment, byte[] bytes) throws IOException {
    assertThatThrownBy(this::open).as("the open reports the damaged forced line")
        .isInstanceOfSatisfying(CorruptFileException.class,
            e -> assertThat(e.file().getFileName()).as(e.getMessage()).isEqualTo(segment.getFileName()));
    assertThat(Arrays.equals(Files.readAllBytes(segment), bytes)).as("the open cut nothing off %s", segment).isTrue();
  }

  /**
   * One byte of the forced last line, in its "event" member, turned into a newline: the line's tail, after that
   * newline, fails its checksum; its id is taken as the line before's plus one, that "line" being the head of the same
   * event, so the tail is cut as torn (id checkpoint + 1), the open succeeds and event N is left as a truncated line.
   */
  @Test
  void aNewlineInsideTheForcedLastEventLineIsReportedNotCut() throws IOException {
    Path segment = eventsAllCheckpointed();
    byte[] bytes = Files.readAllBytes(segment);
    int start = lastLineStart(bytes);
    int at = new String(bytes, start, bytes.length - start, UTF_8).indexOf("\"event\":") + start + 3;
    bytes[at] = '\n';
    Files.write(segment, bytes);

    theOpenReportsItAndCutsNothing(segment, bytes);
  }

  /**
   * Two damaged bytes: the forced last line fails its checksum and the line before it lost its id prefix. idAt then
   * returns Long.MAX_VALUE ("cannot be read") and the forced line is cut as torn.
   */
  @Test
  void aForcedLastLineAfterALineWithADamagedIdIsReportedNotCut() throws IOException {
    Path segment = eventsAllCheckpointed();
    byte[] bytes = Files.readAllBytes(segment);
    int start = lastLineStart(bytes);
    int at = new String(bytes, start, bytes.length - start, UTF_8).indexOf("\"n\":") + start + 4;
    bytes[at] = (byte) (bytes[at] == '7' ? '8' : '7');
    int previous = previousLineStart(bytes, start);
    bytes[previous + 2] = 'X'; // {"id": -> {"Xd":
    Files.write(segment, bytes);

    theOpenReportsItAndCutsNothing(segment, bytes);
  }
}
