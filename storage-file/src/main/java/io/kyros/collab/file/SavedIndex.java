package io.kyros.collab.file;

import static java.nio.charset.StandardCharsets.US_ASCII;

import io.kyros.collab.spi.IndexEntry;
import io.kyros.collab.spi.RecordKey;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.zip.CRC32C;
import java.util.zip.CheckedOutputStream;

/**
 * {@code index.saved}: a copy of the store's secondary index ({@link RecordIndex}) as of a revision, so that an engine
 * opening a large store reads one file and the journal instead of every document ({@link IndexFollower}). It is a
 * cache: the entries stored with each record stay the truth, and a saved index that is missing, damaged, of an unknown
 * version or not usable (see below) only means the index is built from the documents, as without it.
 *
 * <p>On-disk format: ASCII lines, fields separated by one space (every field is a record name, an index name or key,
 * or a number, none of which holds a space or a control character):
 *
 * <pre>
 * collab-index 1 &lt;revision&gt; &lt;eventId&gt; &lt;records&gt;\n                  the header: version 1, the store's counters the
 *                                                              index reflects, how many record lines follow
 * collab-index 2 &lt;revision&gt; &lt;eventId&gt; &lt;records&gt; &lt;damaged&gt;\n      or version 2: also how many damaged lines follow
 *                                                              the record lines
 * &lt;collection&gt; &lt;id&gt; &lt;revision&gt; &lt;index&gt; &lt;key&gt; [&lt;index&gt; &lt;key&gt; ...]\n   one line per record that has entries
 * ! &lt;collection&gt; &lt;id&gt;\n                                       version 2: one line per record whose document was
 *                                                              damaged, whose entries the index lacks
 * crc32c &lt;8 hex digits&gt;\n                                      CRC32C of every byte before this line
 * .index.saved.&lt;random&gt;.tmp                                 a new one being written (removed at open if left over)
 * </pre>
 *
 * <p>An index without damaged records is written as version 1, which earlier versions of Collab read too; one with
 * them as version 2, which they refuse (and build from the documents, as for any saved index they cannot use). The
 * engine that takes a version-2 index reads the damaged records' documents again ({@link IndexFollower}), so a document
 * repaired by hand is indexed again without reading every document.
 *
 * <p>Guarantees: {@link #write} replaces the file atomically (temporary file, rename); it is not forced, since losing
 * it costs only a build. {@link #read} returns an index only if the trailer's checksum matches every byte before it,
 * the header is version 1 or 2 and the numbers of record and damaged lines are the header's; every name is checked as
 * a record name or an index entry. Whether the index it returns may be used (the journal must hold every write after
 * its revision) is for the caller to decide. Stateless and thread-safe; callers hold the store's OS lock.
 */
final class SavedIndex {
  static final String NAME = "index.saved";
  private static final String MAGIC = "collab-index";
  private static final int VERSION = 1;
  /** The version with damaged records. */
  private static final int VERSION_WITH_DAMAGED = 2;
  private static final String DAMAGED = "!";
  private static final String TRAILER = "crc32c ";

  private SavedIndex() {}

  /** A saved index read back: the counters it reflects and its entries. */
  record Loaded(long revision, long eventId, RecordIndex index) {}

  /** The header of a saved index: the counters it reflects. */
  record Header(long revision, long eventId) {}

