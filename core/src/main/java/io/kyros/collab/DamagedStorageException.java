package io.kyros.collab;

/**
 * What the storage holds is damaged: a record or event that cannot be read as written (a checksum that does not
 * match, a file that is not what its format says). Unlike other {@link StorageException}s this is not transient:
 * reading the same thing again fails the same way until the damage is repaired. So a subscription or publisher
 * that meets a damaged event ends with it ({@link EventListener#onError}), as it does for an event it cannot
 * decode, after reading it again twice (a line another process was still writing may read torn once), where it
 * retries other storage failures for as long as they last. Storages raise their own subclass naming where the
 * damage is (the file storage's {@code CorruptFileException} names the file and the offset).
 *
 * <p>Instances are immutable and thread-safe.
 */
public class DamagedStorageException extends StorageException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception.
   *
   * @param message what is damaged and where
   * @param cause the underlying failure, or null
   */
  public DamagedStorageException(String message, Throwable cause) {
    super(message, cause);
  }
}
