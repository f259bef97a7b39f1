package io.kyros.collab.file;

import java.io.IOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What one open of a store created, so that an open that fails (a full disk while preallocating
 * the journal, say) removes it again instead of leaving a half-made store whose preallocated journal
 * keeps the disk full. Only a store this open created is removed: files of an existing store are
 * never touched. The lock file stays (a few bytes): another process may already wait for its lock,
 * and a new lock file under the same name would let two processes hold "the" lock at once.
 *
 * <p>Locks: none; used by the opening thread only. Not thread-safe.
 */
final class Created {
  private static final Logger LOG = LoggerFactory.getLogger(Created.class);

  /** Makes something that may create {@code file}. */
  @FunctionalInterface
  interface Step<T> {
    T run() throws IOException;
  }

  /** Paths this open created, in order. */
  private final List<Path> paths = new ArrayList<>();

  void add(Path path) {
    paths.add(path);
  }

  /** Remembers nothing about {@code file}: it stays whatever happens (the lock file). */
  <T> T keep(Step<T> step) throws IOException {
    return step.run();
  }

  /** Runs a step and remembers {@code file} if the step created it. */
  <T> T track(Path file, Step<T> step) throws IOException {
    boolean existed = Files.exists(file, LinkOption.NOFOLLOW_LINKS);
    if (!existed) {
      paths.add(file); // also if the step fails halfway: a partial file is this open's too
    }
    return step.run();
  }

  /**
   * Removes what this open created, newest first, if it created the store itself (its
   * {@code format.json}); otherwise leaves everything as it is.
   */
  void removeAfterFailedOpen(Path root) {
    if (!paths.contains(root.resolve(FormatFile.NAME))) {
      return;
    }
    List<Path> all = new ArrayList<>(paths);
    for (String sub : List.of("state", "events")) {
      Path d = root.resolve(sub);
      if (!all.contains(d)) {
        continue;
      }
      // a new store's directories hold only what this open wrote
      try (var entries = Files.newDirectoryStream(d)) {
        entries.forEach(all::add);
      } catch (IOException e) {
        LOG.debug("Listing {} after a failed open", d, e);
      }
    }
    try (var temps = Files.newDirectoryStream(root, ".*.tmp")) {
      temps.forEach(all::add);
    } catch (IOException e) {
      LOG.debug("Listing {} after a failed open", root, e);
    }
    for (int i = all.size() - 1; i >= 0; i--) {
      Path p = all.get(i);
      try {
        if (Files.deleteIfExists(p)) {
          LOG.info("Removed {}, created by an open of {} that failed", p, root);
        }
      } catch (DirectoryNotEmptyException e) {
        LOG.warn("Not removing {} after a failed open: not empty", p);
      } catch (IOException e) {
        LOG.warn("Removing {} after a failed open failed", p, e);
      }
    }
  }
}
