package io.kyros.collab.file;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Line-level access to one event segment file (format in {@link EventSegments}): the first complete
 * line after an offset, the last complete line, the last newline, and cutting a torn tail.
 *
 * <p>Guarantees: every loop reads forward or backward by at least one byte per pass and ends at the
 * file's start or end. Reads open their own channel, so an interrupt closes only the interrupted
 * reader's channel. Locks: none; {@link #cutTornTail} writes and is called under the store's writer
 * lock. Stateless and thread-safe.
 */
final class SegmentFiles {
  private static final Logger LOG = LoggerFactory.getLogger(SegmentFiles.class);

  private SegmentFiles() {}

  /** @return {start, id} of the first complete line starting after {@code from - 1}, or null */
  static long[] nextLine(FileChannel ch, long from) throws IOException {
    long pos = from - 1;
    byte[] buf = new byte[4096];
    while (true) {
      int n = ch.read(ByteBuffer.wrap(buf), pos);
      if (n <= 0) {
        return null;
      }
      for (int i = 0; i < n; i++) {
        if (buf[i] == '\n') {
          long start = pos + i + 1;
          byte[] head = new byte[40];
          int m = ch.read(ByteBuffer.wrap(head), start);
          if (m <= 0) {
            return null;
          }
          long id = Codec.eventIdPrefix(head, 0, m);
          return id <= 0 ? null : new long[] {start, id};
        }
      }
      pos += n;
    }
  }

  /**
   * Finds the last complete line of a segment by reading backwards.
   *
   * @return {end of the last complete line, its id or -1}
   */
  static long[] lastLine(FileChannel ch) throws IOException {
    long size = ch.size();
    long end = lastNewline(ch, size);
    if (end < 0) {
      return new long[] {0, -1};
    }
    long start = lastNewline(ch, end) + 1;
    byte[] head = new byte[40];
    int m = ch.read(ByteBuffer.wrap(head), start);
    return new long[] {end + 1, m > 0 ? Codec.eventIdPrefix(head, 0, m) : -1};
  }

  /** @return the position of the last newline before {@code before}, or -1 */
  static long lastNewline(FileChannel ch, long before) throws IOException {
    byte[] buf = new byte[4096];
    long pos = before;
    while (pos > 0) {
      int n = (int) Math.min(buf.length, pos);
      pos -= n;
      ByteBuffer b = ByteBuffer.wrap(buf, 0, n);
      while (b.hasRemaining() && ch.read(b, pos + b.position()) > 0) {
        // fill
      }
      for (int i = b.position() - 1; i >= 0; i--) {
        if (buf[i] == '\n') {
          return pos + i;
        }
      }
    }
    return -1;
  }

  /**
   * Opens a segment for reading. Each read opens its own channel: an interrupt during a read closes
   * only the interrupted reader's channel.
   */
  static FileChannel open(Path file) throws IOException {
    return FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
  }

