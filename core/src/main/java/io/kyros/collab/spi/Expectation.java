package io.kyros.collab.spi;

import java.time.Instant;
import java.util.Objects;

/**
 * A condition a {@link Commit} needs to hold at the instant it commits: the record at {@code key}
 * has exactly {@code revision}, where {@link #ABSENT} (0) means the record does not exist, and, if
 * {@code notAfter} is set, the storage's clock ({@link Storage#now()}) read inside the atomic
 * section is not after {@code notAfter}.
 *
 * <p>Core expresses every precondition it needs through these: If-Match becomes the revision it
 * read, create-only becomes {@link #ABSENT}, a lease guard becomes the revision of the lease record
 * core checked plus the lease's expiry as {@code notAfter}, so a lease that expires between core's
 * check and the commit fails the commit. Backends only compare numbers and instants.
 *
 * <p>Immutable and thread-safe.
 *
 * @param key the record the condition is about
 * @param revision the revision it must have, or {@link #ABSENT}
 * @param notAfter the latest storage time at which the commit may apply, or null for no limit
 */
public record Expectation(RecordKey key, long revision, Instant notAfter) {

  /** The revision value meaning "the record does not exist". */
  public static final long ABSENT = 0L;

  /**
   * Creates an expectation.
   *
   * @param key the record the condition is about
   * @param revision the revision it must have, or {@link #ABSENT}
   * @param notAfter the latest storage time at which the commit may apply, or null for no limit
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
   * An expectation without a time limit.
   *
   * @param key the record
   * @param revision the revision it must have, or {@link #ABSENT}
   */
  public Expectation(RecordKey key, long revision) {
    this(key, revision, null);
  }

  /**
   * @param key the record
   * @return an expectation that the record does not exist
   */
  public static Expectation absent(RecordKey key) {
    return new Expectation(key, ABSENT, null);
  }

  /**
   * @param key the record
   * @param revision the revision it must have
   * @return an expectation of that exact revision
   */
  public static Expectation revision(RecordKey key, long revision) {
    return new Expectation(key, revision, null);
  }

  /**
   * @param key the record
   * @param revision the revision it must have
   * @param notAfter the latest storage time at which the commit may apply
   * @return an expectation of that exact revision, valid until {@code notAfter}
   */
  public static Expectation revisionUntil(RecordKey key, long revision, Instant notAfter) {
    return new Expectation(key, revision, Objects.requireNonNull(notAfter, "notAfter"));
  }

  /**
   * Tests the expectation against the record's current revision and the storage's current time,
   * both read inside the commit's atomic section.
   *
   * @param currentRevision the current revision, {@link #ABSENT} if the record does not exist
   * @param now the storage's clock
   * @return true if the expectation holds
   */
  public boolean isMetBy(long currentRevision, Instant now) {
    return currentRevision == revision && (notAfter == null || !now.isAfter(notAfter));
  }
}
