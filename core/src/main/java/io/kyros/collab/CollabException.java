package io.kyros.collab;

/**
 * Root of every exception Collab throws on purpose. Unchecked: coordination failures are expected
 * outcomes that callers handle where they care, not ceremony on every call.
 *
 * <p>Argument errors are reported with the JDK's {@link IllegalArgumentException},
 * {@link NullPointerException} and {@link IllegalStateException} instead, naming the argument.
 *
 * <p>Instances are immutable and thread-safe.
 */
public class CollabException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates an exception with a message.
   *
   * @param message what went wrong, naming the broken condition
   */
  public CollabException(String message) {
    super(message);
  }

  /**
   * Creates an exception with a message and a cause.
   *
   * @param message what went wrong, naming the broken condition
   * @param cause the underlying failure
   */
  public CollabException(String message, Throwable cause) {
    super(message, cause);
  }
}
