package io.kyros.collab;

/**
 * A value's canonical JSON form is larger than the configured limit
 * ({@link Collab.Builder#maxValueBytes(int)}, 1 MiB by default). Nothing was written.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class ValueTooLargeException extends InvalidValueException {
  private static final long serialVersionUID = 1L;

  private final long size;
  private final long limit;

  /**
   * Creates the exception.
   *
   * @param what what was too large, for example {@code "document orders/42"}
   * @param size the size of the canonical JSON in bytes
   * @param limit the configured limit in bytes
   */
  public ValueTooLargeException(String what, long size, long limit) {
    super(what + " is too large: " + size + " bytes of canonical JSON exceeds the limit of " + limit + " bytes");
    this.size = size;
    this.limit = limit;
  }

  /**
   * A value found too large before it was encoded: it has more elements than the limit has bytes, each taking at
   * least one (a value sharing its containers can have far more than it holds in memory; one still to be converted
   * by the mapper, which may leave some out, is allowed more: see {@code Nesting}).
   *
   * @param what what was too large
   * @param elements how many elements it was found to have, at least
   * @param limit the configured limit in bytes
   * @return the exception, whose {@link #size()} is that lower bound
   */
  static ValueTooLargeException ofElements(String what, long elements, long limit) {
    return new ValueTooLargeException(elements, limit, what + " is too large: it has more than " + (elements - 1)
        + " elements, too many for the limit of " + limit + " bytes of canonical JSON");
  }

  private ValueTooLargeException(long size, long limit, String message) {
    super(message);
    this.size = size;
    this.limit = limit;
  }

  /** @return the size of the rejected value's canonical JSON, in bytes (for {@link #ofElements}, its element count) */
  public long size() {
    return size;
  }

  /** @return the configured limit, in bytes */
  public long limit() {
    return limit;
  }
}
