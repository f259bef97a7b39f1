package io.kyros.collab;

/**
 * The storage medium failed: an {@link java.io.IOException}, an {@link java.sql.SQLException}, a
 * corrupted file. The message names the operation and, where known, the file and offset or the
 * SQLState; the cause is kept. Whether the operation took effect is unknown unless the message says
 * otherwise; Collab's operations are safe to retry with the same preconditions.
 *
 * <p>Instances are immutable and thread-safe.
 */
public class StorageException extends CollabException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception.
   *
   * @param message what failed and where
   */
  public StorageException(String message) {
    super(message);
  }

  /**
   * Creates the exception.
   *
   * @param message what failed and where
   * @param cause the underlying failure
   */
  public StorageException(String message, Throwable cause) {
    super(message, cause);
  }
}
