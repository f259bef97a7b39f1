package io.kyros.collab.file;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystem;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;

/**
 * The permissions new files and directories get: owner-only ({@code 0600} / {@code 0700}) on POSIX
 * file systems, the file system's default elsewhere. Immutable and thread-safe.
 */
final class FilePermissions {
  private static final FileAttribute<?>[] NONE = new FileAttribute<?>[0];

  private final FileAttribute<?>[] file;
  private final FileAttribute<?>[] directory;

  private FilePermissions(FileAttribute<?>[] file, FileAttribute<?>[] directory) {
    this.file = file;
    this.directory = directory;
  }

  static FilePermissions ownerOnly(FileSystem fs) {
    if (!fs.supportedFileAttributeViews().contains("posix")) {
      return new FilePermissions(NONE, NONE);
    }
    return new FilePermissions(
        new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"))},
        new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"))});
  }

  FileAttribute<?>[] file() {
    return file.clone();
  }

  FileAttribute<?>[] directory() {
    return directory.clone();
  }

  /**
   * Forces files' contents to disk ({@code fdatasync}: the data and what is needed to read it back,
   * such as the size), opening each without following links. A file deleted since is skipped:
   * forcing its directory makes the deletion durable. With more than a few files, up to
   * {@link #FORCE_THREADS} threads of {@code pool} force them at once: the disk then serves several
   * forces per flush instead of one after another.
   *
   * @param files the files
   * @param pool threads to force with, or {@code null} to force on the calling thread
   * @throws IOException the first failure, with the others suppressed
   */
  static void forceFiles(Collection<Path> files, ExecutorService pool) throws IOException {
    if (pool == null || files.size() <= 4) {
      forceEach(new ArrayList<>(files));
      return;
    }
    awaitForces(submitForces(files, pool));
  }

  /**
   * Starts forcing files as {@link #forceFiles} does, on up to {@link #FORCE_THREADS} threads of
   * {@code pool}, without waiting.
   *
   * @param files the files (copied: the caller may change the collection afterwards)
   * @param pool threads to force with
   * @return the forces under way, for {@link #awaitForces}
   */
  static List<Future<?>> submitForces(Collection<Path> files, ExecutorService pool) {
    List<List<Path>> parts = parts(files, FORCE_THREADS);
    List<Future<?>> futures = new ArrayList<>(parts.size());
    for (List<Path> part : parts) {
      futures.add(pool.submit(() -> {
        forceEach(part);
        return null;
      }));
    }
    return futures;
  }

  /**
   * Cuts files into parts to force at once, one part per thread.
   *
   * @param files the files (copied: the caller may change the collection afterwards)
   * @param most the most parts
   * @return up to {@code most} parts of nearly equal size, of two files or more when there are two or more
   */
  static List<List<Path>> parts(Collection<Path> files, int most) {
    List<Path> list = List.copyOf(files);
    int count = Math.max(1, Math.min(most, list.size() / 2));
    List<List<Path>> parts = new ArrayList<>(count);
    for (int p = 0; p < count; p++) {
      parts.add(list.subList(list.size() * p / count, list.size() * (p + 1) / count));
    }
    return parts;
  }

  /**
   * Waits for forces started by {@link #submitForces}, all of them even if one fails or the thread
   * is interrupted (the interrupt status is kept).
   *
   * @param futures the forces
   * @throws IOException the first failure, with the others suppressed
   */
  static void awaitForces(List<Future<?>> futures) throws IOException {
    IOException failure = null;
    boolean interrupted = false;
    for (Future<?> f : futures) {
      while (true) {
        try {
          f.get();
          break;
        } catch (InterruptedException e) {
          interrupted = true; // the forces run on; wait for them all the same
        } catch (ExecutionException e) {
          IOException cause = e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
          if (failure == null) {
            failure = cause;
          } else {
            failure.addSuppressed(cause);
          }
          break;
        }
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    if (failure != null) {
      throw failure;
    }
  }

  /** How many threads force files at once during a checkpoint. */
  static final int FORCE_THREADS = 32;

  /**
   * Forces files one after another on the calling thread, as {@link #forceFiles} does.
   *
   * @param files the files
   * @throws IOException the first failure
   */
  static void forceEach(List<Path> files) throws IOException {
    for (Path f : files) {
      try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
        ch.force(false);
      } catch (NoSuchFileException e) {
        // gone: nothing to force
      }
    }
  }

  /**
   * Forces a directory's entries (created, renamed and deleted names) to disk. Java has no API for
   * this; opening the directory for reading and forcing the channel works on Linux and macOS.
   */
  static void forceDirectory(Path dir) throws IOException {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    }
  }
}
