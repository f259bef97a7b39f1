package io.kyros.collab;

import java.util.Set;

/**
 * A task transition that its {@link Workflow} does not allow. Nothing was written. The message
 * names the allowed targets.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class InvalidTransitionException extends CollabException {
  private static final long serialVersionUID = 1L;

  private final String from;
  private final String to;
  private final Set<String> allowed;

  /**
   * Creates the exception.
   *
   * @param workflow the workflow's name
   * @param from the current status
   * @param to the requested status
   * @param allowed the statuses reachable from {@code from}
   */
  public InvalidTransitionException(String workflow, String from, String to, Set<String> allowed) {
    super("transition " + from + " -> " + to + " is not allowed by workflow " + workflow + "; allowed from "
        + from + ": " + (allowed.isEmpty() ? "none (terminal)" : allowed));
    this.from = from;
    this.to = to;
    this.allowed = Set.copyOf(allowed);
  }

  /** @return the current status */
  public String from() {
    return from;
  }

  /** @return the requested status */
  public String to() {
    return to;
  }

  /** @return the statuses the workflow allows from {@link #from()} */
  public Set<String> allowed() {
    return allowed;
  }
}