  /**
   * Cuts a torn tail off a segment: bytes after the last newline, then a last line whose checksum
   * fails. A line at or before {@code forcedThrough} is never cut: a checkpoint forced it whole, so
   * damage there is reported, with nothing cut.
   *
   * @param file the segment
   * @param firstId the id of its first event (from its name)
   * @param forcedThrough the checkpoint's event id: lines up to it were forced (0: none)
   * @return the id of the last line left, or -1 if the segment is empty
   * @throws CorruptFileException naming the segment and the damaged line's offset, if that line's
   *     event is at or before {@code forcedThrough}
   */
  static long cutTornTail(Path file, long firstId, long forcedThrough) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE,
        LinkOption.NOFOLLOW_LINKS)) {
      long size = ch.size();
      long end = lastNewline(ch, size) + 1;
      if (end < size) {
        refuseIfForced(ch, file, end, firstId, forcedThrough, "has no newline");
        LOG.warn("Truncating the torn tail of {}: {} bytes without a newline at offset {}", file, size - end, end);
        ch.truncate(end);
        size = end;
      }
      if (size > 0) {
        long start = lastNewline(ch, size - 1) + 1;
        byte[] line = read(ch, start, size);
        if (!Lines.verify(line, 0, line.length - 1)) {
          refuseIfForced(ch, file, start, firstId, forcedThrough, "fails its checksum");
          LOG.warn("Truncating the torn tail of {}: the last line, at offset {}, fails its checksum", file, start);
          ch.truncate(start);
        }
      }
      ch.force(true);
      long[] last = lastLine(ch);
      return last[1];
    }
  }

  /**
   * @throws CorruptFileException if the line at {@code start} holds an event at or before
   *     {@code forcedThrough}: its id is the one after the previous line's (or the segment's first id)
   */
  private static void refuseIfForced(FileChannel ch, Path file, long start, long firstId, long forcedThrough,
      String damage) throws IOException {
    if (forcedThrough <= 0) {
      return; // nothing was forced: any last line may be a torn tail
    }
    long id = idAt(ch, start, firstId);
    if (id < 0) {
      throw new CorruptFileException(file, start, "the last line " + damage + ", and the line before it is not a"
          + " whole event line either, so which event it holds cannot be told, while " + Checkpoints.NAME
          + " records the events through " + forcedThrough + " as forced: damage, not a torn tail (nothing was cut)",
          null);
    }
    if (id <= forcedThrough) {
      throw new CorruptFileException(file, start, "the last line, event " + id + ", " + damage + ", but "
          + Checkpoints.NAME + " records the events through " + forcedThrough + " as forced: an acknowledged event,"
          + " damaged after it was written whole, not a torn tail (nothing was cut)", null);
    }
  }

  /**
   * @return the id the line starting at {@code start} must hold: the segment's first id for its first
   *     line, else the previous line's id plus one, if that line is whole (matches its checksum); -1 if
   *     it is not (a byte of the same event turned into a newline splits it in two: the head is no
   *     whole line, and its id would pass the tail off as the next event)
   */
  private static long idAt(FileChannel ch, long start, long firstId) throws IOException {
    if (start == 0) {
      return firstId;
    }
    byte[] line = read(ch, lastNewline(ch, start - 1) + 1, start);
    if (line.length < 2 || !Lines.verify(line, 0, line.length - 1)) {
      return -1;
    }
    long id = Codec.eventIdPrefix(line, 0, Math.min(line.length, 40));
    return id > 0 ? id + 1 : -1;
  }

  /**
   * @return the bytes from {@code from} to {@code to}, read whole (a positional read may return fewer bytes than
   *     asked)
   * @throws java.io.EOFException if the file ends before {@code to}
   */
  private static byte[] read(FileChannel ch, long from, long to) throws IOException {
    byte[] bytes = new byte[(int) (to - from)];
    ByteBuffer into = ByteBuffer.wrap(bytes);
    while (into.hasRemaining()) {
      if (ch.read(into, from + into.position()) < 0) {
        throw new java.io.EOFException("the file ends at " + (from + into.position()) + ", before " + to);
      }
    }
    return bytes;
  }

  /**
   * @return {end, last id} of the segment's leading run of whole lines (each starting with the next
   *     id in sequence from {@code firstId} and matching its checksum); the id is firstId - 1 if none
   */
  static long[] wholeLines(FileChannel ch, long firstId) throws IOException {
    byte[] buf = new byte[64 * 1024];
    long bufStart = 0;
    int len = 0;
    long expected = firstId;
    while (true) {
      int n = ch.read(ByteBuffer.wrap(buf, len, buf.length - len), bufStart + len);
      if (n <= 0) {
        return new long[] {bufStart, expected - 1}; // what follows has no newline: a torn last line
      }
      len += n;
      int s = 0;
      for (int i = 0; i < len; i++) {
        if (buf[i] != '\n') {
          continue;
        }
        if (Codec.eventIdPrefix(buf, s, i) != expected || !Lines.verify(buf, s, i)) {
          return new long[] {bufStart + s, expected - 1};
        }
        expected++;
        s = i + 1;
      }
      System.arraycopy(buf, s, buf, 0, len - s);
      bufStart += s;
      len -= s;
      if (len == buf.length) {
        buf = Arrays.copyOf(buf, buf.length * 2); // a line longer than the buffer
      }
    }
  }
}
