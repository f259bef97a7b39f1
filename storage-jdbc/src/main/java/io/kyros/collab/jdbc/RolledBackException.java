package io.kyros.collab.jdbc;

import io.kyros.collab.StorageException;

/**
 * A write failed with an error that is not retried (not a serialization failure, deadlock or lock timeout), before
 * its COMMIT was sent, so its transaction was rolled back and nothing was committed (the message says so). Package
 * private: callers see a {@link StorageException}; {@link CommitGroups} runs the commits of a group that failed so
 * again one by one, since the error may come from one commit's content.
 *
 * <p>Immutable and thread-safe.
 */
final class RolledBackException extends StorageException {
  private static final long serialVersionUID = 1L;

  RolledBackException(String message, Throwable cause) {
    super(message, cause);
  }
}
