package io.kyros.collab.file;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.kyros.collab.CanonicalJson;
import io.kyros.collab.spi.IndexEntry;
import io.kyros.collab.spi.RecordKey;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * Test code: what a writer killed after journaling a commit and before forcing it leaves, one journal line of one put
 * written at the journal's logical end (its first zero byte), without forcing it. The engine that next catches up
 * replays it.
 */
final class DeadWritersLine {
  private DeadWritersLine() {}

  /**
   * @param journal the journal file (on a {@code PowerCutFileSystem} for the write to stay unforced)
   * @param revision the revision the dead writer handed out
   * @param key the record it put
   * @param json the value
   * @param index the record's index entries
   */
  static void append(Path journal, long revision, RecordKey key, String json, List<IndexEntry> index)
      throws IOException {
    byte[] line = JournalCodec.encodeEntry(new JournalCodec.JournalEntry(revision, 0, List.of(
        new JournalCodec.JournalWrite(key, revision, json, CanonicalJson.hashCanonical(json.getBytes(UTF_8)), index)),
        List.of()));
    try (FileChannel ch = FileChannel.open(journal, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      ByteBuffer all = ByteBuffer.allocate((int) Math.min(ch.size(), 1 << 20));
      while (all.hasRemaining() && ch.read(all, all.position()) > 0) {
        // fill
      }
      int end = 0;
      while (end < all.position() && all.get(end) != 0) {
        end++;
      }
      ch.write(ByteBuffer.wrap(line), end);
    }
  }
}
