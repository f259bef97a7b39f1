package io.kyros.collab.file;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Write;
import java.lang.reflect.Field;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * DamageRepair checks "still damaged" inside the atomic section by reading the file on disk, ignoring
 * the commits before it in the same batch: a repair (delete), a re-create and a removeDamaged grouped
 * into one batch delete the re-created, acknowledged document.
 */
/**
 * A removal of a damaged document checks, inside its commit's atomic section, that the document is still the damaged
 * one; commits before it in the same group-commit batch are only in the writer's overlay, not on disk yet. Found by
 * review: a batch holding a repair (delete), a re-create expecting the document absent and a removal deleted the
 * re-created, acknowledged document, since the file on disk was still the damaged one. The test stages that batch
 * by holding the writer inside blocking event sources and waiting on its queue (read by reflection: the test needs
 * the exact batch composition); every wait is bounded by the class timeout.
 */
@Timeout(120)
class RemoveDamagedInOneBatchTest {
  @TempDir
  Path tmp;

  private static Object field(Object o, Class<?> c, String name) throws Exception {
    Field f = c.getDeclaredField(name);
    f.setAccessible(true);
    return f.get(o);
  }

  private static void awaitQueued(Queue<?> q, int n) {
    while (q.size() < n) {
      Thread.onSpinWait();
    }
  }

  /** A commit writing another key, with one event, whose event source waits for a latch (on the writer thread). */
  private static Commit blocking(String id, CountDownLatch inside, CountDownLatch release, boolean event) {
    return new Commit(List.of(), List.of(Write.put(new RecordKey("c", id), "{}", "h0")), revisions -> {
      inside.countDown();
      try {
        release.await();
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
      return event ? List.of(new NewEvent("x", "t", "c/" + id, "{}")) : List.of();
    });
  }

  @Test
  void aRemovalAfterARepairAndARecreateInItsBatchKeepsTheRecreatedDocument() throws Exception {
    try (FileStorage s = FileStorage.builder(tmp.resolve("store")).durability(FileStorage.Durability.NONE).open()) {
      RecordKey key = new RecordKey("c", "d");
      assertThat(s.commit(Commit.of(List.of(), List.of(Write.put(key, "{\"v\":1}", "h1")), List.of())))
          .isInstanceOf(CommitResult.Committed.class);
      Files.write(s.root().resolve("state/c/d.json"), "{\"garbage\"".getBytes()); // damaged
      Object writer = field(s.store(), Store.class, "writer");
      Queue<?> q = (Queue<?>) field(writer, GroupCommitWriter.class, "queue");
      Object monitor = field(field(s.store(), Store.class, "waiter"), EventWaiter.class, "monitor");

      // 1. hold the writer thread inside a batch
      CountDownLatch inside0 = new CountDownLatch(1);
      CountDownLatch release0 = new CountDownLatch(1);
      Thread blocker0 = new Thread(() -> s.commit(blocking("b0", inside0, release0, false)));
      blocker0.start();
      inside0.await();
      // 2. B starts removeDamaged: its read finds the damage and queues a catch-up; a blocking commit after it
      AtomicReference<Throwable> bFailure = new AtomicReference<>();
      Thread b = new Thread(() -> {
        try {
          s.removeDamaged(key);
        } catch (Throwable t) {
          bFailure.set(t);
        }
      });
      b.start();
      awaitQueued(q, 1);
      CountDownLatch insideX = new CountDownLatch(1);
      CountDownLatch releaseX = new CountDownLatch(1);
      Thread blockerX = new Thread(() -> s.commit(blocking("bx", insideX, releaseX, true)));
      blockerX.start();
      awaitQueued(q, 2);
      release0.countDown();
      insideX.await(); // the batch [B's catch-up, X] is being prepared
      // 3. queued for the next batch: a repair that deletes the damaged document, then a create after it
      AtomicReference<CommitResult> repaired = new AtomicReference<>();
      Thread a = new Thread(() -> repaired.set(s.commit(Commit.of(List.of(), List.of(Write.delete(key)), List.of()))));
      a.start();
      awaitQueued(q, 1);
      AtomicReference<CommitResult> created = new AtomicReference<>();
      Thread c = new Thread(() -> created.set(s.commit(Commit.of(List.of(Expectation.absent(key)),
          List.of(Write.put(key, "{\"v\":2}", "h2")), List.of()))));
      c.start();
      awaitQueued(q, 2);
      // 4. the writer wakes B, then waits for the event waiters' monitor before taking the next batch
      CountDownLatch held = new CountDownLatch(1);
      CountDownLatch unhold = new CountDownLatch(1);
      Thread m = new Thread(() -> {
        synchronized (monitor) {
          held.countDown();
          try {
            unhold.await();
          } catch (InterruptedException e) {
            throw new IllegalStateException(e);
          }
        }
      });
      m.start();
      held.await();
      releaseX.countDown();
      awaitQueued(q, 3); // B read the document again (still damaged on disk) and queued its removal
      unhold.countDown();
      for (Thread t : List.of(blocker0, blockerX, b, a, c, m)) {
        t.join();
      }
      assertThat(repaired.get()).isInstanceOf(CommitResult.Committed.class);
      assertThat(created.get()).isInstanceOf(CommitResult.Committed.class);
      assertThat(s.read(key)).as("the re-created, acknowledged document").isPresent();
      assertThat(bFailure.get()).isInstanceOf(IllegalStateException.class).hasMessageContaining("no longer damaged");
    }
  }
}
