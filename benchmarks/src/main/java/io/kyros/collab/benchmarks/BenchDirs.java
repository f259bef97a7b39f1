package io.kyros.collab.benchmarks;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * Where file benchmarks keep their data: the system property {@code collab.bench.dir}, else
 * {@code benchmarks/target/bench-data} when run from the repository root, else {@code collab-bench-data} in the
 * working directory. It must be on the disk being measured (not a tmpfs), so the default is not {@code /tmp}.
 * Forked benchmark JVMs inherit the property and the working directory.
 */
final class BenchDirs {
  private BenchDirs() {}

  /**
   * @return the root of all benchmark data, created if missing
   */
  static Path root() {
    Path root = location();
    try {
      return Files.createDirectories(root.toAbsolutePath());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the benchmark directory " + root, e);
    }
  }

  /**
   * @return where {@link #root()} is, absolute, without creating it (the report names the disk that holds it)
   */
  static Path location() {
    String configured = System.getProperty("collab.bench.dir");
    Path root;
    if (configured != null && !configured.isBlank()) {
      root = Path.of(configured);
    } else if (Files.isDirectory(Path.of("benchmarks", "target"))) {
      root = Path.of("benchmarks", "target", "bench-data");
    } else {
      root = Path.of("collab-bench-data");
    }
    return root.toAbsolutePath();
  }

  /**
   * @param name a name for what the directory holds
   * @return a new, empty directory under {@link #root()}
   */
  static Path fresh(String name) {
    try {
      return Files.createTempDirectory(root(), name + "-");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a directory under " + root(), e);
    }
  }

  /**
   * Deletes a directory tree; a missing directory is fine.
   *
   * @param dir the directory
   */
  static void delete(Path dir) {
    if (dir == null || !Files.exists(dir)) {
      return;
    }
    try {
      Files.walkFileTree(dir, new SimpleFileVisitor<>() {
        @Override
        public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
          Files.delete(file);
          return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
          if (e != null) {
            throw e;
          }
          Files.delete(d);
          return FileVisitResult.CONTINUE;
        }
      });
    } catch (IOException e) {
      throw new UncheckedIOException("cannot delete " + dir, e);
    }
  }
}
