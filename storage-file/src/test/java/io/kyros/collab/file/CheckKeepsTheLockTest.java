package io.kyros.collab.file;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.CanonicalJson;
import io.kyros.collab.file.harness.ChildJvm;
import io.kyros.collab.file.harness.LockProbe;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Write;
import java.lang.reflect.Field;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code FileStorage.check} in the JVM that has the store open must not drop its OS lock on {@code collab.lock}:
 * closing any channel on that file releases every POSIX lock the process holds on it, so a checker reading the
 * header through a channel of its own let another process take the lock while this one's writer was inside a batch
 * (found by review; docs/file-format.md had it as an open bug).
 */
@Timeout(120)
class CheckKeepsTheLockTest {
  private static final String EMPTY_HASH =
      CanonicalJson.hash(com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode());

  @TempDir
  Path tmp;

  private String probe(Path lock) throws Exception {
    try (ChildJvm child = ChildJvm.start("lock-probe", LockProbe.class, tmp.resolve("probe.err"),
        List.of(lock.toString()))) {
      assertThat(child.awaitLine(l -> l.equals("got") || l.equals("busy"), Duration.ofSeconds(60)))
          .as("the probe answered").isTrue();
      return child.lines().get(0);
    }
  }

  @Test
  void checkInTheWritingJvmKeepsTheLockItsWriterHolds() throws Exception {
    Path root = tmp.resolve("store");
    try (FileStorage s = FileStorage.builder(root).durability(FileStorage.Durability.NONE).open()) {
      Path lock = root.resolve(LockFile.NAME);
      CountDownLatch inside = new CountDownLatch(1);
      CountDownLatch release = new CountDownLatch(1);
      CompletableFuture<CommitResult> held = CompletableFuture.supplyAsync(() -> s.commit(new Commit(List.of(),
          List.of(Write.put(new RecordKey("c", "x"), "{}", EMPTY_HASH)), revisions -> {
            inside.countDown();
            try {
              assertThat(release.await(60, TimeUnit.SECONDS)).isTrue();
            } catch (InterruptedException e) {
              throw new IllegalStateException(e);
            }
            return List.of();
          })));
      try {
        assertThat(inside.await(60, TimeUnit.SECONDS)).isTrue(); // the writer is inside its batch, lock held
        assertThat(probe(lock)).as("before the check").isEqualTo("busy");
        FileStorage.check(root);
        assertThat(probe(lock)).as("after the check").isEqualTo("busy");
      } finally {
        release.countDown();
      }
      assertThat(held.get(60, TimeUnit.SECONDS)).isInstanceOf(CommitResult.Committed.class);
    }
    assertThat(FileStorage.check(root).problems()).isEmpty();
  }

  /**
   * Read on the caller's thread, an interrupt of a check (a cancelled health check) closed the store's own lock-file
   * channel: its OS lock was gone and its writer could no longer commit (found by review of the fix above). The test
   * holds the registry's monitor (by reflection) so that the interrupt lands just before the read.
   */
  @Test
  void anInterruptedCheckLeavesTheStoreWorking() throws Exception {
    Path root = tmp.resolve("store");
    try (FileStorage s = FileStorage.builder(root).durability(FileStorage.Durability.NONE).open()) {
      assertThat(s.commit(new Commit(List.of(), List.of(Write.put(new RecordKey("c", "a"), "{}", EMPTY_HASH)),
          r -> List.of()))).isInstanceOf(CommitResult.Committed.class);
      Field f = StoreRegistry.class.getDeclaredField("OPEN");
      f.setAccessible(true);
      Object monitor = f.get(null);
      AtomicReference<Throwable> checkFailure = new AtomicReference<>();
      Thread checker = new Thread(() -> {
        try {
          FileStorage.check(root);
        } catch (Throwable t) {
          checkFailure.set(t);
        }
      });
      synchronized (monitor) {
        checker.start();
        // wait until the checker waits for the registry's monitor in readLockHeader (after its journal reads)
        while (checker.getState() != Thread.State.BLOCKED) {
          Thread.onSpinWait();
        }
        checker.interrupt(); // e.g. Future.cancel(true) of a health check with a timeout
      }
      checker.join();
      // the cancelled check may end either way (its other reads are on its own channels); the store must not care
      assertThat(s.commit(new Commit(List.of(), List.of(Write.put(new RecordKey("c", "b"), "{}", EMPTY_HASH)),
          r -> List.of()))).isInstanceOf(CommitResult.Committed.class);
    }
  }
}
