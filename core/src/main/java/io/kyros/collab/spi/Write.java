package io.kyros.collab.spi;

import java.util.List;
import java.util.Objects;

/**
 * One record change inside a {@link Commit}: a put (insert or replace) when {@code json} is
 * non-null, a delete when it is null. The backend assigns the put's revision from its store-wide
 * counter; a delete also consumes a revision so that the counter never hands out a value twice.
 *
 * <p>A put carries the record's secondary-index entries ({@link IndexEntry}); they replace every
 * entry the record had, atomically with the value (a delete removes them all). Backends that
 * answer {@link Storage#scanIndex} store them; the others ignore them.
 *
 * <p>Immutable and thread-safe.
 *
 * @param key the record to change
 * @param json the new canonical JSON, or null to delete
 * @param hash the content hash of {@code json}, or null to delete
 * @param index the record's index entries after a put, at most one per index name; empty for a delete
 */
public record Write(RecordKey key, String json, String hash, List<IndexEntry> index) {

  /**
   * Creates a write.
   *
   * @param key the record to change
   * @param json the new canonical JSON, or null to delete
   * @param hash the content hash of {@code json}, or null to delete
   * @param index the record's index entries after a put; empty for a delete
   * @throws NullPointerException if key or index (or an entry) is null
   * @throws IllegalArgumentException if exactly one of json and hash is null, a delete carries
   *     entries, or an index name appears twice
   */
  public Write {
    Objects.requireNonNull(key, "key");
    if ((json == null) != (hash == null)) {
      throw new IllegalArgumentException("json and hash must both be set (put) or both be null (delete)");
    }
    index = List.copyOf(Objects.requireNonNull(index, "index"));
    if (json == null && !index.isEmpty()) {
      throw new IllegalArgumentException("a delete carries no index entries: " + index);
    }
    if (index.stream().map(IndexEntry::index).distinct().count() != index.size()) {
      throw new IllegalArgumentException("an index name must appear once per write: " + index);
    }
  }

  /**
   * Creates a write without index entries.
   *
   * @param key the record to change
   * @param json the new canonical JSON, or null to delete
   * @param hash the content hash of {@code json}, or null to delete
   * @throws NullPointerException if key is null
   * @throws IllegalArgumentException if exactly one of json and hash is null
   */
  public Write(RecordKey key, String json, String hash) {
    this(key, json, hash, List.of());
  }

  /**
   * @param key the record
   * @param json canonical JSON text
   * @param hash its content hash
   * @return a put
   */
  public static Write put(RecordKey key, String json, String hash) {
    return new Write(key, Objects.requireNonNull(json, "json"), Objects.requireNonNull(hash, "hash"));
  }

  /**
   * @param key the record
   * @param json canonical JSON text
   * @param hash its content hash
   * @param index the record's index entries, replacing the ones it had
   * @return a put carrying index entries
   */
  public static Write put(RecordKey key, String json, String hash, List<IndexEntry> index) {
    return new Write(key, Objects.requireNonNull(json, "json"), Objects.requireNonNull(hash, "hash"), index);
  }

  /**
   * @param key the record
   * @return a delete
   */
  public static Write delete(RecordKey key) {
    return new Write(key, null, null);
  }

  /** @return true for a delete */
  public boolean isDelete() {
    return json == null;
  }
}
