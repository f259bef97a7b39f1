package io.kyros.collab;

/**
 * A JSON value was rejected before anything was written: malformed JSON, a value that is not a JSON
 * object where one is required, NaN or Infinity, an integer beyond ±2<sup>53</sup>, a lone surrogate,
 * a duplicate key, or a value larger than the configured limit. The message names the condition and,
 * where it applies, the JSON path of the offending member.
 *
 * <p>Instances are immutable and thread-safe.
 */
public class InvalidValueException extends CollabException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception.
   *
   * @param message the broken condition
   */
  public InvalidValueException(String message) {
    super(message);
  }

  /**
   * Creates the exception with the parser's failure as cause.
   *
   * @param message the broken condition
   * @param cause the underlying parse failure
   */
  public InvalidValueException(String message, Throwable cause) {
    super(message, cause);
  }
}
