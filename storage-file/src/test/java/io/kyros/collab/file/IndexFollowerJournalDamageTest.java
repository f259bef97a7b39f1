package io.kyros.collab.file;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.CanonicalJson;
import io.kyros.collab.file.harness.ChildJvm;
import io.kyros.collab.file.harness.IndexWriter;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.IndexEntry;
import io.kyros.collab.spi.IndexHit;
import io.kyros.collab.spi.IndexQuery;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Write;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * The index follower ({@link IndexFollower}) reads journal lines that are applied and acknowledged: recovery's catch-up
 * runs before it in every batch. It never cuts one, whatever damage it finds there: a damaged line makes it build the
 * index from the documents (or, as the engine stops, save nothing), and the line is left for recovery and checkpoints,
 * which read with the header's applied offset, to report. Each test damages the journal's last line (one checksum
 * digit, so the line keeps its form) after it was applied, and reaches the follower by one of its three paths: taking
 * {@code index.saved} and the journal, following another process's commits, and saving as the engine stops.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class IndexFollowerJournalDamageTest {
  private static final Duration STEP = Duration.ofSeconds(60);

  @TempDir(cleanup = CleanupMode.ON_SUCCESS)
  Path tmp;

  private static void put(FileStorage s, String id) {
    String json = "{\"id\":\"" + id + "\"}";
    Write w = Write.put(new RecordKey("ix", id), json, CanonicalJson.hashCanonical(json.getBytes(UTF_8)),
        List.of(new IndexEntry("all", "key-" + id)));
    CommitResult r = s.commit(Commit.of(List.of(), List.of(w), List.of(new NewEvent("ix", "t", "ix", "{}"))));
    assertThat(r).isInstanceOf(CommitResult.Committed.class);
  }

  private static List<String> ids(FileStorage s) {
    return s.scanIndex(IndexQuery.first("ix", "all", 100)).stream().map(IndexHit::record)
        .map(r -> r.key().id()).toList();
  }

  /** A damaged journal: its bytes as damaged, and where its damaged last line starts. */
  private record Damaged(byte[] bytes, long lineStart) {}

  /**
   * Changes one hex digit of the checksum of the journal's last line, in place (the file keeps its size and its
   * preallocated zeros), as a disk error or a stray write could.
   */
  private static Damaged damageLastLine(Path journal) throws IOException {
    byte[] bytes = Files.readAllBytes(journal);
    int end = 0;
    while (bytes[end] != 0) {
      end++;
    }
    int lineStart = end - 1;
    while (lineStart > 0 && bytes[lineStart - 1] != '\n') {
      lineStart--;
    }
    int digit = end - 3; // the last of the eight hex digits before "}\n"
    byte flipped = (byte) (bytes[digit] == '0' ? '1' : '0');
    try (FileChannel ch = FileChannel.open(journal, StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.wrap(new byte[] {flipped}), digit);
    }
    return new Damaged(Files.readAllBytes(journal), lineStart);
  }

  /** The next open reports the damaged, applied line where it starts, and cuts nothing either. */
  private static void theNextOpenReports(Path dir, Damaged damaged) throws IOException {
    Path journal = dir.resolve(Journal.NAME);
    assertThatThrownBy(() -> FileStorage.open(dir).close()).isInstanceOfSatisfying(CorruptFileException.class, e -> {
      assertThat(e.file().getFileName().toString()).as(e.getMessage()).isEqualTo(Journal.NAME);
      assertThat(e.offset()).as(e.getMessage()).isEqualTo(damaged.lineStart());
    });
    assertUnchanged(journal, damaged, "after the open reported it");
  }

  /** The journal holds the damaged bytes exactly: nothing was cut (a cut shows as a logical end before the line's). */
  private static void assertUnchanged(Path journal, Damaged damaged, String when) throws IOException {
    byte[] now = Files.readAllBytes(journal);
    assertThat(Arrays.equals(now, damaged.bytes())).as("the journal %s is as damaged (%d bytes, the damaged line at %d;"
        + " now %d bytes, logical end %d)", when, damaged.bytes().length, damaged.lineStart(), now.length,
        Journal.parse(now, 0, journal).end()).isTrue();
  }

  private static ChildJvm writer(Path dir, Path tmp) throws Exception {
    ChildJvm child = ChildJvm.start("index-writer", IndexWriter.class, tmp.resolve("writer.err"),
        List.of(dir.toString(), "default"));
    assertThat(child.awaitLine("ready"::equals, STEP)).as(child.describe()).isTrue();
    return child;
  }

  private static void runAndQuit(ChildJvm child, String command) throws Exception {
    child.send(command);
    assertThat(child.awaitLine(("done " + command)::equals, STEP)).as("%s:\n%s", command, child.describe()).isTrue();
    child.send("quit");
    assertThat(child.waitFor(STEP)).as(child.describe()).isTrue();
  }

  /**
   * Bug (found in review): the follower read the journal with {@code Journal.readFrom(offset)}, which cuts a damaged
   * last line as a torn tail. Taking {@code index.saved} at the first scan, it cut this engine's own acknowledged,
   * applied commit off the journal (its only durable copy before the next checkpoint); every later commit then failed
   * with "journaled commits were lost".
   */
  @Test
  void takingTheSavedIndexNeverCutsAnAppliedJournalLine() throws IOException {
    Path dir = tmp.resolve("store");
    try (FileStorage s = FileStorage.open(dir)) {
      put(s, "a");
      put(s, "b");
      assertThat(ids(s)).containsExactly("a", "b"); // builds the index: saved as the engine stops
    }
    assertThat(dir.resolve(SavedIndex.NAME)).exists();
    Path journal = dir.resolve(Journal.NAME);
    Damaged damaged;
    try (FileStorage s = FileStorage.open(dir)) {
      put(s, "c"); // acknowledged and applied: the header records the journal up to its line's end
      damaged = damageLastLine(journal);

      assertThat(ids(s)).as("built from the documents instead").containsExactly("a", "b", "c");
      assertThat(s.store().indexLoads()).as("index.saved cannot be brought up to date").isZero();
      assertThat(s.store().indexBuilds()).isEqualTo(1);
      assertUnchanged(journal, damaged, "after the index followed it");
    }
    theNextOpenReports(dir, damaged);
  }

  /**
   * Bug (found in review): following another process's commits at the start of a batch, the follower cut that
   * process's acknowledged, applied last journal line when it was damaged, as if it were a torn tail.
   */
  @Test
  void followingAnotherProcesssCommitsNeverCutsAnAppliedJournalLine() throws Exception {
    Path dir = tmp.resolve("store");
    Path journal = dir.resolve(Journal.NAME);
    Damaged damaged;
    try (FileStorage s = FileStorage.open(dir)) {
      put(s, "own");
      assertThat(ids(s)).containsExactly("own"); // the index is built and followed from here
      runAndQuit(writer(dir, tmp), "put a 0 3 k"); // applied by the child, which wrote the header
      damaged = damageLastLine(journal);

      assertThat(ids(s)).as("built from the documents instead").containsExactlyInAnyOrder("a-0", "a-1", "a-2", "own");
      assertThat(s.store().indexBuilds()).isEqualTo(2);
      assertUnchanged(journal, damaged, "after the index followed it");
    }
    theNextOpenReports(dir, damaged);
  }

  /**
   * Bug (found in review): saving the index as the engine stops, the follower first followed another process's
   * commits and cut that process's damaged, acknowledged last journal line as if it were a torn tail.
   */
  @Test
  void savingAsTheEngineStopsNeverCutsAnAppliedJournalLine() throws Exception {
    Path dir = tmp.resolve("store");
    Path journal = dir.resolve(Journal.NAME);
    Damaged damaged;
    try (FileStorage s = FileStorage.open(dir)) {
      put(s, "own");
      assertThat(ids(s)).containsExactly("own");
      runAndQuit(writer(dir, tmp), "put a 0 3 k");
      damaged = damageLastLine(journal);
    } // saves: follows the child's lines first
    assertUnchanged(journal, damaged, "after the engine stopped");
    assertThat(dir.resolve(SavedIndex.NAME)).as("the journal cannot bring the index up to date").doesNotExist();
    theNextOpenReports(dir, damaged);
  }
}
