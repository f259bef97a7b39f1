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
 * Test code: what a writer killed after journaling a commit and before forcing it leaves, one journal line of puts
 * written at the journal's logical end (its first zero byte), without forcing it. The engine that next catches up
 * replays it. The line records no event (event id 0): for stores whose commits record none.
 */
final class DeadWritersLine {
  private DeadWritersLine() {}

  /** One put of the line: its record, the revision the dead writer handed out, the value and the entries. */
  record Put(RecordKey key, long revision, String json, List<IndexEntry> index) {}

  /**
   * @param journal the journal file (on a {@code PowerCutFileSystem} for the write to stay unforced)
   * @param puts the commit's puts, revisions in order
   */
  static void append(Path journal, List<Put> puts) throws IOException {
    List<JournalCodec.JournalWrite> writes = puts.stream().map(p -> new JournalCodec.JournalWrite(p.key(),
        p.revision(), p.json(), CanonicalJson.hashCanonical(p.json().getBytes(UTF_8)), p.index())).toList();
    byte[] line = JournalCodec.encodeEntry(new JournalCodec.JournalEntry(puts.get(puts.size() - 1).revision(), 0,
        writes, List.of()));
    try (FileChannel ch = FileChannel.open(journal, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      ByteBuffer all = ByteBuffer.allocate((int) Math.min(ch.size(), 1 << 20));
      while (all.hasRemaining() && ch.read(all, all.position()) > 0) {
        // fill
      }
      int end = 0;
      while (end < all.position() && all.get(end) != 0) {
        end++;
      }
      if (end == all.position()) {
        throw new IllegalStateException("no zero byte in the journal's first " + all.position() + " bytes");
      }
      ch.write(ByteBuffer.wrap(line), end);
    }
  }

  /**
   * @param journal the journal file
   * @param revision the revision of the line's one put
   * @param key its record
   * @param json its value
   * @param index its entries
   */
  static void append(Path journal, long revision, RecordKey key, String json, List<IndexEntry> index)
      throws IOException {
    append(journal, List.of(new Put(key, revision, json, index)));
  }
}
