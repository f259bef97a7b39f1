package io.kyros.collab.spi;

import java.util.Objects;

/**
 * One page of a {@link Storage#scanIndex} scan: the records of {@link #collection()} whose current
 * value carries an entry in {@link #index()}, ordered by (key, record id) ascending, strictly after
 * the position ({@link #afterKey()}, {@link #afterId()}), with key at most {@link #untilKey()}, at most
 * {@link #limit()} of them.
 *
 * <p>Start with {@link #first}; continue with {@link #after(IndexHit)}; bound with {@link #until}.
 * Keys compare as {@link String#compareTo} (byte-wise: keys are printable ASCII, see {@link IndexEntry}).
 *
 * <p>Immutable and thread-safe.
 *
 * @param collection the collection whose records are scanned
 * @param index the index name
 * @param afterKey the exclusive start position's key; {@link #START} (empty) before every key
 * @param afterId the exclusive start position's record id, compared when the key equals {@code afterKey}
 * @param untilKey the greatest key returned (inclusive); {@link #UNBOUNDED} for no bound
 * @param limit the most records to return, &gt; 0
 */
public record IndexQuery(String collection, String index, String afterKey, String afterId, String untilKey, int limit) {
  /** The position before every entry: empty, which no key or id is. */
  public static final String START = "";
  /** An upper bound above every key (0x7F, greater than any printable ASCII key). */
  public static final String UNBOUNDED = "\u007f";

  /**
   * Creates a query.
   *
   * @param collection the collection
   * @param index the index name
   * @param afterKey the exclusive start key, {@link #START} for the beginning
   * @param afterId the exclusive start record id, {@link #START} for the beginning
   * @param untilKey the inclusive end key, {@link #UNBOUNDED} for none
   * @param limit the most records to return
   * @throws NullPointerException if a string is null
   * @throws IllegalArgumentException if limit is not positive
   */
  public IndexQuery {
    Objects.requireNonNull(collection, "collection");
    Objects.requireNonNull(index, "index");
    Objects.requireNonNull(afterKey, "afterKey");
    Objects.requireNonNull(afterId, "afterId");
    Objects.requireNonNull(untilKey, "untilKey");
    if (limit <= 0) {
      throw new IllegalArgumentException("limit must be positive: " + limit);
    }
  }

  /**
   * @param collection the collection
   * @param index the index name
   * @param limit the page size
   * @return the first page of the whole index
   */
  public static IndexQuery first(String collection, String index, int limit) {
    return new IndexQuery(collection, index, START, START, UNBOUNDED, limit);
  }

  /**
   * @param last the last hit of the previous page
   * @return the next page, same bound and size
   */
  public IndexQuery after(IndexHit last) {
    return new IndexQuery(collection, index, last.key(), last.record().key().id(), untilKey, limit);
  }

  /**
   * @param key the greatest key to return (inclusive)
   * @return this query bounded above
   */
  public IndexQuery until(String key) {
    return new IndexQuery(collection, index, afterKey, afterId, key, limit);
  }

  /**
   * Whether an entry lies strictly after this query's start position and within its bound; what a
   * backend that filters in memory applies.
   *
   * @param key the entry's key
   * @param id the record's id
   * @return true if the entry belongs in this scan
   */
  public boolean admits(String key, String id) {
    int c = key.compareTo(afterKey);
    boolean after = c > 0 || (c == 0 && id.compareTo(afterId) > 0);
    return after && key.compareTo(untilKey) <= 0;
  }
}
