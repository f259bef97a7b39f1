package io.kyros.collab.app;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The API keys a server accepts, loaded from {@code --api-keys FILE}. The file's format:
 *
 * <pre>
 * # comments and blank lines are ignored
 * # ACCESS  KEY                               NAME (optional; shown as the key's name in logs)
 * rw        7f3c0d4e9a1b2c3d4e5f60718293a4b5  ci-bot
 * ro        0a1b2c3d4e5f60718293a4b5c6d7e8f9  dashboard
 * </pre>
 *
 * {@code rw} keys may read and write, {@code ro} keys may only read (GET, HEAD). A key is at least
 * 16 characters without whitespace; a key listed twice is refused. A request presents its key as
 * {@code Authorization: Bearer KEY} or {@code X-API-Key: KEY} (a browser's EventSource, which
 * cannot set headers, may pass {@code ?api_key=KEY} on a GET). Keys are compared by their SHA-256
 * digests in constant time.
 *
 * <p>Immutable and thread-safe.
 */
final class ApiKeys {
  /** What a key may do. */
  enum Access {
    READ_ONLY,
    READ_WRITE
  }

  /**
   * One key, known by its name.
   *
   * @param name the key's name (its line number when the file gives none)
   * @param access what it may do
   */
  record Key(String name, Access access) {}

  private record Entry(byte[] digest, Key key) {}

  private static final int MIN_KEY_LENGTH = 16;
  private static final ApiKeys NONE = new ApiKeys(List.of());

  private final List<Entry> entries;

  private ApiKeys(List<Entry> entries) {
    this.entries = List.copyOf(entries);
  }

  /** @return no keys: the API is open to anybody who can reach it */
  static ApiKeys none() {
    return NONE;
  }

  /**
   * @param file the keys file
   * @return its keys
   * @throws IllegalArgumentException naming the line if the file is malformed
   * @throws UncheckedIOException if it cannot be read
   */
  static ApiKeys load(Path file) {
    try {
      return parse(Files.readAllLines(file, StandardCharsets.UTF_8), file.toString());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the API keys file " + file, e);
    }
  }

  /**
   * @param lines the file's lines
   * @param source the file's name, for messages
   * @return the keys
   * @throws IllegalArgumentException naming the line if one is malformed
   */
  static ApiKeys parse(List<String> lines, String source) {
    List<Entry> entries = new ArrayList<>();
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      String[] parts = line.split("\\s+", 3);
      String where = source + ":" + (i + 1);
      if (parts.length < 2) {
        throw new IllegalArgumentException(where + ": expected 'rw|ro KEY [NAME]'");
      }
      Access access = switch (parts[0]) {
        case "rw" -> Access.READ_WRITE;
        case "ro" -> Access.READ_ONLY;
        default -> throw new IllegalArgumentException(where + ": access must be rw or ro: " + parts[0]);
      };
      String secret = parts[1];
      if (secret.length() < MIN_KEY_LENGTH) {
        throw new IllegalArgumentException(where + ": a key must be at least " + MIN_KEY_LENGTH + " characters");
      }
      byte[] digest = digest(secret);
      for (Entry e : entries) {
        if (MessageDigest.isEqual(e.digest, digest)) {
          throw new IllegalArgumentException(where + ": key listed twice (first as " + e.key.name() + ")");
        }
      }
      String name = parts.length == 3 ? parts[2].strip() : "line-" + (i + 1);
      entries.add(new Entry(digest, new Key(name, access)));
    }
    if (entries.isEmpty()) {
      throw new IllegalArgumentException(source + ": no keys (an empty keys file would lock everybody out)");
    }
    return new ApiKeys(entries);
  }

  /** @return true if keys are required (a keys file was given) */
  boolean enabled() {
    return !entries.isEmpty();
  }

  /**
   * @param presented the key a request presented
   * @return the key, if it is one of these
   */
  Optional<Key> find(String presented) {
    if (presented == null || presented.isEmpty()) {
      return Optional.empty();
    }
    byte[] digest = digest(presented);
    Key found = null;
    for (Entry e : entries) { // no early exit: the time taken does not tell which key matched
      if (MessageDigest.isEqual(e.digest, digest)) {
        found = e.key;
      }
    }
    return Optional.ofNullable(found);
  }

  private static byte[] digest(String secret) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }
}
