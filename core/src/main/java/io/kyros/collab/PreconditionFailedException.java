package io.kyros.collab;

import java.util.Optional;

/**
 * A conditional write's precondition (If-Match, If-None-Match, create-only) did not hold. Nothing
 * was written. Carries the current state so a caller can merge and retry, or an HTTP layer can
 * answer 412 with the current ETag.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class PreconditionFailedException extends CollabException {
  private static final long serialVersionUID = 1L;

  private final transient Document current;
  private final String collection;
  private final String id;

  /**
   * Creates the exception.
   *
   * @param collection the document's collection
   * @param id the document's id
   * @param condition the precondition that failed, as a header-like string
   * @param current the current document, or null if it does not exist
   */
  public PreconditionFailedException(String collection, String id, String condition, Document current) {
    super("precondition failed for " + collection + "/" + id + ": " + condition + ", current "
        + (current == null ? "absent" : "ETag " + current.etag()));
    this.collection = collection;
    this.id = id;
    this.current = current;
  }

  /**
   * For a failure whose message is composed by the caller (a task's, which names the task rather than its
   * internal record).
   *
   * @param message the whole message
   * @param current the current record, present
   */
  PreconditionFailedException(String message, Document current) {
    super(message);
    this.collection = current.collection();
    this.id = current.id();
    this.current = current;
  }

  /** @return the document's collection */
  public String collection() {
    return collection;
  }

  /** @return the document's id */
  public String id() {
    return id;
  }

  /** @return the current document, or empty if it does not exist */
  public Optional<Document> current() {
    return Optional.ofNullable(current);
  }

  /** @return the current ETag, or empty if the document does not exist */
  public Optional<ETag> currentETag() {
    return current().map(Document::etag);
  }
}
