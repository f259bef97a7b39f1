package io.kyros.collab.spi;

import java.util.Objects;

/**
 * One answer of {@link Storage#scanIndex}: a record and its key in the scanned index.
 *
 * <p>Immutable and thread-safe.
 *
 * @param key the record's key in the scanned index
 * @param record the record, as committed with that entry
 */
public record IndexHit(String key, StoredRecord record) {

  /**
   * Creates a hit.
   *
   * @param key the record's key in the scanned index
   * @param record the record
   * @throws NullPointerException if either is null
   */
  public IndexHit {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(record, "record");
  }
}
