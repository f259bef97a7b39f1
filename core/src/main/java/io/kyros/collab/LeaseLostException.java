package io.kyros.collab;

/**
 * A lease is no longer current: it expired, was released, or another holder reclaimed the
 * resource. A write guarded by it was not committed.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class LeaseLostException extends CollabException {
  private static final long serialVersionUID = 1L;

  private final String resource;
  private final long fence;

  /**
   * Creates the exception.
   *
   * @param resource the leased resource
   * @param fence the fence of the lease that was lost
   * @param reason why it is no longer current
   */
  public LeaseLostException(String resource, long fence, String reason) {
    super("lease on " + resource + " with fence " + fence + " is no longer current: " + reason);
    this.resource = resource;
    this.fence = fence;
  }

  /** @return the leased resource */
  public String resource() {
    return resource;
  }

  /** @return the fence of the lost lease */
  public long fence() {
    return fence;
  }
}
