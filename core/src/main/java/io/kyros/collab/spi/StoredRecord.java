package io.kyros.collab.spi;

import java.util.Objects;

/**
 * One record as stored: its canonical JSON, the store-wide revision of the write that produced it,
 * and the content hash core computed for that JSON.
 *
 * <p>Immutable and thread-safe.
 *
 * @param key where the record lives
 * @param json the record's value as canonical JSON text (RFC 8785), exactly as core handed it over
 * @param revision the store-wide revision assigned when this value was committed, always &gt; 0
 * @param hash the content hash core supplied with the write (base64url SHA-256 prefix)
 */
public record StoredRecord(RecordKey key, String json, long revision, String hash) {

  /**
   * Creates a stored record.
   *
   * @param key where the record lives
   * @param json the record's value as canonical JSON text (RFC 8785), exactly as core handed it over
   * @param revision the store-wide revision assigned when this value was committed, always &gt; 0
   * @param hash the content hash core supplied with the write (base64url SHA-256 prefix)
   * @throws NullPointerException if key, json or hash is null
   * @throws IllegalArgumentException if revision is not positive
   */
  public StoredRecord {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(json, "json");
    Objects.requireNonNull(hash, "hash");
    if (revision <= 0) {
      throw new IllegalArgumentException("revision must be positive: " + revision);
    }
  }
}
