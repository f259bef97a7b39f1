package io.kyros.collab;

import java.time.Instant;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * A unit of work moving through a {@link Workflow}, stored like a document with its own ETag.
 *
 * <p>Immutable and thread-safe.
 *
 * @param id the task id
 * @param title short title
 * @param description longer text, possibly empty
 * @param status current workflow status
 * @param priority higher runs first
 * @param dependsOn ids of tasks that must be done before this one can be claimed
 * @param checklist checklist items
 * @param labels labels, iterated in sorted order (an unmodifiable sorted set)
 * @param assignee who claimed it, null if nobody
 * @param attempts how many claims ended in failure or reclaim
 * @param maxAttempts attempts after which it moves to the failed status
 * @param createdAt creation time (storage clock)
 * @param updatedAt last change (storage clock)
 * @param notBefore not claimable before this instant (retry backoff), null if claimable now
 * @param lastError the reason given by the last failure, null if none
 * @param etag the strong ETag
 * @param revision the store-wide revision
 */
public record Task(String id, String title, String description, String status, int priority, List<String> dependsOn,
    List<ChecklistItem> checklist, Set<String> labels, String assignee, int attempts, int maxAttempts,
    Instant createdAt, Instant updatedAt, Instant notBefore, String lastError, ETag etag, long revision) {

  /**
   * Creates a task value, copying the collections; the labels are kept sorted.
   *
   * @param id the task id
   * @param title short title
   * @param description longer text, possibly empty
   * @param status current workflow status
   * @param priority higher runs first
   * @param dependsOn ids of tasks that must be done before this one can be claimed
   * @param checklist checklist items
   * @param labels labels, in any order: the task keeps them sorted
   * @param assignee who claimed it, null if nobody
   * @param attempts how many claims ended in failure or reclaim
   * @param maxAttempts attempts after which it moves to the failed status
   * @param createdAt creation time (storage clock)
   * @param updatedAt last change (storage clock)
   * @param notBefore not claimable before this instant (retry backoff), null if claimable now
   * @param lastError the reason given by the last failure, null if none
   * @param etag the strong ETag
   * @param revision the store-wide revision
   * @throws NullPointerException if a required reference is null
   */
  public Task {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(title, "title");
    Objects.requireNonNull(description, "description");
    Objects.requireNonNull(status, "status");
    dependsOn = List.copyOf(dependsOn);
    checklist = List.copyOf(checklist);
    labels = Collections.unmodifiableSortedSet(new TreeSet<>(labels));
    Objects.requireNonNull(createdAt, "createdAt");
    Objects.requireNonNull(updatedAt, "updatedAt");
    Objects.requireNonNull(etag, "etag");
  }

  /** @return the assignee, if claimed */
  public Optional<String> assigneeIfAny() {
    return Optional.ofNullable(assignee);
  }
}
