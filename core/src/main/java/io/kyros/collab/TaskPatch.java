package io.kyros.collab;

import java.util.List;
import java.util.Set;

/**
 * Field changes for {@link Tasks#update(String, ETag, TaskPatch)}; a null component leaves that field
 * as it is, and a patch that sets none ({@link #none()}) changes nothing. Status changes go through {@link Tasks#transition} instead, so the workflow is enforced.
 *
 * <p>Immutable and thread-safe.
 *
 * @param title new title, or null
 * @param description new description, or null
 * @param priority new priority, or null
 * @param dependsOn new dependencies (checked for existence and cycles), or null
 * @param checklist new checklist, or null
 * @param labels new labels, or null
 */
public record TaskPatch(String title, String description, Integer priority, List<String> dependsOn,
    List<ChecklistItem> checklist, Set<String> labels) {

  private static final TaskPatch NONE = new TaskPatch(null, null, null, null, null, null);

  /**
   * Creates a patch, copying the collections that are set.
   *
   * @param title new title, or null
   * @param description new description, or null
   * @param priority new priority, or null
   * @param dependsOn new dependencies (checked for existence and cycles), or null
   * @param checklist new checklist, or null
   * @param labels new labels, or null
   * @throws IllegalArgumentException if title is blank
   */
  public TaskPatch {
    if (title != null && title.isBlank()) {
      throw new IllegalArgumentException("title must not be blank");
    }
    dependsOn = dependsOn == null ? null : List.copyOf(dependsOn);
    checklist = checklist == null ? null : List.copyOf(checklist);
    labels = labels == null ? null : Set.copyOf(labels);
  }

  /** @return a patch that changes nothing */
  public static TaskPatch none() {
    return NONE;
  }

  /** @return whether this patch sets no field: an update with it changes nothing and commits nothing */
  boolean isEmpty() {
    return equals(NONE);
  }

  /**
   * @param title the new title
   * @return a copy that sets it
   */
  public TaskPatch title(String title) {
    return new TaskPatch(title, description, priority, dependsOn, checklist, labels);
  }

  /**
   * @param description the new description
   * @return a copy that sets it
   */
  public TaskPatch description(String description) {
    return new TaskPatch(title, description, priority, dependsOn, checklist, labels);
  }

  /**
   * @param priority the new priority
   * @return a copy that sets it
   */
  public TaskPatch priority(int priority) {
    return new TaskPatch(title, description, priority, dependsOn, checklist, labels);
  }

  /**
   * @param ids the new dependencies
   * @return a copy that sets them
   */
  public TaskPatch dependsOn(String... ids) {
    return new TaskPatch(title, description, priority, List.of(ids), checklist, labels);
  }

  /**
   * @param items the new checklist
   * @return a copy that sets it
   */
  public TaskPatch checklist(List<ChecklistItem> items) {
    return new TaskPatch(title, description, priority, dependsOn, items, labels);
  }

  /**
   * @param labels the new labels
   * @return a copy that sets them
   */
  public TaskPatch labels(String... labels) {
    return new TaskPatch(title, description, priority, dependsOn, checklist, Set.of(labels));
  }
}
