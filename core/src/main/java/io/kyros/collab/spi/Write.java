package io.kyros.collab.spi;

import java.util.Objects;

/**
 * One record change inside a {@link Commit}: a put (insert or replace) when {@code json} is
 * non-null, a delete when it is null. The backend assigns the put's revision from its store-wide
 * counter; a delete also consumes a revision so that the counter never hands out a value twice.
 *
 * <p>Immutable and thread-safe.
 *
 * @param key the record to change
 * @param json the new canonical JSON, or null to delete
 * @param hash the content hash of {@code json}, or null to delete
 */
public record Write(RecordKey key, String json, String hash) {

  /**
   * Creates a write.
   *
   * @param key the record to change
   * @param json the new canonical JSON, or null to delete
   * @param hash the content hash of {@code json}, or null to delete
   * @throws NullPointerException if key is null
   * @throws IllegalArgumentException if exactly one of json and hash is null
   */
  public Write {
    Objects.requireNonNull(key, "key");
    if ((json == null) != (hash == null)) {
      throw new IllegalArgumentException("json and hash must both be set (put) or both be null (delete)");
    }
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
