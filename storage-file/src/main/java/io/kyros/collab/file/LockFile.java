package io.kyros.collab.file;

import static java.nio.charset.StandardCharsets.US_ASCII;

import io.kyros.collab.file.Codec.Counters;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.FileLockInterruptionException;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The writers' OS lock, {@code collab.lock}, and the header in its first bytes: the hand-over
 * between the processes of one boot.
 *
 * <p>On-disk format: the first {@value #HEADER_BYTES} bytes are one JSON object padded with spaces
 * and ending in a newline; nothing follows.
 *
 * <pre>
 * {"revision":44,"eventId":9,"journal":1830,"boot":"5b3c…","crc32c":"1a2b3c4d"}␠␠␠…␠␠\n      (256 bytes)
 *
 *   revision   the store's revision counter after the last commit
 *   eventId    the id of the last event handed out
 *   journal    bytes of journal.jsonl already applied to the document and event files
 *   boot       Linux's /proc/sys/kernel/random/boot_id when it was written ("" elsewhere)
 *   crc32c     as in every framed line ({@link Lines}); a header failing it is not trusted
 * </pre>
 *
 * <p>Guarantees: the header is written after every commit without forcing, so it describes the page
 * cache of this boot only; a header of another boot, or one that cannot be parsed, is not trusted
 * (the journal is then replayed from its start). The OS lock ({@link FileChannel#lock()}, POSIX
 * {@code fcntl} on Linux) belongs to the process and closing <em>any</em> channel on the file drops
 * it, so each JVM keeps exactly one {@code LockFile} per directory (see {@link StoreRegistry}) and
 * only the thread holding the store's writer lock writes it; the checker of this JVM reads the header
 * through the same channel ({@link #headerBytes}, a positional read), never through a channel of its own.
 *
 * <p>An interrupt reaching a thread inside an operation on the channel closes it (and so drops the lock, if held).
 * Nobody should interrupt the threads that use it, but should one be interrupted, the store must not stay broken for
 * every thread of the JVM: {@link #lock()} and {@link #tryLock()} open the file again when they find the channel
 * closed, and an interrupt of {@link #lock()} while it waits for another process does not end the wait (it opens
 * the file again and waits on). Opening it again is safe exactly then: the old channel is closed, so this process
 * holds no lock on the file, and the new channel is still the only one in the JVM.
 *
 * <p>Locks: none of its own; every method but {@link #headerBytes} is called with the store's writer
 * lock held. Not thread-safe on its own.
 */
final class LockFile implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(LockFile.class);
  static final String NAME = "collab.lock";
  static final int HEADER_BYTES = 256;

  private final Path file;
  /** Replaced only under the store's writer lock, when an interrupt closed it; read without it by {@link #headerBytes}. */
  private volatile FileChannel channel;
  /** Set by {@link #close()}: a channel closed then is never opened again. */
  private volatile boolean closed;
  /** Linux's boot id: a header written in this boot describes what is in the page cache; null elsewhere. */
  private final String bootId;

  private LockFile(Path file, FileChannel channel, String bootId) {
    this.file = file;
    this.channel = channel;
    this.bootId = bootId;
  }

  /** Opens (creating it if needed) the lock file of a store's root. */
  static LockFile open(Path root, FilePermissions permissions) throws IOException {
    Path file = root.resolve(NAME);
    FileChannel channel = FileChannel.open(file, Set.of(StandardOpenOption.CREATE, StandardOpenOption.READ,
        StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS), permissions.file());
    return new LockFile(file, channel, readBootId(root.getFileSystem()));
  }

  Path file() {
    return file;
  }

  /** @return this boot's id, or null where the system has none */
  String bootId() {
    return bootId;
  }

  /**
   * Takes the process's exclusive OS lock, waiting for other processes. An interrupt does not end the wait: it closes
   * the channel ({@link FileLockInterruptionException}), and this opens the file again and waits on; the thread's
   * interrupt status is as it was before, or set if an interrupt arrived meanwhile. A channel found closed (by an
   * interrupt during an earlier operation, which dropped the lock then) is replaced the same way.
   *
   * @throws IOException if the file cannot be locked or opened again
   */
  FileLock lock() throws IOException {
    boolean interrupted = Thread.interrupted(); // a set status would close the channel at once
    try {
      while (true) {
        FileChannel ch = channel;
        try {
          return ch.lock();
        } catch (FileLockInterruptionException | ClosedChannelException e) {
          interrupted |= Thread.interrupted();
          reopen(ch, e);
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /**
   * Takes the process's exclusive OS lock if no other process holds it now, opening the file again first if an
   * interrupt closed the channel.
   *
   * @return the lock, or null if another process holds it
   */
  FileLock tryLock() throws IOException {
    FileChannel ch = channel;
    if (!ch.isOpen()) {
      reopen(ch, null);
    }
    return channel.tryLock();
  }

  /**
   * Replaces a channel that an interrupt closed. Called under the store's writer lock with the channel closed, so this
   * process holds no lock on the file. The file is not created: one removed meanwhile is not the file other processes
   * lock.
   */
  private void reopen(FileChannel old, IOException cause) throws IOException {
    if (old.isOpen() || closed) {
      throw cause != null ? cause : new ClosedChannelException(); // not closed by an interrupt: nothing to reopen
    }
    if (channel != old) {
      return; // replaced meanwhile
    }
    FileChannel fresh;
    try {
      fresh = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
    } catch (IOException e) {
      if (cause != null) {
        e.addSuppressed(cause);
      }
      throw e;
    }
    channel = fresh;
    LOG.warn("The channel of {} was closed (an interrupt of a thread"
        + " using it); opened it again{}", file, cause == null ? "" : ": " + cause);
  }

  /**
   * @return the header's counters, or null if the header is empty, cannot be parsed or fails its
   *     checksum (a header without one, from an earlier version, is read as is)
   */
  Counters readHeader() throws IOException {
    byte[] bytes = headerBytes();
    return decodeHeader(bytes, bytes.length);
  }

  /**
   * Reads the header's bytes with positional reads on this channel (safe without the writer lock; a reading that
   * overlaps a rewrite may mix both, which its checksum shows).
   *
   * @return the bytes, up to {@value #HEADER_BYTES}
   */
  byte[] headerBytes() throws IOException {
    while (true) {
      FileChannel ch = channel;
      ByteBuffer buf = ByteBuffer.allocate(HEADER_BYTES);
      try {
        while (buf.hasRemaining() && ch.read(buf, buf.position()) > 0) {
          // fill
        }
        return Arrays.copyOf(buf.array(), buf.position());
      } catch (ClosedChannelException e) {
        if (channel == ch) {
          throw e;
        }
        // the writer replaced a channel an interrupt closed: read through the new one
      }
    }
  }

  /** @return the counters of a header's bytes, or null as for {@link #readHeader()} */
  static Counters decodeHeader(byte[] bytes, int length) {
    int end = Math.min(length, HEADER_BYTES);
    while (end > 0 && (bytes[end - 1] == ' ' || bytes[end - 1] == '\n')) {
      end--;
    }
    if (end == 0) {
      return null;
    }
    if (Lines.isFramed(bytes, 0, end) && !Lines.verify(bytes, 0, end)) {
      return null;
    }
    return Codec.decodeCounters(bytes, end);
  }

  /**
   * Writes the header, without forcing it.
   *
   * @param revision the revision counter
   * @param eventId the last event id handed out
   * @param journalApplied how many bytes of the journal are applied
   */
  void writeHeader(long revision, long eventId, long journalApplied) throws IOException {
    byte[] line = Lines.frame(Codec.encodeHeader(revision, eventId, journalApplied, bootId == null ? "" : bootId));
    byte[] header = new byte[HEADER_BYTES];
    Arrays.fill(header, (byte) ' ');
    System.arraycopy(line, 0, header, 0, line.length - 1); // without its newline: the header's last byte is one
    header[HEADER_BYTES - 1] = '\n';
    ByteBuffer buf = ByteBuffer.wrap(header);
    while (buf.hasRemaining()) {
      channel.write(buf, buf.position());
    }
  }

  /** Closes the channel, which drops this process's lock: last, when the store closes. */
  @Override
  public void close() throws IOException {
    closed = true;
    channel.close();
  }

  /**
   * Reads the boot id through the store's own file system (the default one in production), so a test
   * file system that simulates power cuts can present a new boot after each cut.
   */
  static String readBootId(FileSystem fs) {
    Path file = fs.getPath("/proc/sys/kernel/random/boot_id");
    try {
      return Files.exists(file) ? new String(Files.readAllBytes(file), US_ASCII).trim() : null;
    } catch (IOException e) {
      return null;
    }
  }
}
