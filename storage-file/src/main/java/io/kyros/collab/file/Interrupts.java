package io.kyros.collab.file;

import java.io.IOException;
import java.nio.channels.ClosedByInterruptException;

/**
 * Runs file reads on a caller's thread as a commit runs on it: whatever its interrupt status. A {@code FileChannel}
 * operation on a thread whose interrupt status is set closes the channel and throws {@link ClosedByInterruptException}
 * (so does {@code Files.readAllBytes}, which reads through one); a commit on such a thread succeeds and keeps the
 * status (its thread waits for the writer thread and touches no channel), so a read does the same: it clears the
 * status, runs, and sets it again.
 *
 * <p>Guarantees: only for reads whose channels are their own (opened and closed by the read): an interrupt that
 * arrives during such a read closes that read's channel only, and the read is run again (each pass needs a new
 * interrupt, so it cannot spin). Never use it around an operation on a shared channel ({@link LockFile},
 * {@link Journal}, the event segments' writer channel): an interrupt would close it for every thread of the JVM, and
 * the lock file's would drop the process's OS lock; those are touched only by the writer thread (which clears its own
 * status before each step, see {@link GroupCommitWriter}) or by a thread of their own
 * ({@link Store#lockHeaderBytes}).
 *
 * <p>Locks: none. Stateless and thread-safe.
 */
final class Interrupts {
  private Interrupts() {}

  /** A read that opens its own channels. */
  @FunctionalInterface
  interface Read<T> {
    T run() throws IOException;
  }

  /**
   * Runs a read with the thread's interrupt status cleared, and sets it again afterwards if it was set before or an
   * interrupt arrived meanwhile.
   *
   * @param read a read that opens its own channels only
   * @return what it returns
   * @throws IOException as the read does, never {@link ClosedByInterruptException}
   */
  static <T> T uninterrupted(Read<T> read) throws IOException {
    boolean interrupted = Thread.interrupted();
    try {
      while (true) {
        try {
          return read.run();
        } catch (ClosedByInterruptException e) {
          // an interrupt arrived during the read and closed the read's own channel: read again, keeping the status
          Thread.interrupted();
          interrupted = true;
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
