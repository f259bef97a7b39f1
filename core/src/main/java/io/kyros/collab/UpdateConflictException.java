package io.kyros.collab;

/**
 * A read-modify-write ({@link Documents#update}) kept losing to concurrent writers until its deadline
 * passed. Nothing was written by the failed call.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class UpdateConflictException extends CollabException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception.
   *
   * @param what the contended record
   * @param attempts how many attempts were made
   * @param deadline the deadline that passed
   */
  public UpdateConflictException(String what, int attempts, java.time.Duration deadline) {
    super("update of " + what + " gave up after " + attempts + " attempts within " + deadline
        + ": concurrent writers kept changing it");
  }
}
