package io.kyros.collab.file;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.IndexEntry;
import io.kyros.collab.spi.IndexQuery;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Write;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reads on a thread whose interrupt status is set behave like a commit on it (found by review): a commit succeeds and
 * keeps the status (documented), but reads failed with {@code StorageException(ClosedByInterruptException)}, because
 * they run {@code FileChannel} operations on the caller's thread (documents, event segments, the journal probe of
 * {@code IndexFollower.fresh}, {@code checkpoint.json}). A worker interrupted by a cancel could not read the store
 * (to fail or release its task) until it cleared its status, unlike on the memory and JDBC backends.
 *
 * <p>What must hold: {@code read}, {@code list}, {@code scanIndex}, {@code readEvents}, {@code lastEventId} and an
 * {@code awaitEvents} that finds an event answer on an interrupted thread and leave its status set; an
 * {@code awaitEvents} that would wait throws {@link InterruptedException} (as the memory backend does), not a
 * {@code StorageException}; and none of it harms the store's shared channels: commits from other threads go on.
 */
@Timeout(60)
class ReadOnInterruptedThreadTest {
  @TempDir
  Path dir;

  @AfterEach
  void clearStatus() {
    Thread.interrupted();
  }

  private static Commit put(String id) {
    RecordKey key = new RecordKey("c", id);
    return Commit.of(List.of(), List.of(Write.put(key, "{\"n\":1}", "h", List.of(new IndexEntry("all", "k-" + id)))),
        List.of(new NewEvent("w", "t", "c/" + id, "{}")));
  }

  @Test
  void everyReadAnswersOnAnInterruptedThreadAndKeepsTheStatus() throws Exception {
    try (FileStorage s = FileStorage.open(dir)) {
      s.commit(put("a"));
      s.commit(put("b"));
      assertThat(s.scanIndex(IndexQuery.first("c", "all", 10))).hasSize(2); // built before the interrupt
      Thread.currentThread().interrupt();
      assertThat(s.commit(put("c"))).as("commit on an interrupted thread").isInstanceOf(CommitResult.Committed.class);
      assertThat(Thread.currentThread().isInterrupted()).isTrue();

      assertThat(s.read(new RecordKey("c", "a"))).as("read").isPresent();
      assertThat(Thread.currentThread().isInterrupted()).as("status after read").isTrue();
      assertThat(s.read(new RecordKey("c", "absent"))).isEmpty();
      assertThat(s.list("c", null, 10)).as("list").hasSize(3);
      assertThat(s.scanIndex(IndexQuery.first("c", "all", 10))).as("scanIndex").hasSize(3);
      assertThat(s.readEvents(0, 10)).as("readEvents").hasSize(3);
      assertThat(s.readEvents(2, 10)).as("readEvents after a position").hasSize(1);
      assertThat(s.lastEventId()).as("lastEventId").isEqualTo(3);
      assertThat(s.awaitEvents(2, Duration.ofSeconds(5))).as("awaitEvents finding an event").isTrue();
      assertThat(Thread.currentThread().isInterrupted()).as("status after every read").isTrue();
      assertThatThrownBy(() -> s.awaitEvents(3, Duration.ofSeconds(30))).as("awaitEvents that would wait")
          .isInstanceOf(InterruptedException.class);
      assertThat(Thread.interrupted()).isFalse(); // InterruptedException cleared it, as Object.wait does

      // the shared channels are intact: a commit from another thread, and reads without an interrupt
      assertThat(java.util.concurrent.CompletableFuture.supplyAsync(() -> s.commit(put("d"))).get())
          .isInstanceOf(CommitResult.Committed.class);
      assertThat(s.readEvents(0, 10)).hasSize(4);
    }
    try (FileStorage s = FileStorage.open(dir)) {
      assertThat(s.list("c", null, 10)).hasSize(4);
    }
  }

  @Test
  void anIndexScanThatMustCatchUpAnswersOnAnInterruptedThread() {
    try (FileStorage s = FileStorage.open(dir)) {
      s.commit(put("a"));
      Thread.currentThread().interrupt();
      // the index is not built yet: IndexFollower.fresh, then a catch-up through the writer, then the scan
      assertThat(s.scanIndex(IndexQuery.first("c", "all", 10))).hasSize(1);
      s.commit(put("b"));
      assertThat(s.scanIndex(IndexQuery.first("c", "all", 10))).hasSize(2);
      assertThat(Thread.currentThread().isInterrupted()).isTrue();
    }
  }
}
