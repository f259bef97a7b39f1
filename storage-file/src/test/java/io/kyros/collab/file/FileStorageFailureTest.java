package io.kyros.collab.file;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredEvent;
import io.kyros.collab.spi.StoredRecord;
import io.kyros.collab.spi.Write;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Regressions for failures found in review: an Error inside a commit, a commit racing the last
 * close, a crash inside a checkpoint followed by another process's commit, a power loss across a
 * segment roll, and two races with another process (simulated by a thread doing exactly that
 * process's file operations): listing while a document is replaced, and reading while a segment
 * rolls; and a forcing thread that cannot start.
 */
@Timeout(120)
class FileStorageFailureTest {
  @TempDir
  Path dir;

  private static Commit putCommit(String id, String json) {
    RecordKey key = new RecordKey("c", id);
    return Commit.of(List.of(), List.of(Write.put(key, json, "h")),
        List.of(new NewEvent("w", "t", "c/" + id, "{}")));
  }

  private static Object field(Object o, String name) throws Exception {
    Field f = o.getClass().getDeclaredField(name);
    f.setAccessible(true);
    return f.get(o);
  }

  // ---------------------------------------------------------------- 1. Error kills the writer
  @Test
  void anErrorFromAnEventSourceDoesNotKillTheWriterThread() throws Exception {
    try (FileStorage s = FileStorage.open(dir)) {
      AssertionError boom = new AssertionError("boom");
      Commit bad = new Commit(List.of(), List.of(Write.put(new RecordKey("c", "bad"), "{}", "h")), revs -> {
        throw boom;
      });
      Throwable first = org.assertj.core.api.Assertions.catchThrowable(() -> s.commit(bad));
      assertThat(first).as("the failing commit's outcome").isNotNull();
      Throwable cause = first;
      while (cause != null && cause != boom) {
        cause = cause.getCause();
      }
      assertThat(cause).as("the Error from the event source, or a wrapper caused by it: %s", first).isSameAs(boom);
      assertThat(s.read(new RecordKey("c", "bad"))).as("nothing of the failing commit").isEmpty();
      assertThat(s.lastEventId()).isZero();
      // a dead writer thread would leave this commit queued for ever: the class's timeout is the only bound
      CommitResult r = CompletableFuture.supplyAsync(() -> s.commit(putCommit("a", "{}"))).get(60, TimeUnit.SECONDS);
      assertThat(r).as("a later commit completes").isInstanceOf(CommitResult.Committed.class);
      assertThat(s.read(new RecordKey("c", "a"))).isPresent();
    }
  }

  // ---------------------------------------------------------------- 2. commit racing close hangs
  @Test
  void aCommitRacingTheLastCloseFailsInsteadOfHanging() throws Exception {
    FileStorage s = FileStorage.open(dir);
    Store store = (Store) field(s, "store");
    // the interleaving: the caller passed FileStorage.checkOpen(), then close() ran to completion
    s.close();
    CompletableFuture<Object> f = CompletableFuture.supplyAsync(() -> {
      try {
        return store.commit(putCommit("a", "{}"), Clock.systemUTC());
      } catch (RuntimeException e) {
        return e;
      }
    });
    // a commit queued after the writer stopped would wait for ever: the bound only turns that hang into a failure
    Object outcome = f.get(60, TimeUnit.SECONDS);
    assertThat(outcome).as("commit after close fails").isInstanceOf(RuntimeException.class);
  }

  // ---------------------------------------------------------------- 4. stale header after checkpoint crash
  @Test
  void aJournaledCommitAfterACrashInsideACheckpointIsNotSkipped() throws Exception {
    try (FileStorage s = FileStorage.open(dir)) {
      for (int i = 0; i < 5; i++) {
        s.commit(putCommit("d" + i, "{\"pad\":\"" + "x".repeat(200) + "\"}"));
      }
    }
    // crash 1, inside checkpoint(): checkpoint.json written, journal truncated and forced, header not yet rewritten
    Files.write(dir.resolve("checkpoint.json"), "{\"revision\":5,\"eventId\":5}".getBytes(UTF_8));
    try (FileChannel j = FileChannel.open(dir.resolve("journal.jsonl"), StandardOpenOption.WRITE)) {
      j.truncate(0);
    }
    // crash 2: another, already open, writer process journals (and forces) revision 6 / event 6, then dies
    // before writing the header; its catch-up returned early because min(header.journal, 0) == size
    RecordKey x = new RecordKey("c", "x");
    JournalCodec.JournalEntry entry = new JournalCodec.JournalEntry(6, 6,
        List.of(new JournalCodec.JournalWrite(x, 6, "{\"x\":1}", "hx")),
        List.of(new StoredEvent(6, Instant.now(), "w", "t", "c/x", "{}")));
    Files.write(dir.resolve("journal.jsonl"), JournalCodec.encodeEntry(entry), StandardOpenOption.APPEND);
    long y;
    try (FileStorage s = FileStorage.open(dir)) {
      assertThat(s.read(x)).as("the journaled commit after the crash").map(StoredRecord::json).contains("{\"x\":1}");
      assertThat(s.lastEventId()).isEqualTo(6);
      y = ((CommitResult.Committed) s.commit(putCommit("y", "{}"))).revisions().get(0);
      assertThat(s.readEvents(5, 10)).extracting(StoredEvent::id).containsExactly(6L, 7L);
    }
    assertThat(y).as("revision 6 was already journaled; it must not be handed out again").isEqualTo(7);
    Files.write(dir.resolve("collab.lock"), new byte[0]); // as after a reboot
    try (FileStorage s = FileStorage.open(dir)) {
      assertThat(s.read(x)).as("x after the reboot's replay").map(StoredRecord::revision).contains(6L);
      assertThat(s.read(new RecordKey("c", "y"))).as("y after the reboot's replay").map(StoredRecord::revision)
          .contains(7L);
      assertThat(s.readEvents(0, 100)).extracting(StoredEvent::id).containsExactly(1L, 2L, 3L, 4L, 5L, 6L, 7L);
    }
  }

  // ---------------------------------------------------------------- 5. power loss across a segment roll
  @Test
  void lostUnforcedTailOfAnOlderSegmentIsRewrittenFromTheJournal() throws Exception {
    try (FileStorage s = FileStorage.builder(dir).segmentBytes(4096).checkpointBytes(1 << 20).open()) {
      for (int i = 0; i < 40; i++) {
        s.commit(Commit.of(List.of(), List.of(), List.of(new NewEvent("note", "t", "t/" + i, "{\"n\":" + i + "}"))));
      }
    }
    List<Path> segs;
    try (Stream<Path> files = Files.list(dir.resolve("events"))) {
      segs = files.sorted().toList();
    }
    assertThat(segs.size()).isGreaterThanOrEqualTo(2);
    // power loss: the journal was forced, nothing else; the new segment's name reached the disk (metadata),
    // the last appends to the previous segment and to the new one did not (delayed allocation)
    Path older = segs.get(segs.size() - 2);
    Path newest = segs.get(segs.size() - 1);
    byte[] b = Files.readAllBytes(older);
    int cut = b.length - 1;
    for (int lines = 0; lines < 3; ) {
      cut--;
      if (b[cut] == '\n') {
        lines++;
      }
    }
    try (FileChannel ch = FileChannel.open(older, StandardOpenOption.WRITE)) {
      ch.truncate(cut + 1);
    }
    try (FileChannel ch = FileChannel.open(newest, StandardOpenOption.WRITE)) {
      ch.truncate(0);
    }
    Files.write(dir.resolve("collab.lock"), new byte[0]); // new boot: header not trusted, journal replayed from 0
    try (FileStorage s = FileStorage.builder(dir).segmentBytes(4096).checkpointBytes(1 << 20).open()) {
      assertThat(s.readEvents(29, 3)).as("a tailing reader after id 29").extracting(StoredEvent::id)
          .containsExactly(30L, 31L, 32L);
      assertThat(s.readEvents(0, 1000)).extracting(StoredEvent::id)
          .containsExactlyElementsOf(java.util.stream.LongStream.rangeClosed(1, 40).boxed().toList());
    }
  }

  @Test
  void listReturnsAFullPageWhileAnotherProcessDeletesAndRecreatesOneDocument() throws Exception {
    try (FileStorage s = FileStorage.builder(dir).durability(FileStorage.Durability.NONE).open()) {
      List<Write> writes = new ArrayList<>();
      for (int i = 0; i < 600; i++) {
        writes.add(Write.put(new RecordKey("c", String.format("d%03d", i)), "{}", "h"));
      }
      s.commit(Commit.of(List.of(), writes, List.of()));
      Path file = dir.resolve("state/c/d000.json");
      Path copy = dir.resolve("d000.copy");
      Files.copy(file, copy);
      AtomicBoolean stop = new AtomicBoolean();
      java.util.concurrent.atomic.AtomicInteger replaced = new java.util.concurrent.atomic.AtomicInteger();
      CompletableFuture<Void> otherDone = new CompletableFuture<>();
      Thread other = new Thread(() -> {
        try {
          while (!stop.get()) {
            Files.delete(file); // what the other process's docs.delete does
            Path tmp = dir.resolve("state/c/.d000.json.1.tmp");
            Files.copy(copy, tmp);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE); // and its docs.write
            replaced.incrementAndGet();
          }
          otherDone.complete(null);
        } catch (Throwable e) {
          otherDone.completeExceptionally(e);
        }
      });
      other.start();
      int shortPages = 0;
      int pages = 0;
      // list while the other process replaces the document, at least 300 pages and across 50 replacements
      while (pages < 300 || (replaced.get() < 50 && !otherDone.isDone())) {
        int n = s.list("c", null, 512).size();
        pages++;
        if (n < 512) {
          shortPages++;
        }
      }
      stop.set(true);
      otherDone.get(60, TimeUnit.SECONDS); // the other process's own failure, if any, fails the test
      assertThat(replaced.get()).as("replacements by the other process during the listing").isGreaterThanOrEqualTo(50);
      assertThat(shortPages).as("short first pages out of %d (Core.scan would stop there)", pages).isZero();
    }
  }

  @Test
  void aReaderRacingAnotherProcessesRollDoesNotReportCorruption() throws Exception {
    long segmentBytes = 4096;
    String pad = "x".repeat(4200);
    try (FileStorage s = FileStorage.builder(dir).segmentBytes(segmentBytes)
        .durability(FileStorage.Durability.NONE).open()) {
      s.commit(Commit.of(List.of(), List.of(), List.of(new NewEvent("n", "t", "t/1", "{\"p\":\"" + pad + "\"}"))));
      int last = 6000;
      CompletableFuture<Void> otherDone = new CompletableFuture<>();
      Thread other = new Thread(() -> {
        try {
          // what another process's writer does: one line per segment (each line is >= segmentBytes),
          // each appended with a write that a reader may see half done, then the roll to the next
          for (long id = 2; id <= last; id++) {
            byte[] line = Codec.encodeEvent(new StoredEvent(id, Instant.now(), "n", "t", "t/x", "{\"p\":\"" + pad + "\"}"));
            try (FileChannel ch = FileChannel.open(dir.resolve("events/" + EventSegments.segmentName(id)),
                StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
              int half = line.length / 2;
              ch.write(ByteBuffer.wrap(line, 0, half), 0);
              Thread.yield();
              ch.write(ByteBuffer.wrap(line, half, line.length - half), half);
            }
          }
          otherDone.complete(null);
        } catch (Throwable e) {
          otherDone.completeExceptionally(e);
        }
      });
      other.start();
      List<String> outcomes = new ArrayList<>();
      long seen = 1;
      // until the reader has seen every event (the class's timeout bounds a reader that stops making progress)
      while (seen < last) {
        try {
          List<StoredEvent> got = s.readEvents(seen, 10);
          if (!got.isEmpty()) {
            seen = got.get(got.size() - 1).id();
          }
        } catch (CorruptFileException e) {
          outcomes.add(e.getMessage());
          if (outcomes.size() > 3) {
            break;
          }
        }
      }
      assertThat(outcomes).as("spurious corruption reports").isEmpty();
      otherDone.get(60, TimeUnit.SECONDS); // the other process's own failure, if any, fails the test
      assertThat(seen).as("the reader saw every event").isEqualTo(last);
    }
  }

  // ---------------------------------------------------------------- 6. no thread to force with
  @Test
  void aForcingThreadThatCannotStartFailsNoCommitAndALaterCheckpointForcesEverything() throws Exception {
    AtomicBoolean failing = new AtomicBoolean(true);
    AtomicInteger refused = new AtomicInteger();
    Checkpoints.Threads threads = (task, name) -> {
      if (failing.get()) {
        refused.incrementAndGet();
        throw new OutOfMemoryError("unable to create native thread: possibly out of memory or process/resource limits"
            + " reached");
      }
      return new Thread(task, name);
    };
    String padding = "x".repeat(200);
    // 4 KiB: every commit ends an early-force stage (256 bytes), checkpoints every dozen commits
    try (FileStorage s = FileStorage.builder(dir).checkpointBytes(4096).forcingThreads(threads).open()) {
      for (int i = 0; i < 60; i++) {
        assertThat(s.commit(putCommit("d" + i, "{\"v\":" + i + ",\"p\":\"" + padding + "\"}")))
            .as("commit %d, while no forcing thread can start", i).isInstanceOf(CommitResult.Committed.class);
      }
      assertThat(refused.get()).as("early forces and checkpoints that could not start a thread").isPositive();
      assertThat(Checkpoints.read(dir).revision()).as("no checkpoint could force its files").isZero();
      failing.set(false);
      for (int i = 0; i < 20; i++) {
        assertThat(s.commit(putCommit("d" + i, "{\"v\":" + (100 + i) + "}")))
            .isInstanceOf(CommitResult.Committed.class);
      }
      assertThat(Checkpoints.read(dir).revision()).as("a checkpoint once threads start again").isPositive();
    }
    try (FileStorage s = FileStorage.open(dir)) {
      for (int i = 0; i < 60; i++) {
        String expected = i < 20 ? "{\"v\":" + (100 + i) + "}" : "{\"v\":" + i + ",\"p\":\"" + padding + "\"}";
        assertThat(s.read(new RecordKey("c", "d" + i)).map(StoredRecord::json)).as("d%d", i).contains(expected);
      }
    }
  }
}
