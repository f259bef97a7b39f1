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

  /** @return the size of the rejected value's canonical JSON, in bytes */
  public long size() {
    return size;
  }

  /** @return the configured limit, in bytes */
  public long limit() {
    return limit;
  }
}
