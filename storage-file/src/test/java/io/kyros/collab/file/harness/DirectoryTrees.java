package io.kyros.collab.file.harness;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** Copying and deleting directory trees that nothing else uses meanwhile, for the crash and power-cut tests. Stateless. */
public final class DirectoryTrees {
  private DirectoryTrees() {}

  /**
   * Copies a tree.
   *
   * @param from the directory to copy
   * @param to where the copy goes; must not exist
   * @throws IOException if a file cannot be copied
   */
  public static void copy(Path from, Path to) throws IOException {
    try (Stream<Path> all = Files.walk(from)) {
      all.forEach(p -> {
        try {
          Files.copy(p, to.resolve(from.relativize(p).toString()));
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
  }

  /**
   * Deletes a tree, or a file.
   *
   * @param path the directory or file
   * @throws IOException if something cannot be deleted
   */
  public static void delete(Path path) throws IOException {
    try (Stream<Path> all = Files.walk(path)) {
      for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
