package io.kyros.collab.file;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.kyros.collab.Collab;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@link FileStorage#check(Path)}: read-only, and each kind of damage reported with its file and offset. */
@Timeout(120)
class FileStorageCheckTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  @TempDir
  Path dir;

  /** Documents and events through the API (real hashes), small segments, a checkpoint and a journal. */
  private void store() throws IOException {
    try (FileStorage s = FileStorage.builder(dir).durability(FileStorage.Durability.NONE).segmentBytes(4096)
        .checkpointBytes(8192).open(); Collab c = Collab.builder().storage(s).holder("tester").build()) {
      for (int i = 0; i < 60; i++) {
        c.documents().put("c", "d" + (i % 5), MAPPER.readTree("{\"i\":" + i + "}"), io.kyros.collab.Preconditions.none());
        c.events().append("note", "t/" + i, MAPPER.readTree("{\"n\":" + i + "}"));
      }
    }
  }

  private List<Path> segments() throws IOException {
    try (Stream<Path> files = Files.list(dir.resolve("events"))) {
      return files.sorted().toList();
    }
  }

  private CheckReport.Problem onlyProblem() {
    CheckReport report = FileStorage.check(dir);
    assertThat(report.problems()).as(report.toString()).isNotEmpty();
    return report.problems().get(0);
  }

  private Map<Path, String> snapshot() throws IOException {
    Map<Path, String> out = new TreeMap<>();
    try (Stream<Path> all = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) all::iterator) {
        FileTime modified = Files.getLastModifiedTime(p);
        out.put(p, modified + (Files.isRegularFile(p) ? " " + java.util.Arrays.hashCode(Files.readAllBytes(p)) : ""));
      }
    }
    return out;
  }

  @Test
  void aSoundStoreHasNoProblemAndTheCheckChangesNothing() throws IOException {
    store();
    Map<Path, String> before = snapshot();
    CheckReport report = FileStorage.check(dir);
    assertThat(report.ok()).as(report.toString()).isTrue();
    // the 5 documents written, and the index version marker `_collab/indexes.kanban` Collab writes at open
    assertThat(report.documents()).isEqualTo(6);
    assertThat(report.events()).isEqualTo(120);
    assertThat(report.journalEntries()).isPositive();
    assertThat(snapshot()).isEqualTo(before);
  }

  @Test
  void aDocumentFailingItsChecksumIsReported() throws IOException {
    store();
    Path doc = dir.resolve("state/c/d2.json");
    byte[] b = Files.readAllBytes(doc);
    b[b.length / 2] ^= 1;
    Files.write(doc, b);
    CheckReport.Problem p = onlyProblem();
    assertThat(p.file()).isEqualTo(doc);
    assertThat(p.description()).contains("checksum");
  }

  @Test
  void aHandEditedDocumentWhoseHashDoesNotMatchItsValueIsReported() throws IOException {
    store();
    Path doc = dir.resolve("state/c/d1.json");
    String text = Files.readString(doc);
    String edited = text.substring(0, text.indexOf(",\"crc32c\"")).replace("\"i\":", "\"i\":1") + "}\n";
    Files.writeString(doc, edited);
    CheckReport.Problem p = onlyProblem();
    assertThat(p.file()).isEqualTo(doc);
    assertThat(p.description()).contains("hash");
  }

  @Test
  void aDocumentWithARevisionBeyondEveryCounterIsReported() throws IOException {
    store();
    Path doc = dir.resolve("state/c/d1.json");
    String text = Files.readString(doc);
    String edited = text.substring(0, text.indexOf(",\"crc32c\"")).replaceFirst("\"revision\":[0-9]+",
        "\"revision\":99999") + "}\n";
    Files.writeString(doc, edited);
    CheckReport.Problem p = onlyProblem();
    assertThat(p.file()).isEqualTo(doc);
    assertThat(p.description()).contains("revision 99999");
  }

  @Test
  void aDamagedEventLineIsReportedWithItsOffset() throws IOException {
    store();
    Path seg = segments().get(0);
    List<String> lines = Files.readAllLines(seg);
    long offset = (lines.get(0) + "\n" + lines.get(1) + "\n").getBytes(UTF_8).length;
    byte[] b = Files.readAllBytes(seg);
    int at = (int) offset + lines.get(2).indexOf("\"details\"") + 12;
    b[at] ^= 1;
    Files.write(seg, b);
    CheckReport.Problem p = onlyProblem();
    assertThat(p.file()).isEqualTo(seg);
    assertThat(p.offset()).isEqualTo(offset);
  }

  @Test
  void aHoleInTheSegmentChainIsReportedAsTheMissingSegment() throws IOException {
    store();
    Path middle = segments().get(1);
    Files.delete(middle);
    CheckReport.Problem p = onlyProblem();
    assertThat(p.file()).isEqualTo(middle);
    assertThat(p.description()).startsWith("missing");
  }

  @Test
  void anEmptiedOlderSegmentIsReported() throws IOException {
    store();
    Path first = segments().get(0);
    Files.write(first, new byte[0]);
    CheckReport report = FileStorage.check(dir);
    assertThat(report.problems()).anySatisfy(p -> {
      assertThat(p.file()).isEqualTo(first);
      assertThat(p.description()).contains("empty");
    });
  }

  @Test
  void aRemovedNewestSegmentIsReportedAsEventsHandedOutButMissing() throws IOException {
    store();
    List<Path> segments = segments();
    Path newest = segments.get(segments.size() - 1);
    Files.delete(newest);
    CheckReport.Problem p = onlyProblem();
    assertThat(p.file()).isEqualTo(newest);
    assertThat(p.description()).contains("handed out");
  }

  @Test
  void aMissingJournalIsReported() throws IOException {
    store();
    Files.delete(dir.resolve("journal.jsonl"));
    CheckReport.Problem p = onlyProblem();
    assertThat(p.file()).isEqualTo(dir.resolve("journal.jsonl"));
    assertThat(p.description()).isEqualTo("missing");
  }

  @Test
  void damageInsideTheJournalIsReportedWithItsOffset() throws IOException {
    store();
    Path journal = dir.resolve("journal.jsonl");
    byte[] b = Files.readAllBytes(journal);
    assertThat(new String(b, UTF_8).indexOf('\n')).isPositive();
    b[10] ^= 1; // inside the first of several entries
    Files.write(journal, b);
    CheckReport.Problem p = onlyProblem();
    assertThat(p.file()).isEqualTo(journal);
    assertThat(p.offset()).isEqualTo(0);
  }

  @Test
  void aCheckpointFailingItsChecksumIsReported() throws IOException {
    store();
    Path checkpoint = dir.resolve("checkpoint.json");
    byte[] b = Files.readAllBytes(checkpoint);
    b[13] = (byte) (b[13] == '1' ? '2' : '1'); // a digit of the revision
    Files.write(checkpoint, b);
    CheckReport.Problem p = onlyProblem();
    assertThat(p.file()).isEqualTo(checkpoint);
    assertThat(p.description()).contains("checksum");
  }

  @Test
  void aDamagedLockHeaderIsReported() throws IOException {
    store();
    Path lock = dir.resolve("collab.lock");
    byte[] b = Files.readAllBytes(lock);
    b[13] = (byte) (b[13] == '1' ? '2' : '1');
    Files.write(lock, b);
    CheckReport.Problem p = onlyProblem();
    assertThat(p.file()).isEqualTo(lock);
  }

  @Test
  void aMissingFormatFileIsReported() throws IOException {
    store();
    Files.delete(dir.resolve("format.json"));
    CheckReport.Problem p = onlyProblem();
    assertThat(p.file()).isEqualTo(dir.resolve("format.json"));
  }
}
