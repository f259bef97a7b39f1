package io.kyros.collab.file;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code format.json}: what kind of directory this is and the options fixed for its lifetime.
 *
 * <p>On-disk format: one JSON object and a newline, written when the store is created (temporary
 * file, write, force, rename, force the root) and changed only to upgrade the version or to add its
 * checksum:
 *
 * <pre>
 * {"format":"collab-file","version":2,"segmentBytes":67108864,"crc32c":"9a0b1c2d"}
 *
 *   format        always "collab-file": anything else is not a Collab store
 *   version       the on-disk format version: 2 (documents and journal writes may carry "index" entries);
 *                 1 (no index entries) is read and upgraded to 2 when a process opens the store
 *   segmentBytes  the size at which the writer starts a new event segment
 *   crc32c        CRC32C of the line before ,"crc32c": (as every framed line of the store): a file that
 *                 ends like a framed line but does not verify is damaged and refused; a file without it
 *                 (written before it was added) is read as is, and given one by the next open
 * </pre>
 *
 * <p>Migration from version 1: everything of a version-1 store reads as it is (its records simply
 * have no index entries; core indexes them again when it writes them). Opening it upgrades the file to
 * version 2, durably, before anything is written, so that a Collab of a version before index entries
 * (which would drop a record's entries when it rewrites it) refuses the store from then on; stop every
 * process of an older version before opening a store with this one.
 *
 * <p>Guarantees: a directory whose format file is not a Collab store, or of an unknown version, is
 * refused before anything in it is touched. Locks: called with the store's writer lock and OS lock
 * held (the checker only reads). Stateless and thread-safe.
 */
final class FormatFile {
  private static final Logger LOG = LoggerFactory.getLogger(FormatFile.class);
  static final String NAME = "format.json";
  static final int VERSION = 2;
  /** The version before index entries, read and upgraded. */
  static final int VERSION_WITHOUT_INDEXES = 1;

  private FormatFile() {}

  /**
   * @param root the store's directory
   * @param newSegmentBytes the segment size to record if the store is new
   * @param durability whether to force the new file
   * @param permissions the permissions of new files
   * @return the segment size of this directory, from {@code format.json} (written if new)
   * @throws CorruptFileException if the file is not a Collab format file of this version
   * @throws IOException if it cannot be read or written
   */
  static long readOrCreate(Path root, long newSegmentBytes, FileStorage.Durability durability,
      FilePermissions permissions) throws IOException {
    Path file = root.resolve(NAME);
    if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
      write(root, newSegmentBytes, durability, permissions); // a new store's is forced as asked
      return newSegmentBytes;
    }
    Recorded recorded = parse(file);
    if (recorded.version() == VERSION && recorded.framed()) {
      return recorded.segmentBytes();
    }
    if (recorded.version() == VERSION) {
      LOG.info("Adding a checksum to {}", file);
    } else {
      LOG.info("Upgrading {} from format version {} to {} (records may carry index entries; older Collab versions"
          + " refuse the store from now on)", file, VERSION_WITHOUT_INDEXES, VERSION);
    }
    // a rewrite of an existing store's file is forced whatever the durability: a power cut must not leave a store
    // whose other files survive without its format file (the open would refuse it)
    write(root, recorded.segmentBytes(), FileStorage.Durability.FSYNC, permissions);
    return recorded.segmentBytes();
  }

  private static void write(Path root, long segmentBytes, FileStorage.Durability durability,
      FilePermissions permissions) throws IOException {
    Path file = root.resolve(NAME);
    String json = "{\"format\":\"collab-file\",\"version\":" + VERSION + ",\"segmentBytes\":" + segmentBytes + "}";
    boolean durable = durability == FileStorage.Durability.FSYNC;
    DocumentFiles.replace(file, Lines.frame(json.getBytes(UTF_8)), durable ? Sync.FORCE : Sync.NO_FORCE,
        permissions);
    if (durable) {
      FilePermissions.forceDirectory(root);
    }
  }

  /** @return whether the file's content ends like a framed line (verified or not) */
  private static boolean framed(byte[] bytes) {
    return Lines.isFramed(bytes, 0, bytes.length);
  }

  /**
   * What an existing format file records.
   *
   * @param version its format version, one this reads
   * @param segmentBytes the segment size
   * @param framed whether it carries its checksum (verified)
   */
  record Recorded(int version, long segmentBytes, boolean framed) {}

  /**
   * Reads an existing format file, once.
   *
   * @param file an existing format file
   * @return what it records
   * @throws CorruptFileException if it is damaged (its checksum does not verify) or not a Collab format file of a
   *     version this reads
   * @throws IOException if it cannot be read
   */
  static Recorded parse(Path file) throws IOException {
    byte[] bytes = Files.readAllBytes(file);
    boolean framed = framed(bytes);
    if (framed) {
      // one framed line; whatever whitespace follows it (a newline, none, or CRLF from an editor) is not part of it
      int end = bytes.length;
      while (end > 0 && Character.isWhitespace(bytes[end - 1])) {
        end--;
      }
      if (Lines.indexOf(bytes, (byte) '\n', 0, end) >= 0 || !Lines.verify(bytes, 0, end)) {
        throw new CorruptFileException(file, 0, "checksum mismatch (crc32c) in the format file", null);
      }
    }
    JsonNode node;
    try {
      node = new ObjectMapper().readTree(bytes);
    } catch (IOException e) {
      throw new CorruptFileException(file, 0, "invalid JSON: " + e.getMessage(), e);
    }
    if (node == null || !"collab-file".equals(node.path("format").asText())) {
      throw new CorruptFileException(file, 0, "not a Collab store (\"format\" is not \"collab-file\")", null);
    }
    int version = node.path("version").asInt(-1);
    if (version != VERSION && version != VERSION_WITHOUT_INDEXES) {
      throw new CorruptFileException(file, 0, "unsupported store format version " + version
          + " (this Collab reads versions " + VERSION_WITHOUT_INDEXES + " and " + VERSION + ")", null);
    }
    long bytesPerSegment = node.path("segmentBytes").asLong(-1);
    if (bytesPerSegment <= 0) {
      throw new CorruptFileException(file, 0, "missing or invalid \"segmentBytes\"", null);
    }
    return new Recorded(version, bytesPerSegment, framed);
  }
}
