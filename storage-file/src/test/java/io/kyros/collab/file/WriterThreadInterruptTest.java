package io.kyros.collab.file;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.file.harness.ChildJvm;
import io.kyros.collab.file.harness.LockHolder;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Write;
import java.lang.reflect.Field;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * An interrupt reaching the group-commit writer thread must not break the store for every thread of the JVM (found by
 * review). Interrupting a thread inside a {@code FileChannel} operation closes the channel for good; before the fix
 * (a) a commit's event function or the store's {@link Clock}, which run on the writer thread, setting the interrupt
 * status (code that caught an InterruptedException and restored it) made the next journal append close the journal's
 * channel, and (b) an interrupt of the writer while it waited in {@code FileChannel.lock} for another process closed
 * the lock file's channel; every later commit failed with {@code ClosedChannelException} until all handles closed.
 *
 * <p>What must hold: the writer clears an interrupt status that callers' code set before any channel operation (the
 * commit that set it and every later one commit); an interrupt during the wait for another process's OS lock does not
 * end the wait (the lock file is opened again and the batch commits once the other process lets go); and a writer's
 * channel closed all the same (simulated here by closing it) is opened again by the next batch.
 */
@Timeout(120)
class WriterThreadInterruptTest {
  @TempDir
  Path dir;

  private static Commit put(String id) {
    RecordKey key = new RecordKey("c", id);
    return Commit.of(List.of(), List.of(Write.put(key, "{}", "h")), List.of(new NewEvent("w", "t", "c/" + id, "{}")));
  }

  @Test
  void anEventFunctionThatSetsTheInterruptStatusPoisonsNoCommit() {
    try (FileStorage s = FileStorage.open(dir)) {
      Commit interrupting = new Commit(List.of(), List.of(Write.put(new RecordKey("c", "x"), "{}", "h")), revs -> {
        Thread.currentThread().interrupt(); // e.g. code that caught an InterruptedException and restored the status
        return List.of(new NewEvent("w", "t", "c/x", "{}"));
      });
      assertThat(outcome(() -> s.commit(interrupting))).as("the commit whose event function interrupts")
          .isInstanceOf(CommitResult.Committed.class);
      assertThat(outcome(() -> s.commit(put("later")))).as("a later, unrelated commit from another thread")
          .isInstanceOf(CommitResult.Committed.class);
      assertThat(s.read(new RecordKey("c", "x"))).isPresent();
      assertThat(s.readEvents(0, 10)).hasSize(2);
    }
  }

  @Test
  void aClockThatSetsTheInterruptStatusPoisonsNoCommit() {
    Clock interrupting = new Clock() {
      @Override
      public ZoneId getZone() {
        return ZoneOffset.UTC;
      }

      @Override
      public Clock withZone(ZoneId zone) {
        return this;
      }

      @Override
      public Instant instant() {
        Thread.currentThread().interrupt();
        return Instant.now();
      }
    };
    try (FileStorage s = FileStorage.builder(dir).clock(interrupting).open()) {
      for (int i = 0; i < 3; i++) {
        String id = "k" + i;
        assertThat(outcome(() -> s.commit(put(id)))).as("commit %d with a clock that interrupts", i)
            .isInstanceOf(CommitResult.Committed.class);
      }
    }
    try (FileStorage s = FileStorage.open(dir)) {
      assertThat(outcome(() -> s.commit(put("after")))).isInstanceOf(CommitResult.Committed.class);
      assertThat(s.readEvents(0, 10)).hasSize(4);
    }
  }

  @Test
  void anInterruptOfTheWriterWaitingForAnotherProcessesLockDoesNotEndTheWaitNorPoisonTheStore() throws Exception {
    try (FileStorage s = FileStorage.open(dir)) {
      s.commit(put("a"));
      Thread writer = Thread.getAllStackTraces().keySet().stream()
          .filter(t -> t.getName().equals("collab-file-writer-" + s.root().getFileName())).findFirst().orElseThrow();
      CompletableFuture<Object> blocked;
      try (ChildJvm holder = ChildJvm.start("holder", LockHolder.class, dir.resolve("holder.err"),
          List.of(dir.resolve(LockFile.NAME).toString()))) {
        assertThat(holder.awaitLine("locked"::equals, Duration.ofSeconds(60))).isTrue();
        blocked = CompletableFuture.supplyAsync(() -> outcome(() -> s.commit(put("b"))));
        awaitInFileChannelLock(writer);
        // anybody: a thread-group interrupt, a container stopping threads, ... Thread.interrupt closes the channel
        // before it returns, so the wait was interrupted once this line is done
        writer.interrupt();
        // the writer opens the lock file again and waits on: it is back in FileChannel.lock, the commit still waits
        awaitInFileChannelLock(writer);
        assertThat(blocked).as("the commit waiting for the other process's lock").isNotDone();
        holder.send("release");
        assertThat(holder.awaitLine("released"::equals, Duration.ofSeconds(60))).isTrue();
      }
      assertThat(blocked.get(60, TimeUnit.SECONDS)).as("the commit that waited through the interrupt")
          .isInstanceOf(CommitResult.Committed.class);
      assertThat(outcome(() -> s.commit(put("c")))).as("a commit after the other process let the lock go")
          .isInstanceOf(CommitResult.Committed.class);
      assertThat(s.readEvents(0, 10)).hasSize(3);
    }
    // the lock was this engine's throughout: the directory opens cleanly and holds every commit
    try (FileStorage s = FileStorage.open(dir)) {
      assertThat(s.list("c", null, 10)).hasSize(3);
    }
  }

  @Test
  void writerChannelsClosedByAnInterruptAreOpenedAgainByTheNextBatch() throws Exception {
    try (FileStorage s = FileStorage.open(dir)) {
      s.commit(put("a"));
      Store store = s.store();
      // what an interrupt inside an operation on each does to it
      channel(field(store, "lockFile"), "channel").close();
      channel(field(store, "journal"), "channel").close();
      channel(field(store, "events"), "writeChannel").close();
      assertThat(outcome(() -> s.commit(put("b")))).as("the first commit after the channels closed")
          .isInstanceOf(CommitResult.Committed.class);
      assertThat(outcome(() -> s.commit(put("c")))).isInstanceOf(CommitResult.Committed.class);
      assertThat(s.readEvents(0, 10)).extracting(e -> e.target()).containsExactly("c/a", "c/b", "c/c");
    }
    try (FileStorage s = FileStorage.open(dir)) {
      assertThat(s.list("c", null, 10)).hasSize(3);
      assertThat(s.readEvents(0, 10)).hasSize(3);
    }
  }

  private static void awaitInFileChannelLock(Thread writer) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (Arrays.stream(writer.getStackTrace()).noneMatch(f -> f.getMethodName().equals("lock")
        && f.getClassName().endsWith("FileChannelImpl"))) {
      assertThat(System.nanoTime()).as("writer never blocked on the lock").isLessThan(deadline);
      LockSupport.parkNanos(1_000_000);
    }
  }

  private static Object field(Object owner, String name) throws ReflectiveOperationException {
    Field f = owner.getClass().getDeclaredField(name);
    f.setAccessible(true);
    return f.get(owner);
  }

  private static FileChannel channel(Object owner, String name) throws ReflectiveOperationException {
    return (FileChannel) field(owner, name);
  }

  private static Object outcome(Supplier<Object> commit) {
    try {
      return CompletableFuture.supplyAsync(() -> {
        try {
          return commit.get();
        } catch (RuntimeException e) {
          return e;
        }
      }).get(60, TimeUnit.SECONDS);
    } catch (Exception e) {
      return e;
    }
  }
}
