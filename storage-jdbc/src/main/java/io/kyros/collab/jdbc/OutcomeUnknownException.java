package io.kyros.collab.jdbc;

import io.kyros.collab.StorageException;

/**
 * A write failed once its COMMIT was under way, so whether it took effect is unknown (the message says so): a
 * database error while committing, or any exception after COMMIT was sent. Package private: callers see a
 * {@link StorageException}; {@link CommitGroups} fails every commit of such a group, never running one again.
 *
 * <p>Immutable and thread-safe.
 */
final class OutcomeUnknownException extends StorageException {
  private static final long serialVersionUID = 1L;

  OutcomeUnknownException(String message, Throwable cause) {
    super(message, cause);
  }
}
