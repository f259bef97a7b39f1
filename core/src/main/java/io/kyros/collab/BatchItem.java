package io.kyros.collab;

import java.util.Objects;

/**
 * One item of a batch. It becomes a task when the batch releases it (at most {@code concurrency} at a time): id
 * {@code <batch id>.<item id>}, the batch's label and {@code batch.<batch id>}, the payload as its description.
 *
 * <p>Immutable and thread-safe.
 *
 * @param id the item's id within its batch, a name ({@code [A-Za-z0-9][A-Za-z0-9._-]{0,127}}) without a dot (so that
 *     the task id {@code <batch id>.<item id>} names one item of one batch: otherwise batch {@code a}'s item
 *     {@code b.c} and batch {@code a.b}'s item {@code c} would share task {@code a.b.c}), not {@code final} (the final
 *     step's)
 * @param title the item task's title, not blank
 * @param payload what the handler works on (for example JSON text or a path), kept as the task's description
 */
public record BatchItem(String id, String title, String payload) {

  /**
   * Creates an item.
   *
   * @param id the item's id
   * @param title its title
   * @param payload its payload
   * @throws IllegalArgumentException if the id is not a name, holds a dot, is {@code final}, or the title is blank
   * @throws NullPointerException if an argument is null
   */
  public BatchItem {
    Names.requireName("item id", id);
    if (id.indexOf('.') >= 0) {
      throw new IllegalArgumentException("item id must not contain '.': " + id + " (its task id, <batch id>.<item id>,"
          + " must name one item of one batch)");
    }
    if (id.equals(Batches.FINAL_STEP_ID)) {
      throw new IllegalArgumentException("item id " + id + " is reserved for the batch's final step");
    }
    Objects.requireNonNull(title, "title");
    if (title.isBlank()) {
      throw new IllegalArgumentException("title of item " + id + " must not be blank");
    }
    Objects.requireNonNull(payload, "payload");
  }

  /**
   * @param id the item's id
   * @param payload its payload
   * @return an item titled by its id
   */
  public static BatchItem of(String id, String payload) {
    return new BatchItem(id, id, payload);
  }
}
