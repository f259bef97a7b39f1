package io.kyros.collab.benchmarks;

import io.kyros.collab.file.FileStorage;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.Storage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Builds large file stores fast, straight through the storage SPI in big commits on a {@code Durability.NONE}
 * storage (what the API would take hours to do durably), and caches them under {@link BenchDirs#root()} so later
 * runs reuse them. A benchmark then reopens the directory with the default durable options to measure it.
 *
 * <p>A cached store counts as complete only once its marker file (beside the directory, written last) exists; a
 * directory without one was left half-built and is rebuilt from scratch.
 */
final class BulkStore {
  private BulkStore() {}

  /** Builds one commit of a bulk load. */
  @FunctionalInterface
  interface Chunk {
    /**
     * @param first the 0-based index of the first item in this commit
     * @param count how many items it holds
     * @return the commit
     */
    Commit commit(long first, int count);
  }

  /**
   * @param name the cache's name, with a version suffix to bump when its content changes (such as {@code log-10m-v1})
   * @param fill fills an empty store opened with {@code Durability.NONE}
   * @return the directory of the complete store, built now if it was not cached
   */
  static Path cached(String name, Consumer<FileStorage> fill) {
    Path dir = BenchDirs.root().resolve(name);
    Path marker = BenchDirs.root().resolve(name + ".complete");
    if (Files.exists(marker) && Files.isDirectory(dir)) {
      System.err.println("bulk store " + name + ": reusing " + dir);
      return dir;
    }
    BenchDirs.delete(dir);
    build(dir, fill);
    try {
      Files.writeString(marker, "complete\n");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + marker, e);
    }
    return dir;
  }

  /**
   * Fills a directory through a {@code Durability.NONE} storage and closes it.
   *
   * @param dir the store's directory, new or empty
   * @param fill fills the store
   */
  static void build(Path dir, Consumer<FileStorage> fill) {
    try (FileStorage storage = FileStorage.builder(dir).durability(FileStorage.Durability.NONE).open()) {
      fill.accept(storage);
    }
  }

  /**
   * Commits {@code total} items in commits of {@code perCommit}, printing progress to stderr about every 10%.
   *
   * @param storage the storage
   * @param what what the items are, for the progress lines
   * @param total how many items
   * @param perCommit the most items per commit
   * @param chunk builds each commit
   * @throws IllegalStateException if a commit reports a conflict
   */
  static void load(Storage storage, String what, long total, int perCommit, Chunk chunk) {
    long start = System.nanoTime();
    long step = Math.max(perCommit, total / 10);
    long nextReport = step;
    for (long first = 0; first < total; first += perCommit) {
      int count = (int) Math.min(perCommit, total - first);
      CommitResult result = storage.commit(chunk.commit(first, count));
      if (!(result instanceof CommitResult.Committed)) {
        throw new IllegalStateException("bulk load of " + what + " at " + first + " was refused: " + result);
      }
      long done = first + count;
      if (done >= nextReport || done == total) {
        System.err.printf("bulk load: %,d / %,d %s, %d s%n", done, total, what,
            TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start));
        nextReport += step;
      }
    }
  }
}
