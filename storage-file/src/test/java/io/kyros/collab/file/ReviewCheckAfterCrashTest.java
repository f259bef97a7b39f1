package io.kyros.collab.file;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.Collab;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A process killed after forcing a batch's journal line (the commit point: acknowledged) and before
 * appending its events leaves a healthy store: the next open replays the journal. The checker must
 * not report it as damaged.
 */
class ReviewCheckAfterCrashTest {
  @TempDir
  Path tmp;

  @Test
  void checkReportsNoProblemForACommitJournaledButNotYetApplied() throws Exception {
    Path store = tmp.resolve("store");
    byte[] header;
    try (FileStorage storage = FileStorage.open(store);
        Collab collab = Collab.builder().storage(storage).holder("h").build()) {
      collab.events().append("t", "s", Map.of("i", 0));
      collab.events().append("t", "s", Map.of("i", 1));
      header = Files.readAllBytes(store.resolve(LockFile.NAME)); // as the second batch left it
      collab.events().append("t", "s", Map.of("i", 2));
    }
    Files.write(store.resolve(LockFile.NAME), header); // the killed process never wrote the third batch's header
    // the state a kill between the journal's force and the event append leaves: the last line not yet written
    Path segment;
    try (Stream<Path> s = Files.list(store.resolve("events"))) {
      segment = s.filter(p -> p.toString().endsWith(".jsonl")).sorted().reduce((a, b) -> b).orElseThrow();
    }
    byte[] bytes = Files.readAllBytes(segment);
    int cut = bytes.length - 1;
    while (cut > 0 && bytes[cut - 1] != '\n') {
      cut--;
    }
    try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.WRITE)) {
      ch.truncate(cut);
    }

    CheckReport report = FileStorage.check(store);

    try (FileStorage storage = FileStorage.open(store)) { // recovery completes the commit: the store was healthy
      assertThat(storage.readEvents(0, 10)).hasSize(3);
    }
    assertThat(report.problems()).as("check of a store a crash left for recovery").isEqualTo(List.of());
  }

  @Test
  void checkReportsNoProblemForADocumentTornByAKilledOverwriteThatTheJournalCompletes() throws Exception {
    Path store = tmp.resolve("store2");
    byte[] header;
    try (FileStorage storage = FileStorage.open(store);
        Collab collab = Collab.builder().storage(storage).holder("h").build()) {
      var d = collab.documents().create("c", "d", Map.of("v", "x".repeat(100)));
      header = Files.readAllBytes(store.resolve(LockFile.NAME)); // as the create's batch left it
      collab.documents().replace("c", "d", Map.of("v", "y".repeat(300)), d.etag());
    }
    Files.write(store.resolve(LockFile.NAME), header); // the killed process never wrote the replace's header
    Path doc = store.resolve("state").resolve("c").resolve("d.json");
    byte[] bytes = Files.readAllBytes(doc);
    try (FileChannel ch = FileChannel.open(doc, StandardOpenOption.WRITE)) {
      ch.truncate(bytes.length / 2); // killed halfway through the in-place overwrite
    }

    CheckReport report = FileStorage.check(store);

    try (FileStorage storage = FileStorage.open(store);
        Collab collab = Collab.builder().storage(storage).holder("h").build()) {
      assertThat(collab.documents().get("c", "d").orElseThrow().value().path("v").asText()).hasSize(300);
    }
    assertThat(report.problems()).as("check of a store a crash left for recovery").isEqualTo(List.of());
  }
}
