package io.kyros.collab.file;

import io.kyros.collab.file.JournalCodec.JournalEntry;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The write-ahead journal, {@code journal.jsonl}: one checksummed line per commit holding its
 * writes and events. A commit is durable once its line is forced; the documents and event lines are
 * then written from it, and it is dropped at the next checkpoint, once those are forced too.
 *
 * <p>The file is <b>preallocated with zero bytes</b> (written, not just reserved) to {@code capacity}
 * whenever it is emptied, and lines are written over those zeros. Forcing a line then only forces
 * data: the file's size and block map do not change, so on ext4 and XFS {@code fdatasync} needs no
 * file-system journal commit (the way database write-ahead logs are preallocated). The journal's
 * logical end is the first line start holding a zero byte; a batch that outgrows the capacity simply
 * extends the file.
 *
 * <p>On-disk format: framed lines ({@link Lines}), one per commit, then zero bytes:
 *
 * <pre>
 * {"revision":44,"eventId":9,"writes":[{"collection":"orders","id":"42","revision":44,"hash":"…","json":"{…}"},
 *   {"collection":"orders","id":"41","revision":43,"delete":true}],"events":[{"id":9,"ts":"…",…}],"crc32c":"0d1e2f3a"}\n
 * …
 * \0\0\0\0…                      preallocated zeros up to the capacity
 * </pre>
 *
 * <p>Locks: used only under the store's writer lock and OS lock. Not thread-safe on its own.
 */
final class Journal implements AutoCloseable {
  static final String NAME = "journal.jsonl";
  private static final Logger LOG = LoggerFactory.getLogger(Journal.class);
  private static final int ZEROS = 1 << 20;

  private final Path file;
  /** Replaced by {@link #reopenIfClosed()} only, under the writer lock, when an interrupt closed it. */
  private FileChannel channel;
  /** Set by {@link #close()}: a channel closed then is never opened again. */
  private boolean closed;
  /** Bytes preallocated with zeros whenever the journal is emptied. */
  private final long capacity;
  /** The logical end as this engine last saw it: where the next line goes. */
  private long end;

  /**
   * Writes bytes at a position: {@link FileChannel#write(ByteBuffer, long)}. The seam through which
   * a test makes the preallocation fail as on a full disk.
   */
  @FunctionalInterface
  interface Writes {
    /** Writes as {@link FileChannel#write(ByteBuffer, long)} does. */
    int write(FileChannel channel, ByteBuffer source, long position) throws IOException;
  }

  /** Plain channel writes. */
  static final Writes CHANNEL = FileChannel::write;

  private final Writes writes;

  Journal(Path file, FilePermissions permissions, long capacity, Writes writes) throws IOException {
    this.file = file;
    this.capacity = capacity;
    this.writes = writes;
    this.channel = FileChannel.open(file, Set.of(StandardOpenOption.CREATE, StandardOpenOption.READ,
        StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS), permissions.file());
  }

  Path file() {
    return file;
  }

  /**
   * Opens the file again if its channel was closed by an interrupt of a thread inside an operation on it (which
   * nobody should do: only the writer thread uses it, see {@link GroupCommitWriter}), so that one interrupt does not
   * fail every later commit of the JVM. The logical end stays as it is: the catch-up that follows under the OS lock
   * reads the journal from the lock header's offset. Under the writer lock; the file is not created.
   *
   * @throws IOException if it cannot be opened
   */
  void reopenIfClosed() throws IOException {
    if (channel.isOpen() || closed) {
      return;
    }
    channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
    LOG.warn("The channel of {} was closed (an interrupt of a thread using it); opened it again", file);
  }

  /** @return the logical end: the bytes of complete lines, as of the last read or append */
  long end() {
    return end;
  }

