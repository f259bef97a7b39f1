package io.kyros.collab;

import java.util.Arrays;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * The states of a batch and the moves between them:
 *
 * <pre>
 * pending -&gt; running | cancelled
 * running -&gt; completed | completed_with_failures | failed | aborted | cancelled
 * </pre>
 *
 * The last five are terminal: nothing moves out of them and no item can be added. A move not listed is refused with
 * {@link InvalidTransitionException} (workflow name {@code batch}).
 *
 * <p>Immutable and thread-safe.
 */
public enum BatchState {
  /** Created, no item released yet ({@link Batches#create}); items can be added. */
  PENDING,
  /** Items are being released and run, at most {@code concurrency} at a time. */
  RUNNING,
  /** Every item succeeded. */
  COMPLETED,
  /** Every item finished and some failed ({@code continue-on-failure}). */
  COMPLETED_WITH_FAILURES,
  /** Every item finished and some failed after their retries ({@code retry-failed}). */
  FAILED,
  /** An item failed under {@code abort-all}: the rest were cancelled. */
  ABORTED,
  /** Cancelled by {@link Batches#cancel}. */
  CANCELLED;

  /** @return the name used in events and JSON, for example {@code completed_with_failures} */
  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** @return whether nothing moves out of this state */
  public boolean isTerminal() {
    return this != PENDING && this != RUNNING;
  }

  /** @return the states this one may move to */
  public Set<BatchState> next() {
    return switch (this) {
      case PENDING -> EnumSet.of(RUNNING, CANCELLED);
      case RUNNING -> EnumSet.of(COMPLETED, COMPLETED_WITH_FAILURES, FAILED, ABORTED, CANCELLED);
      default -> EnumSet.noneOf(BatchState.class);
    };
  }

  /**
   * @param to the state to move to
   * @throws InvalidTransitionException if the move is not allowed
   */
  public void checkTransition(BatchState to) {
    if (!next().contains(to)) {
      Set<String> allowed = new TreeSet<>();
      next().forEach(s -> allowed.add(s.wireName()));
      throw new InvalidTransitionException("batch", wireName(), to.wireName(), allowed);
    }
  }

  /**
   * @param wireName a state's name as in events and JSON
   * @return the state
   * @throws IllegalArgumentException if no state has that name
   */
  public static BatchState fromWireName(String wireName) {
    return Arrays.stream(values()).filter(s -> s.wireName().equals(wireName)).findFirst().orElseThrow(
        () -> new IllegalArgumentException("unknown batch state: \"" + Names.printable(String.valueOf(wireName))
            + "\""));
  }
}
