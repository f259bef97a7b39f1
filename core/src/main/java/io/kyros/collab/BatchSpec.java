package io.kyros.collab;

import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * What to submit with {@link Batches#submit} or {@link Batches#create}: the items, the label that routes them to a
 * handler, the concurrency, the failure policy and an optional final step. Build with {@link #builder(String)}.
 *
 * <p>Immutable and thread-safe.
 *
 * @param id the batch id, a name, or null to generate one
 * @param label the label every item task carries (the handler that runs them), a name
 * @param items the items, at least one, ids unique
 * @param concurrency the most items claimed at once across every worker and process, positive
 * @param policy what happens when an item fails
 * @param finalStepLabel the label of a task created once every item has finished (its handler runs the final step),
 *     or null for none
 * @param priority the item tasks' priority
 */
public record BatchSpec(String id, String label, List<BatchItem> items, int concurrency, BatchPolicy policy,
    String finalStepLabel, int priority) {

  /**
   * Creates a spec, checking it.
   *
   * @param id the batch id, or null to generate one
   * @param label the items' label
   * @param items the items
   * @param concurrency the most items claimed at once
   * @param policy the failure policy
   * @param finalStepLabel the final step's label, or null
   * @param priority the item tasks' priority
   * @throws IllegalArgumentException if the concurrency is not positive, there is no item, two items share an id, a
   *     name is invalid, a label starts with {@link Batches#LABEL_PREFIX} (reserved: it names an item's batch), or an
   *     item's task id ({@code <batch id>.<item id>}) would exceed 128 characters
   * @throws NullPointerException naming it if a required reference, or an item, is null
   */
  public BatchSpec {
    if (id != null) {
      Names.requireName("batch id", id);
    }
    requireUnreserved("label", label);
    items = copyItems(items);
    if (concurrency <= 0) {
      throw new IllegalArgumentException("concurrency must be positive: " + concurrency);
    }
    Objects.requireNonNull(policy, "policy");
    if (finalStepLabel != null) {
      requireUnreserved("finalStepLabel", finalStepLabel);
    }
    checkItems(id, items);
  }

  /**
   * A label given to a batch's tasks must be a name outside {@link Batches#LABEL_PREFIX}: the batch adds
   * {@code batch.<batch id>} itself, and {@link Batches#batchOf} takes a task's first such label for its batch, so
   * {@code batch.a} on the tasks of batch {@code z1} would make them items of batch {@code a}.
   */
  private static void requireUnreserved(String what, String label) {
    Names.requireName(what, label);
    if (label.startsWith(Batches.LABEL_PREFIX)) {
      throw new IllegalArgumentException(what + " must not start with " + Batches.LABEL_PREFIX
          + " (reserved: it names the batch of an item): " + label);
    }
  }

  /**
   * @param items items given to the API
   * @return an unmodifiable copy
   * @throws NullPointerException naming {@code items} if it or one of its items is null
   */
  static List<BatchItem> copyItems(List<BatchItem> items) {
    Objects.requireNonNull(items, "items");
    int i = 0;
    for (BatchItem item : items) {
      if (item == null) {
        throw new NullPointerException("items[" + i + "] is null");
      }
      i++;
    }
    return List.copyOf(items);
  }

  /**
   * Checks items to add to batch {@code batchId} (null: not known yet): at least one, unique ids, task ids of at most
   * 128 characters.
   */
  static void checkItems(String batchId, List<BatchItem> items) {
    if (items.isEmpty()) {
      throw new IllegalArgumentException("a batch needs at least one item: items is empty");
    }
    Set<String> ids = new HashSet<>();
    for (BatchItem item : items) {
      Objects.requireNonNull(item, "item");
      if (!ids.add(item.id())) {
        throw new IllegalArgumentException("duplicate item id: " + item.id());
      }
      if (batchId != null) {
        Batches.itemTaskId(batchId, item.id());
      }
    }
  }

  /**
   * @param label the label every item task carries
   * @return a builder
   */
  public static Builder builder(String label) {
    return new Builder(label);
  }

  /**
   * Builds a {@link BatchSpec}; defaults: generated id, concurrency 4, {@code continue-on-failure}, no final step,
   * priority 0. Each option can be set once. Not thread-safe.
   */
  public static final class Builder {
    private final String label;
    private final Set<String> set = new HashSet<>();
    private String id;
    private List<BatchItem> items = List.of();
    private int concurrency = 4;
    private BatchPolicy policy = BatchPolicy.continueOnFailure();
    private String finalStepLabel;
    private int priority;

    private Builder(String label) {
      this.label = label;
    }

    private void once(String option) {
      if (!set.add(option)) {
        throw new IllegalStateException(option + " is already set");
      }
    }

    /**
     * @param id the batch id, a name
     * @return this builder
     */
    public Builder id(String id) {
      once("id");
      this.id = Objects.requireNonNull(id, "id");
      return this;
    }

    /**
     * @param items the items
     * @return this builder
     */
    public Builder items(List<BatchItem> items) {
      once("items");
      this.items = Objects.requireNonNull(items, "items");
      return this;
    }

    /**
     * @param concurrency the most items claimed at once, across every worker and process
     * @return this builder
     */
    public Builder concurrency(int concurrency) {
      once("concurrency");
      this.concurrency = concurrency;
      return this;
    }

    /**
     * @param policy what happens when an item fails
     * @return this builder
     */
    public Builder policy(BatchPolicy policy) {
      once("policy");
      this.policy = Objects.requireNonNull(policy, "policy");
      return this;
    }

    /**
     * @param label the label of the task created once every item has finished
     * @return this builder
     */
    public Builder finalStep(String label) {
      once("finalStep");
      this.finalStepLabel = Objects.requireNonNull(label, "label");
      return this;
    }

    /**
     * @param priority the item tasks' priority (higher runs first)
     * @return this builder
     */
    public Builder priority(int priority) {
      once("priority");
      this.priority = priority;
      return this;
    }

    /**
     * @return the spec
     * @throws IllegalArgumentException if it is not valid (see {@link BatchSpec})
     */
    public BatchSpec build() {
      return new BatchSpec(id, label, items, concurrency, policy, finalStepLabel, priority);
    }
  }
}