  /**
   * Tells whether {@code offset} can be where the applied part of the journal ends: 0, or just after
   * a line's newline, within the file. One read of at most two bytes, no {@code fstat}.
   *
   * @return -1 if it cannot (an offset from before the journal was emptied), 0 if nothing follows it,
   *     1 if a line (or a torn start of one) follows it
   */
  int probe(long offset) throws IOException {
    if (offset < 0) {
      return -1;
    }
    ByteBuffer two = ByteBuffer.allocate(2);
    long at = offset == 0 ? 0 : offset - 1;
    while (two.hasRemaining() && channel.read(two, at + two.position()) > 0) {
      // fill
    }
    int read = two.position();
    if (offset > 0 && (read == 0 || two.get(0) != '\n')) {
      return -1;
    }
    int next = offset == 0 ? 0 : 1;
    boolean more = read > next && two.get(next) != 0;
    if (!more) {
      end = offset;
    }
    return more ? 1 : 0;
  }

  /** Appends encoded entries at the logical end. */
  void append(byte[] bytes) throws IOException {
    ByteBuffer buf = ByteBuffer.wrap(bytes);
    long at = end;
    while (buf.hasRemaining()) {
      at += channel.write(buf, at);
    }
    end = at;
  }

  void force() throws IOException {
    channel.force(false);
  }

  /**
   * Takes back the last append, which failed: cuts the file at {@code end} (the rest of the file is
   * no longer preallocated until the journal is next emptied).
   */
  void undo(long end) throws IOException {
    channel.truncate(end);
    this.end = end;
  }

  /**
   * Empties the journal durably, then preallocates it again. Crash-safe: a crash after the cut
   * leaves a shorter file of zeros, which is an empty journal.
   */
  void empty() throws IOException {
    channel.truncate(0);
    channel.force(true);
    end = 0;
    preallocate();
  }

  /** Writes zeros from the end of the file up to the capacity and forces them. Under the writer lock. */
  void preallocate() throws IOException {
    long size = channel.size();
    if (size >= capacity) {
      return;
    }
    ByteBuffer zeros = ByteBuffer.allocate((int) Math.min(ZEROS, capacity - size));
    for (long at = size; at < capacity; ) {
      zeros.clear();
      zeros.limit((int) Math.min(zeros.capacity(), capacity - at));
      at += writes.write(channel, zeros, at);
    }
    channel.force(true);
  }

  /**
   * Reads the entries from {@code offset} to the logical end (the first line start holding a zero
   * byte, or the end of the file) and moves {@link #end()} there. A torn last entry (no newline, or a
   * bad checksum on the last line, or a zero byte inside a line, or bytes after the end that are not
   * zeros: parts of an unacknowledged write that never reached the disk) is cut off, with everything
   * after it: it was never acknowledged.
   *
   * @throws CorruptFileException if a line before the last one is damaged
   */
  List<JournalEntry> readFrom(long offset) throws IOException {
    return readFrom(offset, 0);
  }

  /**
   * Reads like {@link #readFrom(long)}, and fails instead of cutting anything before
   * {@code appliedEnd}: bytes the lock header records as applied were complete, acknowledged lines,
   * so a journal whose entries end before them was damaged or replaced, not torn by a crash.
   *
   * @param appliedEnd where the entries must at least reach (0: no such record)
   * @throws CorruptFileException if the entries end before {@code appliedEnd}, or a line before the
   *     last one is damaged; nothing is cut then
   */
  List<JournalEntry> readFrom(long offset, long appliedEnd) throws IOException {
    long size = channel.size();
    if (offset >= size) {
      checkReaches(offset, appliedEnd, false);
      end = offset;
      return List.of();
    }
    byte[] buf = bytesFrom(offset, size);
    Parsed parsed = parse(buf, offset, file);
    List<JournalEntry> entries = parsed.entries();
    int s = (int) (parsed.end() - offset);
    boolean torn = parsed.torn();
    checkReaches(offset + s, appliedEnd, torn);
    end = offset + s;
    if (torn) {
      LOG.warn("Cutting the torn tail of {} at offset {} ({} bytes): an entry that was never acknowledged",
          file, end, buf.length - s);
      channel.truncate(end);
      channel.force(false);
      preallocate();
    }
    return entries;
  }

