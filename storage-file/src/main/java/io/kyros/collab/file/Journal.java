package io.kyros.collab.file;

import io.kyros.collab.file.Codec.JournalEntry;
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
 * then written from it, and it is dropped at the next checkpoint, once those are forced too. Used
 * only under the store's writer lock. Not thread-safe on its own.
 */
final class Journal implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Journal.class);

  private final Path file;
  private final FileChannel channel;

  Journal(Path file, FilePermissions permissions) throws IOException {
    this.file = file;
    this.channel = FileChannel.open(file, Set.of(StandardOpenOption.CREATE, StandardOpenOption.READ,
        StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS), permissions.file());
  }

  Path file() {
    return file;
  }

  long size() throws IOException {
    return channel.size();
  }

  /** Appends encoded entries at the end. */
  void append(byte[] bytes) throws IOException {
    ByteBuffer buf = ByteBuffer.wrap(bytes);
    long at = channel.size();
    while (buf.hasRemaining()) {
      at += channel.write(buf, at);
    }
  }

  void force() throws IOException {
    channel.force(false);
  }

  /** Cuts the journal back to {@code size} bytes. */
  void truncate(long size) throws IOException {
    channel.truncate(size);
  }

  /**
   * Reads the entries from {@code offset} to the end. A torn last entry (no newline, or a bad
   * checksum on the last line) is cut off: it was never acknowledged.
   *
   * @throws CorruptFileException if a line before the last one is damaged
   */
  List<JournalEntry> readFrom(long offset) throws IOException {
    long size = channel.size();
    if (offset >= size) {
      return List.of();
    }
    if (size - offset > Integer.MAX_VALUE - 16) {
      throw new IOException("journal too large to replay: " + file + " (" + size + " bytes)");
    }
    byte[] buf = new byte[(int) (size - offset)];
    ByteBuffer b = ByteBuffer.wrap(buf);
    while (b.hasRemaining() && channel.read(b, offset + b.position()) > 0) {
      // fill
    }
    List<JournalEntry> entries = new ArrayList<>();
    int s = 0;
    for (int i = 0; i < buf.length; i++) {
      if (buf[i] != '\n') {
        continue;
      }
      if (!Lines.verify(buf, s, i)) {
        if (i == buf.length - 1) {
          break; // torn last line: cut below
        }
        throw new CorruptFileException(file, offset + s, "checksum mismatch in a journal entry that is not the last", null);
      }
      entries.add(Codec.decodeEntry(Arrays.copyOfRange(buf, s, i), file, offset + s));
      s = i + 1;
    }
    if (s < buf.length) {
      LOG.warn("Truncating the torn tail of {} at offset {} ({} bytes): an entry that was never acknowledged",
          file, offset + s, buf.length - s);
      channel.truncate(offset + s);
      channel.force(false);
    }
    return entries;
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }
}
