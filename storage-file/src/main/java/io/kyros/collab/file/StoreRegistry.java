package io.kyros.collab.file;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The per-directory registry: exactly one {@link Store} per directory per JVM, shared by every
 * {@link FileStorage} opened on it and closed with the last of them. It exists because the
 * operating system's file locks belong to the process: two channels on {@code collab.lock} in one
 * JVM would not exclude each other, and closing either would drop the lock. This map is the one
 * piece of static state in Collab, and exists for that reason only.
 *
 * <p>Guarantees: directories are keyed by their real path (links and relative paths resolved), so
 * two spellings of one directory share one engine; a second open with other options is refused; a
 * store stays in the registry until its channels are closed, so an open racing the last close waits
 * for it instead of creating a second channel on the lock file.
 *
 * <p>Locks: the registry's monitor guards the map and the reference counts, and is held across a
 * store's open and close. Thread-safe.
 */
final class StoreRegistry {
  /** Open engines by real path, with their reference counts; guarded by itself. */
  private static final Map<Path, Entry> OPEN = new HashMap<>();

  private static final class Entry {
    final Store store;
    int references;

    Entry(Store store) {
      this.store = store;
    }
  }

  private StoreRegistry() {}

  /**
   * Opens (or shares) the engine of a directory, creating the directory if needed.
   *
   * @throws IOException if the directory cannot be opened or recovered
   * @throws IllegalStateException if it is open in this JVM with other options
   */
  static Store acquire(Path directory, Store.Options options, Journal.Writes journalWrites,
      Checkpoints.Threads threads) throws IOException {
    synchronized (OPEN) {
      Path dir = directory.toAbsolutePath().normalize();
      if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS) && !Files.isSymbolicLink(dir)) {
        Path parent = dir.getParent();
        if (parent != null) {
          Files.createDirectories(parent);
        }
        try {
          Files.createDirectory(dir, FilePermissions.ownerOnly(dir.getFileSystem()).directory());
          if (parent != null && options.durability() == FileStorage.Durability.FSYNC) {
            // the new directory's entry must survive a power loss with the commits made inside it
            FilePermissions.forceDirectory(parent);
          }
        } catch (FileAlreadyExistsException raced) {
          // another process created it
        }
      }
      Path real = dir.toRealPath();
      if (!Files.isDirectory(real)) {
        throw new IOException("not a directory: " + real);
      }
      Entry entry = OPEN.get(real);
      if (entry == null) {
        entry = new Entry(Store.open(real, options, journalWrites, threads));
        OPEN.put(real, entry);
      } else if (!entry.store.options().equals(options)) {
        throw new IllegalStateException("directory " + real + " is already open in this JVM with other options: "
            + entry.store.options() + " (asked: " + options + ")");
      }
      entry.references++;
      return entry.store;
    }
  }

  /**
   * Reads the lock header of a directory without dropping this JVM's OS lock on it: through the open engine's
   * channel if this JVM has the directory open, else from the file, under the registry's monitor so that no engine
   * opens (and takes the lock) meanwhile. Opening and closing a channel of its own on {@code collab.lock} would
   * release every lock this process holds on it (POSIX {@code fcntl} semantics), letting another process write
   * while this one's writer is inside a batch.
   *
   * @param directory the store's directory, absolute
   * @return the file's first bytes (at most the header), or null if there is no lock file or it is a link
   * @throws IOException if it cannot be read
   */
  static byte[] readLockHeader(Path directory) throws IOException {
    synchronized (OPEN) {
      Path real;
      try {
        real = directory.toRealPath();
      } catch (NoSuchFileException e) {
        return null;
      }
      Entry entry = OPEN.get(real);
      if (entry != null) {
        return entry.store.lockHeaderBytes();
      }
      return Checker.readIfExists(real.resolve(LockFile.NAME));
    }
  }

  /**
   * Drops one reference; the last closes the engine and removes it from the registry once its
   * files are closed.
   */
  static void release(Store store) {
    synchronized (OPEN) {
      Entry entry = OPEN.get(store.root());
      if (entry == null || entry.store != store || --entry.references > 0) {
        return;
      }
      try {
        store.close();
      } finally {
        OPEN.remove(store.root());
      }
    }
    store.wakeWaiters();
  }
}