  /**
   * Reads the entries from {@code offset} to the logical end without changing anything: neither the file nor
   * {@link #end()}. For a reader of lines that are already applied and acknowledged (the index follower, which runs
   * after {@link Recovery}'s catch-up): whether damage is a torn tail to cut is for recovery and the checkpoints to
   * decide, with the lock header's applied offset, so this reports any damage, a damaged last line included.
   *
   * @throws CorruptFileException if a line is damaged or incomplete, or bytes after the entries are not zeros; the
   *     offset is where the damaged line starts
   */
  List<JournalEntry> readWithoutCutting(long offset) throws IOException {
    long size = channel.size();
    if (offset >= size) {
      return List.of();
    }
    Parsed parsed = parse(bytesFrom(offset, size), offset, file);
    if (parsed.torn()) {
      throw new CorruptFileException(file, parsed.end(), "a damaged or incomplete journal line (or non-zero bytes"
          + " after the last line) where the entries read from offset " + offset + " end; nothing was cut", null);
    }
    return parsed.entries();
  }

  /** @return the file's bytes from {@code offset} to {@code size} */
  private byte[] bytesFrom(long offset, long size) throws IOException {
    if (size - offset > Integer.MAX_VALUE - 16) {
      throw new IOException("journal too large to replay: " + file + " (" + size + " bytes)");
    }
    byte[] buf = new byte[(int) (size - offset)];
    ByteBuffer b = ByteBuffer.wrap(buf);
    while (b.hasRemaining() && channel.read(b, offset + b.position()) > 0) {
      // fill
    }
    return buf;
  }

  /**
   * What a journal's bytes hold.
   *
   * @param entries the complete entries, in order
   * @param end the offset where they end: the logical end of the journal
   * @param torn whether bytes after {@code end} are a torn, never acknowledged write rather than zeros
   */
  record Parsed(List<JournalEntry> entries, long end, boolean torn) {}

  /**
   * Parses journal bytes read from {@code offset} without changing anything.
   *
   * @throws CorruptFileException if a line before the last one is damaged
   */
  static Parsed parse(byte[] buf, long offset, Path file) {
    List<JournalEntry> entries = new ArrayList<>();
    int s = 0;
    boolean torn = false;
    while (s < buf.length && buf[s] != 0) {
      int nl = Lines.indexOf(buf, (byte) '\n', s, buf.length);
      if (nl < 0) {
        torn = true; // no newline before the end of the file
        break;
      }
      if (Lines.indexOf(buf, (byte) 0, s, nl) >= 0) {
        // A line never holds a zero byte (JSON escapes U+0000): part of it never reached the disk. A later
        // acknowledged force would have flushed that page, so this line and all after it were never acknowledged.
        torn = true;
        break;
      }
      boolean last = nl + 1 == buf.length || buf[nl + 1] == 0;
      if (!Lines.verify(buf, s, nl)) {
        if (last) {
          torn = true;
          break;
        }
        throw new CorruptFileException(file, offset + s, "checksum mismatch in a journal entry that is not the last", null);
      }
      entries.add(JournalCodec.decodeEntry(Arrays.copyOfRange(buf, s, nl), file, offset + s));
      s = nl + 1;
    }
    if (!torn && s < buf.length && !allZero(buf, s)) {
      torn = true;
    }
    return new Parsed(entries, offset + s, torn);
  }

  /**
   * @param entriesEnd where the complete, verified entries end
   * @param appliedEnd where the lock header says applied lines end (0: no such record)
   * @param damaged whether a damaged or incomplete line starts at {@code entriesEnd}
   * @throws CorruptFileException if the entries end before {@code appliedEnd}
   */
  private void checkReaches(long entriesEnd, long appliedEnd, boolean damaged) {
    if (entriesEnd < appliedEnd) {
      throw new CorruptFileException(file, entriesEnd, (damaged ? "a damaged journal line (checksum mismatch, or"
          + " incomplete) starts here, and the" : "the") + " journal's entries end at byte " + entriesEnd
          + " but the header of " + LockFile.NAME + " records " + appliedEnd + " bytes applied since the last "
          + Checkpoints.NAME + ": journaled commits were lost (the journal was removed, emptied or overwritten)", null);
    }
  }

  private static boolean allZero(byte[] buf, int from) {
    for (int i = from; i < buf.length; i++) {
      if (buf[i] != 0) {
        return false;
      }
    }
    return true;
  }

  @Override
  public void close() throws IOException {
    closed = true;
    channel.close();
  }
}
