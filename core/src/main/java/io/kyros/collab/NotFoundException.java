package io.kyros.collab;

/**
 * The document or task an operation needs does not exist. Nothing was written.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class NotFoundException extends CollabException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception.
   *
   * @param what what was missing, for example {@code "task t-1"}
   */
  public NotFoundException(String what) {
    super(what + " does not exist");
  }
}
