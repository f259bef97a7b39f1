package io.kyros.collab.spi;

import java.util.Objects;

/**
 * A condition a {@link Commit} needs to hold at the instant it commits: the record at {@code key}
 * has exactly {@code revision}, where {@link #ABSENT} (0) means the record does not exist.
 *
 * <p>Core expresses every precondition it needs through these: If-Match becomes the revision it
 * read, create-only becomes {@link #ABSENT}, a lease guard becomes the revision of the lease record
 * core checked. Backends only compare numbers.
 *
 * <p>Immutable and thread-safe.
 *
 * @param key the record the condition is about
 * @param revision the revision it must have, or {@link #ABSENT}
 */
public record Expectation(RecordKey key, long revision) {

  /** The revision value meaning "the record does not exist". */
  public static final long ABSENT = 0L;

  /**
   * Creates an expectation.
   *
   * @param key the record the condition is about
   * @param revision the revision it must have, or {@link #ABSENT}
   * @throws NullPointerException if key is null
   * @throws IllegalArgumentException if revision is negative
   */
  public Expectation {
    Objects.requireNonNull(key, "key");
    if (revision < 0) {
      throw new IllegalArgumentException("revision must not be negative: " + revision);
    }
  }

  /**
   * @param key the record
   * @return an expectation that the record does not exist
   */
  public static Expectation absent(RecordKey key) {
    return new Expectation(key, ABSENT);
  }

  /**
   * @param key the record
   * @param revision the revision it must have
   * @return an expectation of that exact revision
   */
  public static Expectation revision(RecordKey key, long revision) {
    return new Expectation(key, revision);
  }

  /**
   * Tests the expectation against the record's current revision.
   *
   * @param currentRevision the current revision, {@link #ABSENT} if the record does not exist
   * @return true if the expectation holds
   */
  public boolean isMetBy(long currentRevision) {
    return currentRevision == revision;
  }
}
