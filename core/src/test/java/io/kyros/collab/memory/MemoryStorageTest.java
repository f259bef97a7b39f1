package io.kyros.collab.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.StorageException;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Write;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** MemoryStorage specifics beyond the conformance suite: waiting for events, closing, long timeouts. */
@Timeout(120)
class MemoryStorageTest {
  private static final Duration PATIENCE = Duration.ofSeconds(60);
  private static final Duration FOREVER = Duration.ofSeconds(Long.MAX_VALUE, 999_999_999);
  private static final RecordKey KEY = new RecordKey("c", "x");

  private final MemoryStorage storage = MemoryStorage.create();

  @AfterEach
  void close() {
    storage.close();
  }

  @Test
  void awaitEventsWakesOnACommitFromAnotherThreadAndReturnsFalseOnTimeout() throws Exception {
    assertThat(storage.awaitEvents(0, Duration.ofMillis(20))).isFalse();
    assertThat(storage.awaitEvents(0, Duration.ZERO)).isFalse();

    Waiter waiter = Waiter.start(storage, 0, PATIENCE);
    awaitCondition("waiter parked", waiter::isParked);
    appendOne();
    assertThat(waiter.result()).isTrue();

    // an event after the position is already there: no waiting at all
    assertThat(storage.awaitEvents(0, Duration.ZERO)).isTrue();
    assertThat(storage.awaitEvents(1, Duration.ofMillis(20))).isFalse();
  }

  @Test
  void aWaiterDoesNotBlockCommitsOrReads() throws Exception {
    int commits = 1000;
    Waiter waiter = Waiter.start(storage, commits, PATIENCE);
    awaitCondition("waiter parked", waiter::isParked);
    for (int i = 1; i <= commits; i++) {
      RecordKey key = new RecordKey("c", "k" + i);
      CommitResult r = storage.commit(Commit.of(List.of(), List.of(Write.put(key, "{\"i\":" + i + "}", "h" + i)),
          List.of(event("e" + i))));
      assertThat(r).isInstanceOf(CommitResult.Committed.class);
      assertThat(storage.read(key)).isPresent();
      assertThat(storage.lastEventId()).isEqualTo(i);
      assertThat(storage.readEvents(i - 1, 10)).singleElement().extracting(e -> e.type()).isEqualTo("e" + i);
    }
    assertThat(storage.list("c", null, 2000)).hasSize(commits);
    // it waits for an event after id 1000, so it is still waiting, and the next commit wakes it
    assertThat(waiter.isDone()).isFalse();
    awaitCondition("waiter parked again", waiter::isParked);
    appendOne();
    assertThat(waiter.result()).isTrue();
  }

  @Test
  void useAfterCloseThrowsStorageException() {
    appendOne();
    storage.close();
    storage.close(); // idempotent
    assertClosed(() -> storage.read(KEY));
    assertClosed(() -> storage.list("c", null, 10));
    assertClosed(() -> storage.commit(Commit.of(List.of(), List.of(), List.of(event("e")))));
    assertClosed(() -> storage.readEvents(0, 10));
    assertClosed(storage::lastEventId);
    assertClosed(() -> storage.awaitEvents(0, Duration.ZERO));
    assertThat(storage.now()).isNotNull();
  }

  @Test
  void closeWakesWaitersWithStorageException() throws Exception {
    Waiter waiter = Waiter.start(storage, 0, FOREVER);
    awaitCondition("waiter parked", waiter::isParked);
    storage.close();
    assertThatThrownBy(waiter::result).isInstanceOf(ExecutionException.class)
        .cause().isInstanceOf(StorageException.class).hasMessage("MemoryStorage is closed");
  }

  @Test
  void aHugeTimeoutDoesNotThrow() throws Exception {
    Waiter waiter = Waiter.start(storage, 0, FOREVER);
    Waiter other = Waiter.start(storage, 0, Duration.ofSeconds(Long.MAX_VALUE));
    awaitCondition("waiters parked", () -> waiter.isParked() && other.isParked());
    appendOne();
    assertThat(waiter.result()).isTrue();
    assertThat(other.result()).isTrue();
    assertThat(storage.awaitEvents(0, FOREVER)).isTrue();
  }

  @Test
  void anInterruptedWaiterThrowsInterruptedException() {
    Thread.currentThread().interrupt();
    try {
      assertThatThrownBy(() -> storage.awaitEvents(0, PATIENCE)).isInstanceOf(InterruptedException.class);
    } finally {
      Thread.interrupted();
    }
  }

  // ---------------------------------------------------------------------------------------------

  private void appendOne() {
    assertThat(storage.commit(Commit.of(List.of(), List.of(), List.of(event("e")))))
        .isInstanceOf(CommitResult.Committed.class);
  }

  private static NewEvent event(String type) {
    return new NewEvent(type, "tester", "t", "{}");
  }

  private interface Call {
    Object call() throws Exception;
  }

  private static void assertClosed(Call call) {
    assertThatThrownBy(call::call).isInstanceOf(StorageException.class).hasMessage("MemoryStorage is closed");
  }

  private static void awaitCondition(String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + PATIENCE.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError("timed out waiting for " + what);
      }
      LockSupport.parkNanos(1_000_000L);
    }
  }

  /** A thread blocked in awaitEvents. */
  private static final class Waiter {
    private final CompletableFuture<Boolean> result = new CompletableFuture<>();
    private final AtomicReference<Thread> thread = new AtomicReference<>();

    static Waiter start(MemoryStorage storage, long afterId, Duration timeout) {
      Waiter w = new Waiter();
      Thread t = new Thread(() -> {
        try {
          w.result.complete(storage.awaitEvents(afterId, timeout));
        } catch (Throwable e) {
          w.result.completeExceptionally(e);
        }
      }, "memory-storage-test-waiter");
      t.setDaemon(true);
      w.thread.set(t);
      t.start();
      return w;
    }

    /** @return true while the thread waits on the storage's monitor (it has nothing else to wait on) */
    boolean isParked() {
      Thread.State s = thread.get().getState();
      return !result.isDone() && (s == Thread.State.TIMED_WAITING || s == Thread.State.WAITING);
    }

    boolean isDone() {
      return result.isDone();
    }

    boolean result() throws Exception {
      return result.get(PATIENCE.toSeconds(), TimeUnit.SECONDS);
    }
  }
}
