package io.kyros.collab;

import java.util.Objects;

/**
 * One line of a task's checklist.
 *
 * <p>Immutable and thread-safe.
 *
 * @param text what to check
 * @param done whether it is checked
 */
public record ChecklistItem(String text, boolean done) {

  /**
   * Creates an item.
   *
   * @param text what to check
   * @param done whether it is checked
   * @throws NullPointerException if text is null
   * @throws IllegalArgumentException if text is blank
   */
  public ChecklistItem {
    Objects.requireNonNull(text, "text");
    if (text.isBlank()) {
      throw new IllegalArgumentException("checklist item text must not be blank");
    }
  }

  /**
   * @param text what to check
   * @return an unchecked item
   */
  public static ChecklistItem of(String text) {
    return new ChecklistItem(text, false);
  }
}
