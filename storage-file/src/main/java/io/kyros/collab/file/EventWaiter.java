package io.kyros.collab.file;

import io.kyros.collab.StorageException;
import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchService;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Waiting for events: a subscriber waits until the log holds an event after a given id. Woken by
 * commits in this JVM ({@link #notifyAppended()}), by the file system's change notifications on
 * {@code events/} for other processes' appends (a watch thread started on the first wait), and by
 * polling as the fallback where there are no notifications. Whether the log holds an event after
 * the id is asked of {@link EventsAfter}, which answers a commit of this JVM without touching a file.
 *
 * <p>Guarantees: a waiter returns once an event after its id is visible, or when its timeout
 * passes, or fails once the storage is closed; it never misses a wake-up (it re-checks the log
 * under the monitor before each wait).
 *
 * <p>Locks: its own monitor guards the watch service and the closed flag; waiters wait on it.
 * Thread-safe.
 */
final class EventWaiter {
  private static final Logger LOG = LoggerFactory.getLogger(EventWaiter.class);

  /** Whether the log holds an event after an id. */
  @FunctionalInterface
  interface EventsAfter {
    boolean any(long afterId) throws IOException;
  }

  private final Path root;
  private final EventsAfter eventsAfter;
  private final Object monitor = new Object();
  /** Guarded by {@link #monitor}. */
  private WatchService watcher;
  /** Guarded by {@link #monitor}. */
  private boolean closed;

  EventWaiter(Path root, EventsAfter eventsAfter) {
    this.root = root;
    this.eventsAfter = eventsAfter;
  }

  /** Wakes every waiter to look at the log again. */
  void notifyAppended() {
    synchronized (monitor) {
      monitor.notifyAll();
    }
  }

  /**
   * Waits for an event after {@code afterId}.
   *
   * @param poll the longest wait between two looks at the log
   * @param handleClosed whether the caller's handle was closed meanwhile
   * @return whether there is one
   */
  boolean await(long afterId, Duration timeout, Duration poll, BooleanSupplier handleClosed)
      throws InterruptedException, IOException {
    startWatcher();
    long timeoutNanos = timeout.compareTo(Duration.ofNanos(Long.MAX_VALUE)) >= 0 ? Long.MAX_VALUE : timeout.toNanos();
    long start = System.nanoTime();
    synchronized (monitor) {
      while (true) {
        if (handleClosed.getAsBoolean()) {
          throw new StorageException("FileStorage is closed: " + root);
        }
        if (eventsAfter.any(afterId)) {
          return true;
        }
        long left = timeoutNanos - (System.nanoTime() - start);
        if (left <= 0) {
          return false;
        }
        TimeUnit.NANOSECONDS.timedWait(monitor, Math.min(left, poll.toNanos()));
      }
    }
  }

  /** Stops the watch thread; no new one starts. */
  void close() throws IOException {
    synchronized (monitor) {
      closed = true;
      if (watcher != null) {
        watcher.close();
      }
    }
  }

  private void startWatcher() {
    synchronized (monitor) {
      if (watcher != null || closed) {
        return;
      }
      try {
        watcher = root.getFileSystem().newWatchService();
        root.resolve("events").register(watcher, StandardWatchEventKinds.ENTRY_MODIFY,
            StandardWatchEventKinds.ENTRY_CREATE);
      } catch (IOException | UnsupportedOperationException e) {
        LOG.info("No file change notifications for {} ({}); waiting for events polls", root, e.toString());
        return;
      }
      WatchService service = watcher;
      Thread t = new Thread(() -> {
        try {
          while (true) {
            var key = service.take();
            key.pollEvents();
            key.reset();
            notifyAppended();
          }
        } catch (InterruptedException | ClosedWatchServiceException e) {
          // closed with the store
        }
      }, "collab-file-watch-" + root.getFileName());
      t.setDaemon(true);
      t.start();
    }
  }
}
