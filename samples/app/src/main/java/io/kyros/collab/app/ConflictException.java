package io.kyros.collab.app;

import io.kyros.collab.CollabException;

/**
 * A request the store refused because of its current state, other than the core's own conflict
 * exceptions: a lease held by another holder, a stale fence, a claim that is no longer the
 * current one. HTTP 409, exit code 1.
 *
 * <p>Immutable and thread-safe.
 */
final class ConflictException extends CollabException {
  private static final long serialVersionUID = 1L;

  ConflictException(String message) {
    super(message);
  }
}
