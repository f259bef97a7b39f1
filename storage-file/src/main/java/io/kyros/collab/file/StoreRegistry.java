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
 * store stays in the registry from before its channels are opened until after they are closed (marked busy while it
 * opens or closes), so an open or a header read racing the first open or the last close of the same directory waits
 * for it instead of creating a second channel on the lock file.
 *
 * <p>Locks: the registry's monitor guards the map, the reference counts and the busy marks, and is <em>not</em> held
 * across a store's open or close: both may wait for another process's OS lock on that directory (the open to
 * recover, the close for its writer thread's batch), and opening, closing or checking any other directory in this
 * JVM must not wait for that (found by review). Threads that need a busy directory wait on the monitor, which the
 * open or close notifies when it ends. Thread-safe.
 */
final class StoreRegistry {
  /** Open engines by real path, with their reference counts; guarded by itself. */
  private static final Map<Path, Entry> OPEN = new HashMap<>();

  private static final class Entry {
    /** Null while the store opens. */
    Store store;
    int references;
    /** Opening or closing, outside the monitor: whoever needs this directory waits until the entry is idle or gone. */
    boolean busy = true;
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
    Entry opening;
    Path real;
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
      real = dir.toRealPath();
      if (!Files.isDirectory(real)) {
        throw new IOException("not a directory: " + real);
      }
      Entry entry = idle(real);
      if (entry != null) {
        if (!entry.store.options().equals(options)) {
          throw new IllegalStateException("directory " + real + " is already open in this JVM with other options: "
              + entry.store.options() + " (asked: " + options + ")");
        }
        entry.references++;
        return entry.store;
      }
      opening = new Entry();
      OPEN.put(real, opening);
    }
    // outside the monitor: the open waits for the OS lock, maybe for another process
    Store store = null;
    try {
      store = Store.open(real, options, journalWrites, threads);
      return store;
    } finally {
      synchronized (OPEN) {
        if (store == null) {
          OPEN.remove(real); // a failed open: the next one tries again
        } else {
          opening.store = store;
          opening.references = 1;
          opening.busy = false;
        }
        OPEN.notifyAll();
      }
    }
  }

  /**
   * Waits (under the monitor, which the wait lets go) until the directory's entry is not opening or closing, without
   * reacting to interrupts (the interrupt status is kept). Called holding the monitor.
   *
   * @return the open entry, or null if the directory is not open in this JVM
   */
  private static Entry idle(Path real) {
    boolean interrupted = false;
    try {
      while (true) {
        Entry entry = OPEN.get(real);
        if (entry == null || !entry.busy) {
          return entry;
        }
        try {
          OPEN.wait();
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /**
   * Reads the lock header of a directory without dropping this JVM's OS lock on it: through the open engine's
   * channel if this JVM has the directory open, else from the file, under the registry's monitor so that no engine
   * opens (and takes the lock) meanwhile; an engine opening or closing is waited for. Opening and closing a channel
   * of its own on {@code collab.lock} would
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
      Entry entry = idle(real); // an engine opening or closing owns the lock file's channel: wait for it
      if (entry != null) {
        return entry.store.lockHeaderBytes();
      }
      return Checker.readIfExists(real.resolve(LockFile.NAME));
    }
  }

  /**
   * Drops one reference; the last closes the engine, outside the monitor, and removes it from the registry once its
   * files are closed (until then the entry is busy: an open of the same directory waits for the close).
   */
  static void release(Store store) {
    synchronized (OPEN) {
      Entry entry = OPEN.get(store.root());
      if (entry == null || entry.store != store || entry.busy || --entry.references > 0) {
        return;
      }
      entry.busy = true;
    }
    try {
      store.close(); // waits for the writer thread, which may wait for another process's OS lock
    } finally {
      synchronized (OPEN) {
        OPEN.remove(store.root());
        OPEN.notifyAll();
      }
    }
    store.wakeWaiters();
  }
}
