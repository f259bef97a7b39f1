package io.kyros.collab.file;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * {@code format.json}: what kind of directory this is and the options fixed for its lifetime.
 *
 * <p>On-disk format: one JSON object and a newline, written once when the store is created
 * (temporary file, write, force, rename, force the root) and never changed:
 *
 * <pre>
 * {"format":"collab-file","version":1,"segmentBytes":67108864}
 *
 *   format        always "collab-file": anything else is not a Collab store
 *   version       the on-disk format version; this code reads version 1 only
 *   segmentBytes  the size at which the writer starts a new event segment
 * </pre>
 *
 * <p>Guarantees: a directory whose format file is not a Collab store, or of another version, is
 * refused before anything in it is touched. Locks: called with the store's writer lock and OS lock
 * held. Stateless and thread-safe.
 */
final class FormatFile {
  static final String NAME = "format.json";
  static final int VERSION = 1;

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
    if (Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
      return read(file);
    }
    String json = "{\"format\":\"collab-file\",\"version\":" + VERSION + ",\"segmentBytes\":" + newSegmentBytes + "}\n";
    boolean durable = durability == FileStorage.Durability.FSYNC;
    DocumentFiles.replace(file, json.getBytes(UTF_8), durable ? Sync.FORCE : Sync.NO_FORCE, permissions);
    if (durable) {
      FilePermissions.forceDirectory(root);
    }
    return newSegmentBytes;
  }

  /** @return the segment size recorded in an existing format file */
  static long read(Path file) throws IOException {
    byte[] bytes = Files.readAllBytes(file);
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
    if (version != VERSION) {
      throw new CorruptFileException(file, 0, "unsupported store format version " + version
          + " (this Collab reads version " + VERSION + ")", null);
    }
    long bytesPerSegment = node.path("segmentBytes").asLong(-1);
    if (bytesPerSegment <= 0) {
      throw new CorruptFileException(file, 0, "missing or invalid \"segmentBytes\"", null);
    }
    return bytesPerSegment;
  }
}