  /**
   * Writes the index as of these counters, replacing any saved one.
   *
   * @param root the store's directory
   * @param index the index, which must reflect exactly the store's records as of {@code revision}
   * @param revision the store's revision counter
   * @param eventId the store's last event id
   * @param permissions the permissions of the new file
   * @return the file's size in bytes
   * @throws IOException if it cannot be written
   */
  static long write(Path root, RecordIndex index, long revision, long eventId, FilePermissions permissions)
      throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream((int) Math.min(64L + 96L * index.records(), 1 << 30));
    CRC32C crc = new CRC32C();
    CheckedOutputStream out = new CheckedOutputStream(bytes, crc); // the checksum as the lines are written
    List<RecordKey> damaged = index.passedOver();
    ascii(out, MAGIC + " " + (damaged.isEmpty() ? VERSION + " " : VERSION_WITH_DAMAGED + " ") + revision + " " + eventId
        + " " + index.records() + (damaged.isEmpty() ? "" : " " + damaged.size()) + "\n");
    StringBuilder line = new StringBuilder(128);
    index.forEachRecord((key, rev, entries) -> {
      line.setLength(0);
      line.append(key.collection()).append(' ').append(key.id()).append(' ').append(rev);
      for (IndexEntry e : entries) {
        line.append(' ').append(e.index()).append(' ').append(e.key());
      }
      ascii(out, line.append('\n').toString());
    });
    for (RecordKey key : damaged) {
      ascii(out, DAMAGED + " " + key.collection() + " " + key.id() + "\n");
    }
    bytes.writeBytes((TRAILER + HexFormat.of().toHexDigits((int) crc.getValue()) + "\n").getBytes(US_ASCII));
    byte[] content = bytes.toByteArray();
    DocumentFiles.replace(root.resolve(NAME), content, Sync.NO_FORCE, permissions);
    return content.length;
  }

  /**
   * @param root the store's directory
   * @return the counters of the saved index, or null if there is none or its header is not one of this version
   * @throws IOException if it cannot be read
   */
  static Header header(Path root) throws IOException {
    ByteBuffer first = ByteBuffer.allocate(128);
    try (FileChannel ch = FileChannel.open(root.resolve(NAME), StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
      while (first.hasRemaining() && ch.read(first) > 0) {
        // fill
      }
    } catch (NoSuchFileException e) {
      return null;
    }
    byte[] bytes = first.array();
    int end = Lines.indexOf(bytes, (byte) '\n', 0, first.position());
    if (end < 0) {
      return null;
    }
    long[] h = parseHeader(new String(bytes, 0, end, US_ASCII));
    return h == null ? null : new Header(h[0], h[1]);
  }

  /**
   * Reads a saved index.
   *
   * @param root the store's directory
   * @return the index, or null if there is no saved index
   * @throws IOException if it cannot be read
   * @throws CorruptFileException if it is damaged, truncated or of an unknown version
   */
  static Loaded read(Path root) throws IOException {
    Path file = root.resolve(NAME);
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      return null;
    }
    int end = bytes.length;
    if (end == 0 || bytes[end - 1] != '\n') {
      throw new CorruptFileException(file, end, "the saved index does not end with its checksum line", null);
    }
    int trailer = lastLineStart(bytes, end - 1);
    String last = new String(bytes, trailer, end - 1 - trailer, US_ASCII);
    if (!last.startsWith(TRAILER) || last.length() != TRAILER.length() + 8) {
      throw new CorruptFileException(file, trailer, "the saved index does not end with its checksum line", null);
    }
    CRC32C crc = new CRC32C();
    crc.update(bytes, 0, trailer);
    int expected;
    try {
      expected = HexFormat.fromHexDigits(last, TRAILER.length(), last.length());
    } catch (IllegalArgumentException e) {
      throw new CorruptFileException(file, trailer, "the saved index's checksum is not hexadecimal", e);
    }
    if ((int) crc.getValue() != expected) {
      throw new CorruptFileException(file, 0, "checksum mismatch (crc32c) in the saved index", null);
    }
    int at = Lines.indexOf(bytes, (byte) '\n', 0, trailer);
    long[] h = at < 0 ? null : parseHeader(new String(bytes, 0, at, US_ASCII));
    if (h == null) {
      throw new CorruptFileException(file, 0, "not a saved index of version " + VERSION + " or "
          + VERSION_WITH_DAMAGED, null);
    }
    RecordIndex index = new RecordIndex();
    long records = 0;
    long damaged = 0;
    for (int from = at + 1; from < trailer; ) {
      int nl = Lines.indexOf(bytes, (byte) '\n', from, trailer);
      String line = new String(bytes, from, nl - from, US_ASCII);
      if (line.startsWith(DAMAGED + " ")) {
        try {
          String[] f = line.split(" ", -1);
          if (f.length != 3) {
            throw new IllegalArgumentException("expected ! and a collection and an id");
          }
          index.passOver(new RecordKey(DocumentFiles.checkName(f[1], "collection"),
              DocumentFiles.checkName(f[2], "id")));
        } catch (IllegalArgumentException e) {
          throw new CorruptFileException(file, from, "bad damaged-record line in the saved index: " + e.getMessage(),
              e);
        }
        damaged++;
        from = nl + 1;
        continue;
      }
      if (damaged > 0) {
        throw new CorruptFileException(file, from, "a record line after the damaged-record lines of the saved index",
            null);
      }
      try {
        String[] f = line.split(" ", -1);
        if (f.length < 5 || f.length % 2 == 0) {
          throw new IllegalArgumentException("expected a collection, an id, a revision and index entries");
        }
        RecordKey key = new RecordKey(DocumentFiles.checkName(f[0], "collection"), DocumentFiles.checkName(f[1], "id"));
        long revision = Long.parseLong(f[2]);
        if (revision <= 0 || revision > h[0]) {
          throw new IllegalArgumentException("revision " + revision + " is not in 1.." + h[0]);
        }
        List<IndexEntry> entries = new ArrayList<>((f.length - 3) / 2);
        for (int i = 3; i < f.length; i += 2) {
          entries.add(new IndexEntry(f[i], f[i + 1]));
        }
        index.put(key, revision, entries);
      } catch (IllegalArgumentException e) { // also NumberFormatException
        throw new CorruptFileException(file, from, "bad record line in the saved index: " + e.getMessage(), e);
      }
      records++;
      from = nl + 1;
    }
    if (records != h[2] || index.records() != records) {
      throw new CorruptFileException(file, 0, "the saved index holds " + records + " distinct record lines, its header"
          + " says " + h[2], null);
    }
    if (damaged != h[3] || index.passedOver().size() != damaged) {
      throw new CorruptFileException(file, 0, "the saved index holds " + damaged + " distinct damaged-record lines, its"
          + " header says " + h[3], null);
    }
    return new Loaded(h[0], h[1], index);
  }

  /**
   * @return revision, event id, record count and damaged count (0 in version 1), or null if this is not a header of
   *     version 1 or 2
   */
  private static long[] parseHeader(String line) {
    String[] f = line.split(" ", -1);
    boolean v1 = f.length == 5 && f[1].equals(Integer.toString(VERSION));
    boolean v2 = f.length == 6 && f[1].equals(Integer.toString(VERSION_WITH_DAMAGED));
    if (!f[0].equals(MAGIC) || !(v1 || v2)) {
      return null;
    }
    try {
      long[] out = {Long.parseLong(f[2]), Long.parseLong(f[3]), Long.parseLong(f[4]), v2 ? Long.parseLong(f[5]) : 0};
      return out[0] < 0 || out[1] < 0 || out[2] < 0 || out[3] < 0 || (v2 && out[3] == 0) ? null : out;
    } catch (NumberFormatException e) {
      return null;
    }
  }

  /** @return the index of the first byte of the line ending at {@code newline} */
  private static int lastLineStart(byte[] bytes, int newline) {
    int i = newline;
    while (i > 0 && bytes[i - 1] != '\n') {
      i--;
    }
    return i;
  }

  private static void ascii(CheckedOutputStream out, String s) {
    try {
      out.write(s.getBytes(US_ASCII));
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a ByteArrayOutputStream does not throw
    }
  }
}
