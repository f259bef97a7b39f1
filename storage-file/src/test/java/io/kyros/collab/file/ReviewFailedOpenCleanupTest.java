package io.kyros.collab.file;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An open that fails removes the store it created: it must do so while it still holds the OS lock,
 * or another process waiting for that lock takes it, finds format.json and the journal, opens the
 * store and commits into files the failed open is deleting.
 */
class ReviewFailedOpenCleanupTest {
  private static final Journal.Writes FULL_DISK = (channel, source, position) -> {
    throw new IOException("No space left on device");
  };

  @TempDir
  Path tmp;

  @Test
  void aFailedOpenRemovesWhatItCreatedBeforeAnotherProcessCanTakeTheLock() throws Exception {
    List<String> seen = new ArrayList<>();
    for (int trial = 0; trial < 30 && seen.isEmpty(); trial++) {
      Path store = tmp.resolve("s-" + trial);
      Path format = store.resolve(FormatFile.NAME);
      AtomicBoolean done = new AtomicBoolean();
      int t = trial;
      Thread other = new Thread(() -> { // stands for a process waiting for the lock
        try {
          while (!done.get() && !Files.exists(format)) {
            Thread.onSpinWait();
          }
          try (FileChannel ch = FileChannel.open(store.resolve(LockFile.NAME), StandardOpenOption.WRITE)) {
            while (!done.get()) {
              FileLock l;
              try {
                l = ch.tryLock();
              } catch (OverlappingFileLockException held) {
                continue; // the opening thread holds it
              }
              if (l != null) {
                boolean f = Files.exists(format);
                boolean j = Files.exists(store.resolve(Journal.NAME));
                l.release();
                if (f || j) {
                  synchronized (seen) {
                    seen.add("trial " + t + ": lock free while format.json=" + f + " journal=" + j);
                  }
                }
                return;
              }
            }
          }
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      });
      other.start();
      assertThatThrownBy(() -> FileStorage.builder(store).journalWrites(FULL_DISK).open())
          .hasMessageContaining("No space left on device");
      done.set(true);
      other.join();
    }
    assertThat(seen).as("another process could take the lock and open the half-removed store").isEmpty();
  }
}
