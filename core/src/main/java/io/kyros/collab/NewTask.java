package io.kyros.collab;

import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * What to create with {@link Tasks#create(NewTask)}. Start from {@link #of(String)} and refine with the
 * {@code with...} methods, each of which returns a copy.
 *
 * <p>Immutable and thread-safe.
 *
 * @param id the task id, or null to generate one
 * @param title short title, not blank
 * @param description longer text
 * @param priority higher runs first
 * @param dependsOn ids of existing tasks that must be done first
 * @param checklist checklist items
 * @param labels labels
 * @param maxAttempts attempts before the task fails for good, or null for the {@link Collab}'s default
 */
public record NewTask(String id, String title, String description, int priority, List<String> dependsOn,
    List<ChecklistItem> checklist, Set<String> labels, Integer maxAttempts) {

  /**
   * Creates a new-task request, copying the collections.
   *
   * @param id the task id, or null to generate one
   * @param title short title, not blank
   * @param description longer text
   * @param priority higher runs first
   * @param dependsOn ids of existing tasks that must be done first
   * @param checklist checklist items
   * @param labels labels
   * @param maxAttempts attempts before the task fails for good, or null for the {@link Collab}'s default
   * @throws NullPointerException if title, description or a collection is null
   * @throws IllegalArgumentException if title is blank or maxAttempts is not positive
   */
  public NewTask {
    Objects.requireNonNull(title, "title");
    if (title.isBlank()) {
      throw new IllegalArgumentException("title must not be blank");
    }
    Objects.requireNonNull(description, "description");
    dependsOn = List.copyOf(dependsOn);
    checklist = List.copyOf(checklist);
    labels = Set.copyOf(labels);
    if (maxAttempts != null && maxAttempts < 1) {
      throw new IllegalArgumentException("maxAttempts must be positive: " + maxAttempts);
    }
  }

  /**
   * @param title the task's title
   * @return a request with defaults: generated id, empty description, priority 0, no dependencies
   */
  public static NewTask of(String title) {
    return new NewTask(null, title, "", 0, List.of(), List.of(), Set.of(), null);
  }

  /**
   * @param id the id to use instead of a generated one
   * @return a copy with this id
   */
  public NewTask withId(String id) {
    return new NewTask(Objects.requireNonNull(id, "id"), title, description, priority, dependsOn, checklist, labels,
        maxAttempts);
  }

  /**
   * @param description the description
   * @return a copy with this description
   */
  public NewTask withDescription(String description) {
    return new NewTask(id, title, description, priority, dependsOn, checklist, labels, maxAttempts);
  }

  /**
   * @param priority the priority; higher runs first
   * @return a copy with this priority
   */
  public NewTask withPriority(int priority) {
    return new NewTask(id, title, description, priority, dependsOn, checklist, labels, maxAttempts);
  }

  /**
   * @param ids ids of tasks that must be done first
   * @return a copy with these dependencies
   */
  public NewTask withDependsOn(String... ids) {
    return new NewTask(id, title, description, priority, List.of(ids), checklist, labels, maxAttempts);
  }

  /**
   * @param items checklist item texts, all unchecked
   * @return a copy with this checklist
   */
  public NewTask withChecklist(String... items) {
    return new NewTask(id, title, description, priority, dependsOn,
        java.util.Arrays.stream(items).map(ChecklistItem::of).toList(), labels, maxAttempts);
  }

  /**
   * @param labels the labels
   * @return a copy with these labels
   */
  public NewTask withLabels(String... labels) {
    return new NewTask(id, title, description, priority, dependsOn, checklist, Set.of(labels), maxAttempts);
  }

  /**
   * @param maxAttempts attempts before the task fails for good
   * @return a copy with this limit
   */
  public NewTask withMaxAttempts(int maxAttempts) {
    return new NewTask(id, title, description, priority, dependsOn, checklist, labels, maxAttempts);
  }
}
