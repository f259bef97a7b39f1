package io.kyros.collab.file;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredEvent;
import io.kyros.collab.spi.StoredRecord;
import io.kyros.collab.spi.Write;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AfterContainer;

/**
 * Damage a store at random, one byte or one file, then open and read it: either every acknowledged
 * record comes back intact, or the open or the read that needs the damaged part fails with a
 * {@link CorruptFileException} naming a file. Never a wrong value, a revision or event id handed out
 * twice, another exception, or a hang (each try is bounded by a timeout).
 *
 * <p>Removing a document file is not among the damages: the file is the only record of a document
 * once the journal is checkpointed, so its removal cannot be told from a delete (docs/file-format.md).
 */
class FileStorageDamageProperties {
  private static final int DOCUMENTS = 12;
  private static Path template;
  private static Map<RecordKey, StoredRecord> acked;
  private static List<StoredEvent> ackedEvents;
  private static long highestRevision;

  /** Builds one store (small segments and checkpoints, so every file kind is there) and what it acknowledged. */
  private static synchronized Path template() throws IOException {
    if (template != null) {
      return template;
    }
    Path dir = Files.createTempDirectory("collab-damage-template");
    Map<RecordKey, StoredRecord> records = new LinkedHashMap<>();
    List<StoredEvent> events = new ArrayList<>();
    long highest = 0;
    try (FileStorage s = FileStorage.builder(dir).durability(FileStorage.Durability.NONE).segmentBytes(4096)
        .checkpointBytes(8192).open()) {
      for (int i = 0; i < 90; i++) {
        RecordKey key = new RecordKey("c", "d" + (i % DOCUMENTS));
        String json = "{\"round\":" + i + ",\"pad\":\"" + "p".repeat(i % 7 * 10) + "\"}";
        CommitResult r = s.commit(Commit.of(List.of(), List.of(Write.put(key, json, "h" + i)),
            List.of(new NewEvent("written", "tester", "c/" + key.id(), "{\"round\":" + i + "}"),
                new NewEvent("noted", "tester", "t/" + i, "{\"n\":" + i + "}"))));
        CommitResult.Committed c = (CommitResult.Committed) r;
        long revision = c.revisions().get(0);
        records.put(key, new StoredRecord(key, json, revision, "h" + i));
        events.addAll(c.events());
        highest = Math.max(highest, revision);
      }
    }
    acked = records;
    ackedEvents = events;
    highestRevision = highest;
    template = dir;
    return dir;
  }

  @AfterContainer
  static void removeTemplate() throws IOException {
    if (template != null) {
      delete(template);
      template = null;
    }
  }

  @Property(tries = 100)
  void aDamagedStoreReadsBackWholeOrReportsTheDamagedFile(@ForAll boolean removeAFile,
      @ForAll @IntRange(min = 0, max = 10_000) int fileChoice, @ForAll @IntRange(min = 0, max = 1 << 20) int byteChoice,
      @ForAll @IntRange(min = 1, max = 255) int xor) throws Exception {
    Path dir = Files.createTempDirectory("collab-damage");
    try {
      copy(template(), dir);
      List<Path> files;
      try (Stream<Path> all = Files.walk(dir)) {
        files = all.filter(Files::isRegularFile)
            .filter(p -> !(removeAFile && dir.relativize(p).startsWith("state")))
            .sorted().toList();
      }
      Path victim = files.get(fileChoice % files.size());
      String damage;
      if (removeAFile) {
        Files.delete(victim);
        damage = "removed " + dir.relativize(victim);
      } else {
        byte[] bytes = Files.readAllBytes(victim);
        if (bytes.length == 0) {
          return;
        }
        int at = byteChoice % bytes.length;
        bytes[at] ^= (byte) xor;
        Files.write(victim, bytes);
        damage = "byte " + at + " of " + dir.relativize(victim) + " xor " + xor;
      }
      assertTimeoutPreemptively(Duration.ofSeconds(60), () -> openAndRead(dir, damage), damage);
    } finally {
      delete(dir);
    }
  }

  private static void openAndRead(Path dir, String damage) {
    FileStorage s;
    try {
      s = FileStorage.builder(dir).durability(FileStorage.Durability.NONE).segmentBytes(4096).checkpointBytes(8192)
          .open();
    } catch (CorruptFileException e) {
      assertThat(e.file()).as(damage).isNotNull();
      return;
    }
    try (s) {
      for (StoredRecord want : acked.values()) {
        Optional<StoredRecord> got;
        try {
          got = s.read(want.key());
        } catch (CorruptFileException e) {
          assertThat(e.file()).as(damage).isNotNull();
          continue;
        }
        assertThat(got).as(damage + ": " + want.key()).contains(want);
      }
      long position = 0;
      int index = 0;
      while (true) {
        List<StoredEvent> page;
        try {
          page = s.readEvents(position, 50);
        } catch (CorruptFileException e) {
          assertThat(e.file()).as(damage).isNotNull();
          break;
        }
        if (page.isEmpty()) {
          assertThat(index).as(damage + ": every acknowledged event is in the log").isEqualTo(ackedEvents.size());
          break;
        }
        for (StoredEvent e : page) {
          assertThat(e).as(damage).isEqualTo(ackedEvents.get(index++));
        }
        position = page.get(page.size() - 1).id();
      }
      // nothing handed out twice
      RecordKey fresh = new RecordKey("c", "fresh");
      CommitResult r;
      try {
        r = s.commit(Commit.of(List.of(), List.of(Write.put(fresh, "{}", "h")),
            List.of(new NewEvent("written", "tester", "c/fresh", "{}"))));
      } catch (CorruptFileException e) {
        assertThat(e.file()).as(damage).isNotNull();
        return;
      }
      CommitResult.Committed c = (CommitResult.Committed) r;
      assertThat(c.revisions().get(0)).as(damage + ": a new revision").isGreaterThan(highestRevision);
      assertThat(c.events().get(0).id()).as(damage + ": a new event id")
          .isGreaterThan(ackedEvents.get(ackedEvents.size() - 1).id());
    }
  }

  private static void copy(Path from, Path to) throws IOException {
    try (Stream<Path> all = Files.walk(from)) {
      for (Path p : (Iterable<Path>) all::iterator) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target, StandardCopyOption.REPLACE_EXISTING);
        }
      }
    }
  }

  private static void delete(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) files.sorted(Comparator.reverseOrder())::iterator) {
        Files.deleteIfExists(p);
      }
    }
  }
}
