package io.kyros.collab;

import java.util.Objects;
import java.util.Optional;

/**
 * The outcome of a conditional read ({@link Documents#get(String, String, Preconditions)}), shaped for
 * an HTTP layer: {@link Status#OK} with the document, {@link Status#NOT_MODIFIED} (304) with the
 * current ETag, {@link Status#PRECONDITION_FAILED} (412) when If-Match failed, or
 * {@link Status#NOT_FOUND}.
 *
 * <p>Immutable and thread-safe.
 *
 * @param status the outcome
 * @param document the document for {@code OK} and {@code PRECONDITION_FAILED} when it exists, else null
 * @param etag the current ETag, null if the document does not exist
 */
public record GetResult(Status status, Document document, ETag etag) {

  /** What a conditional read found. */
  public enum Status {
    /** The document exists and the preconditions passed. */
    OK,
    /** If-None-Match matched: the caller's copy is current. */
    NOT_MODIFIED,
    /** If-Match did not match. */
    PRECONDITION_FAILED,
    /** The document does not exist and no precondition failed. */
    NOT_FOUND
  }

  /**
   * Creates a result.
   *
   * @param status the outcome
   * @param document the document for {@code OK} and {@code PRECONDITION_FAILED} when it exists, else null
   * @param etag the current ETag, null if the document does not exist
   * @throws NullPointerException if status is null
   */
  public GetResult {
    Objects.requireNonNull(status, "status");
  }

  /** @return the document, when the outcome carries one */
  public Optional<Document> documentIfPresent() {
    return Optional.ofNullable(document);
  }
}
