package io.kyros.collab.file;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.file.harness.ChildJvm;
import io.kyros.collab.file.harness.LockHolder;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Write;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Opening or closing one directory must not block the JVM-wide {@link StoreRegistry} (found by review). Before the
 * fix, closing the last handle of a directory joined its writer thread while holding the registry's monitor, and
 * opening a directory recovered it under that monitor; when another process held that directory's OS lock (a long
 * batch, a stopped process), the writer waited in {@code FileChannel.lock} for a queued commit (or the open waited
 * there itself), and every {@code FileStorage.open} and {@code check} of any other, unrelated directory in the JVM
 * waited for the monitor.
 *
 * <p>What must hold: while one directory's close or open waits for another process's lock, another directory opens
 * (the bound below is a generous deadline for an open that needs no wait at all, not a timing assumption); once the
 * other process lets go, the close or open of the first directory completes, and it opens again cleanly.
 */
@Timeout(120)
class RegistryNotBlockedByOneDirectoryTest {
  @TempDir
  Path tmp;

  private final ExecutorService threads = Executors.newCachedThreadPool();

  @AfterEach
  void stopThreads() {
    threads.shutdownNow();
  }

  @Test
  void closingOneDirectoryDoesNotBlockOpeningAnother() throws Exception {
    Path one = tmp.resolve("one");
    Path two = tmp.resolve("two");
    FileStorage s = FileStorage.open(one);
    try (ChildJvm holder = ChildJvm.start("holder", LockHolder.class, tmp.resolve("holder.err"),
        List.of(one.resolve(LockFile.NAME).toString()))) {
      assertThat(holder.awaitLine("locked"::equals, Duration.ofSeconds(60))).isTrue();
      CompletableFuture<CommitResult> commit = CompletableFuture.supplyAsync(() -> s.commit(Commit.of(List.of(),
          List.of(Write.put(new RecordKey("c", "a"), "{}", "h")), List.of(new NewEvent("w", "t", "c/a", "{}")))),
          threads);
      Thread writer = Thread.getAllStackTraces().keySet().stream()
          .filter(t -> t.getName().equals("collab-file-writer-one")).findFirst().orElseThrow();
      awaitFrame(writer::getStackTrace, f -> f.getMethodName().equals("lock")
          && f.getClassName().endsWith("FileChannelImpl"), "writer waits for the child's lock");
      CompletableFuture<Void> close = CompletableFuture.runAsync(s::close, threads);
      awaitAnyThreadIn("stop", "GroupCommitWriter");
      String outcome = openWithin(two);
      holder.send("release");
      assertThat(commit.get(60, TimeUnit.SECONDS)).isInstanceOf(CommitResult.Committed.class);
      close.get(60, TimeUnit.SECONDS);
      assertThat(outcome).as("open of an unrelated directory while another one closes").isEqualTo("opened");
    }
    try (FileStorage again = FileStorage.open(one)) {
      assertThat(again.list("c", null, 10)).hasSize(1);
    }
  }

  @Test
  void openingOneDirectoryThatWaitsForAnotherProcessDoesNotBlockOpeningAnother() throws Exception {
    Path one = tmp.resolve("one");
    Path two = tmp.resolve("two");
    FileStorage.open(one).close(); // creates collab.lock for the child to lock
    try (ChildJvm holder = ChildJvm.start("holder", LockHolder.class, tmp.resolve("holder.err"),
        List.of(one.resolve(LockFile.NAME).toString()))) {
      assertThat(holder.awaitLine("locked"::equals, Duration.ofSeconds(60))).isTrue();
      CompletableFuture<FileStorage> opening = CompletableFuture.supplyAsync(() -> FileStorage.open(one), threads);
      awaitAnyThreadIn("open", "Store"); // inside Store.open, waiting for the child's lock
      String outcome = openWithin(two);
      // the same directory is opening: a second open of it waits for that one and shares its engine
      CompletableFuture<FileStorage> second = CompletableFuture.supplyAsync(() -> FileStorage.open(one), threads);
      holder.send("release");
      try (FileStorage first = opening.get(60, TimeUnit.SECONDS); FileStorage shared = second.get(60, TimeUnit.SECONDS)) {
        assertThat(shared.store()).isSameAs(first.store());
        assertThat(first.commit(Commit.of(List.of(), List.of(Write.put(new RecordKey("c", "a"), "{}", "h")),
            List.of()))).isInstanceOf(CommitResult.Committed.class);
      }
      assertThat(outcome).as("open of an unrelated directory while another one opens").isEqualTo("opened");
    }
  }

  /** Opens and closes a directory on a thread of its own, within a deadline far beyond what it needs. */
  private String openWithin(Path dir) throws Exception {
    CompletableFuture<FileStorage> other = CompletableFuture.supplyAsync(() -> FileStorage.open(dir), threads);
    try {
      other.get(20, TimeUnit.SECONDS).close();
      return "opened";
    } catch (java.util.concurrent.TimeoutException e) {
      other.thenAccept(FileStorage::close);
      return "still waiting after 20 s";
    }
  }

  private static void awaitAnyThreadIn(String method, String classSuffix) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (Thread.getAllStackTraces().values().stream().noneMatch(frames -> List.of(frames).stream()
        .anyMatch(f -> f.getMethodName().equals(method) && f.getClassName().endsWith("." + classSuffix)))) {
      assertThat(System.nanoTime()).as("a thread in %s.%s", classSuffix, method).isLessThan(deadline);
      LockSupport.parkNanos(1_000_000);
    }
  }

  private static void awaitFrame(java.util.function.Supplier<StackTraceElement[]> stack,
      Predicate<StackTraceElement> frame, String what) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (List.of(stack.get()).stream().noneMatch(frame)) {
      assertThat(System.nanoTime()).as(what).isLessThan(deadline);
      LockSupport.parkNanos(1_000_000);
    }
  }
}
