package io.kyros.collab;

import java.time.Instant;
import java.util.Objects;

/**
 * A batch as stored: its settings, state and progress, with the ETag of its record (it changes whenever the state or
 * the progress does, so a client can poll it with If-None-Match).
 *
 * <p>Immutable and thread-safe.
 *
 * @param id the batch id
 * @param label the label its items carry (which handler runs them)
 * @param policy what happens when an item fails
 * @param concurrency the most items claimed at once, across every worker and process
 * @param state its state
 * @param progress its aggregate progress
 * @param finalStepLabel the label of its final step's task, or null if it has none
 * @param finalStepTaskId the final step's task id once created (when every item has finished), else null
 * @param reason why it ended aborted or cancelled (the failed item, or who cancelled), else null
 * @param createdAt creation time (storage clock)
 * @param updatedAt last change (storage clock)
 * @param etag the strong ETag of its record
 */
public record Batch(String id, String label, BatchPolicy policy, int concurrency, BatchState state,
    BatchProgress progress, String finalStepLabel, String finalStepTaskId, String reason, Instant createdAt,
    Instant updatedAt, ETag etag) {

  /**
   * Creates a batch value.
   *
   * @param id the batch id
   * @param label its items' label
   * @param policy its failure policy
   * @param concurrency its concurrency
   * @param state its state
   * @param progress its progress
   * @param finalStepLabel the final step's label, or null
   * @param finalStepTaskId the final step's task id, or null
   * @param reason why it ended aborted or cancelled, or null
   * @param createdAt creation time
   * @param updatedAt last change
   * @param etag its ETag
   * @throws NullPointerException if a required reference is null
   */
  public Batch {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(label, "label");
    Objects.requireNonNull(policy, "policy");
    Objects.requireNonNull(state, "state");
    Objects.requireNonNull(progress, "progress");
    Objects.requireNonNull(createdAt, "createdAt");
    Objects.requireNonNull(updatedAt, "updatedAt");
    Objects.requireNonNull(etag, "etag");
  }
}
